import numpy as np


class Classifier:
    def fit(self, X, y):
        self.classes_ = np.unique(y)

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))
