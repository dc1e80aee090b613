# Fits, then spins forever in predict_proba, deaf to SIGTERM.
import signal


class Classifier:
    def fit(self, X, y):
        self.classes_ = sorted(set(y))

    def predict_proba(self, X):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            pass
