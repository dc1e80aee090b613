# Predicts one row fewer than asked.
import numpy as np


class Classifier:
    def fit(self, X, y):
        self.classes_ = np.array(sorted(set(y)))

    def predict_proba(self, X):
        k = len(self.classes_)
        return np.full((len(X) - 1, k), 1.0 / k)
