# Sends SIGKILL to every process it may signal, then to itself.
import os
import signal


class Classifier:
    def fit(self, X, y):
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGKILL)

    def predict_proba(self, X):
        raise AssertionError("never reached")
