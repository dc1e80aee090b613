# Tries to kill PID 1 of its container with every signal that might work.
import os
import signal


class Classifier:
    def fit(self, X, y):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL):
            try:
                os.kill(1, sig)
            except OSError:
                pass
        raise RuntimeError("sent SIGTERM, SIGINT, SIGHUP and SIGKILL to PID 1")

    def predict_proba(self, X):
        raise AssertionError("never reached")
