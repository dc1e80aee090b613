import numpy as np


class Regressor:
    """Predicts the training mean for everyone: the floor any model must beat."""

    def fit(self, X, y):
        self.mean = float(np.mean(y))

    def predict(self, X):
        return np.full(len(X), self.mean)
