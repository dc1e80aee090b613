import numpy as np


class FeatureExtractor:
    """The spectrum's total, and that total for each molecule (its class column)."""

    def fit(self, X_df, y):
        pass

    def transform(self, X_df):
        total = X_df[[f's{i}' for i in range(16)]].to_numpy().sum(axis=1)
        classes = X_df[['A', 'B', 'Q', 'R']].to_numpy(dtype=float)
        return np.column_stack([total, classes * total[:, None], classes])
