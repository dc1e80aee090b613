import numpy as np


class Regressor:
    def fit(self, X, y):
        pass

    def predict(self, X):
        return np.full(len(X), 1.0)
