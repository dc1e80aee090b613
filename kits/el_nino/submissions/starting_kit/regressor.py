from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


class Regressor:
    def __init__(self):
        self.model = make_pipeline(StandardScaler(), Ridge(alpha=1.0))

    def fit(self, X, y):
        self.model.fit(X, y)

    def predict(self, X):
        return self.model.predict(X)
