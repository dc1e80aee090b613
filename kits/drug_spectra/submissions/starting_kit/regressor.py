import numpy as np
from sklearn.cross_decomposition import PLSRegression

N_DRUGS = 4  # the last columns of X: the drug, as probabilities


class Regressor:
    """One partial-least-squares model of log-concentration per drug, mixed by the
    drug's probability."""

    def fit(self, X, y):
        spectra, drugs = X[:, :-N_DRUGS], X[:, -N_DRUGS:]
        self.models = []
        for k in range(N_DRUGS):
            rows = drugs[:, k] > 0.5
            model = PLSRegression(n_components=6)
            model.fit(spectra[rows], np.log(y[rows]))
            self.models.append(model)

    def predict(self, X):
        spectra, drugs = X[:, :-N_DRUGS], X[:, -N_DRUGS:]
        logs = np.column_stack([m.predict(spectra).ravel() for m in self.models])
        return np.exp((logs * drugs).sum(axis=1))
