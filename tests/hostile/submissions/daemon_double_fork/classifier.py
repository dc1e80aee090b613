# Leaves a daemon behind (double fork + setsid) that would outlive the run, then fails.
import os


def _daemonize():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "31337"])
        os._exit(0)
    os.wait()


class Classifier:
    def fit(self, X, y):
        _daemonize()
        raise RuntimeError("left a daemon behind")

    def predict_proba(self, X):
        raise AssertionError("never reached")
