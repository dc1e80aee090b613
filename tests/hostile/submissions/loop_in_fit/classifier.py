# Spins forever in fit, deaf to SIGTERM.
import signal


class Classifier:
    def fit(self, X, y):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            pass

    def predict_proba(self, X):
        raise AssertionError("never reached")
