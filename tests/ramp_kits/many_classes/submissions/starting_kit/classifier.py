import numpy as np
from sklearn.linear_model import LogisticRegression


class Classifier:
    def __init__(self):
        self.model = LogisticRegression(max_iter=2000)

    def fit(self, X, y):
        # RAMP passes y with the data's dtype: integers here
        assert np.asarray(y).dtype.kind == 'i', np.asarray(y).dtype
        self.model.fit(X, y)

    def predict_proba(self, X):
        return self.model.predict_proba(X)
