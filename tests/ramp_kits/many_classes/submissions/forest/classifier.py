import numpy as np
from sklearn.tree import DecisionTreeClassifier


class Classifier:
    """Exact zero probabilities, and a fold may lack a class: nll's clipping shows."""

    def __init__(self):
        self.model = DecisionTreeClassifier(max_depth=4, random_state=0)

    def fit(self, X, y):
        self.model.fit(X, y)
        self.n_classes = 12

    def predict_proba(self, X):
        proba = np.zeros((len(X), self.n_classes))
        proba[:, self.model.classes_] = self.model.predict_proba(X)
        return proba
