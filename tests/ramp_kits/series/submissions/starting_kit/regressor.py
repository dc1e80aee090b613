from sklearn.linear_model import Ridge


class Regressor:
    def __init__(self):
        self.model = Ridge(alpha=1.0)

    def fit(self, X, y):
        self.model.fit(X, y)

    def predict(self, X):
        return self.model.predict(X)
