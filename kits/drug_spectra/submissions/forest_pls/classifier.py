from sklearn.ensemble import RandomForestClassifier


class Classifier:
    def __init__(self):
        self.model = RandomForestClassifier(n_estimators=100, random_state=0)

    def fit(self, X, y):
        self.model.fit(X, y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(X)
