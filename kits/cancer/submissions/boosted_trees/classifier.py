from sklearn.ensemble import HistGradientBoostingClassifier


class Classifier:
    def __init__(self):
        self.model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08,
                                                    max_leaf_nodes=15, random_state=0)

    def fit(self, X, y):
        self.model.fit(X, y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(X)
