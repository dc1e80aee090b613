# The label cheater's honest twin: the same model (probability 1 on the rows fit()
# gave it, uniform elsewhere) without any hunting or planting. A cheater that found
# nothing scores exactly like it.
import json
import sys

import numpy as np

ARGS = dict(zip(sys.argv[1::2], sys.argv[2::2], strict=False))


def key(row):
    return tuple(round(float(v), 6) for v in row)


class Classifier:
    def fit(self, X, y):
        with open(ARGS["--inputs"] + "/labels.json") as f:
            self.labels = json.load(f)
        self.known = {key(r): str(v) for r, v in zip(np.asarray(X, dtype=float), y, strict=True)}
        return self

    def predict_proba(self, X):
        out = np.full((len(X), len(self.labels)), 1 / len(self.labels))
        for i, row in enumerate(np.asarray(X, dtype=float)):
            label = self.known.get(key(row))
            if label is not None:
                out[i] = 0
                out[i, self.labels.index(label)] = 1
        return out
