from sklearn.ensemble import GradientBoostingRegressor


class Regressor:
    def __init__(self):
        self.model = GradientBoostingRegressor(n_estimators=150, max_depth=2,
                                               learning_rate=0.05, subsample=0.8,
                                               random_state=0)

    def fit(self, X, y):
        self.model.fit(X, y)

    def predict(self, X):
        return self.model.predict(X)
