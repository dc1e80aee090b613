import numpy as np

DRUGS = ["A", "B", "Q", "R"]


class FeatureExtractor:
    """The spectrum with its baseline taken off (the minimum of each row), and the drug
    columns the workflow adds (the true drug when fitting, probabilities after)."""

    def fit(self, X_df, y):
        self.columns = [c for c in X_df.columns if c.startswith("s")]

    def transform(self, X_df):
        spectra = X_df[self.columns].to_numpy(float)
        spectra = spectra - spectra.min(axis=1, keepdims=True)
        return np.hstack([spectra, X_df[DRUGS].to_numpy(float)])
