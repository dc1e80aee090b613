import numpy as np


class FeatureExtractor:
    """This month's temperature and the season: nothing from a later month."""

    def fit(self, X_ds, y):
        pass

    def transform(self, X_ds):
        n_burn_in = X_ds.attrs['n_burn_in']
        temp = np.asarray(X_ds['temp'].values, dtype=float)
        angle = 2 * np.pi * np.asarray(X_ds['month'].values, dtype=float) / 12
        features = np.column_stack([temp, np.cos(angle), np.sin(angle)])
        return features[n_burn_in:]
