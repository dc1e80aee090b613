# Forges its times: claims a thousand seconds of fit and predict on every pipe it
# holds (where the ingestion reports its split), and sleeps a little so the honest
# total is known to be short.
import json
import os
import stat
import time

from sklearn.linear_model import LogisticRegression

FORGED = json.dumps({"fit_time": 1000.0, "predict_time": 1000.0}).encode()


def _forge():
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, FORGED)
        except OSError:
            pass


class Classifier:
    def __init__(self):
        self.model = LogisticRegression(max_iter=500)

    def fit(self, X, y):
        _forge()
        time.sleep(0.05)
        self.model.fit(X, y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(X)
