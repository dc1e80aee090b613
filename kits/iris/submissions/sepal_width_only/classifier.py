from sklearn.naive_bayes import GaussianNB


class Classifier:
    """Uses one measurement only: a weak baseline to compare against."""

    def fit(self, X, y):
        self.model = GaussianNB().fit(X[["sepal_width"]], y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(X[["sepal_width"]])
