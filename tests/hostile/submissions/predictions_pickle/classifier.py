# Overwrites predictions with a pickled object array.
import numpy as np

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


class Payload:
    def __reduce__(self):
        return (print, ("unpickled by the scorer!",))


@atexit.register
def _pickle():
    for name in os.listdir(OUT):
        if name.endswith(".npy"):
            np.save(os.path.join(OUT, name), np.array([Payload()] * 3, dtype=object),
                    allow_pickle=True)
