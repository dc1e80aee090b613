import numpy as np


class Regressor:
    """Predicts its single feature as it is."""

    def fit(self, X, y):
        pass

    def predict(self, X):
        return np.asarray(X)[:, 0]
