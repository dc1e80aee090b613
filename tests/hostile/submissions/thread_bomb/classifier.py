# Starts sleeping threads until the pids limit stops it.
import threading
import time


class Classifier:
    def fit(self, X, y):
        n = 0
        while True:
            try:
                threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
            except RuntimeError as e:
                raise RuntimeError(f"thread bomb stopped by the pids limit after {n} "
                                   f"threads: {e}") from None
            n += 1

    def predict_proba(self, X):
        raise AssertionError("never reached")
