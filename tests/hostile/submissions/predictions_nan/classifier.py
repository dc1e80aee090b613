# Predicts NaN everywhere.
import numpy as np


class Classifier:
    def fit(self, X, y):
        self.classes_ = np.array(sorted(set(y)))

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), np.nan)
