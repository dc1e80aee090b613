# Overwrites a predictions file with far more bytes than the output limit.
import atexit
import os
import sys

from sklearn.linear_model import LogisticRegression

OUT = sys.argv[sys.argv.index("--out") + 1]


class Classifier:
    def __init__(self):
        self.model = LogisticRegression(max_iter=500)

    def fit(self, X, y):
        self.model.fit(X, y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(X)


@atexit.register
def _huge():
    with open(os.path.join(OUT, "fold_0_test.npy"), "wb") as f:
        for _ in range(60):
            f.write(b"\x00" * 100_000)
