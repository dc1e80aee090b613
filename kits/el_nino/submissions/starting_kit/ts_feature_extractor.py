import numpy as np
import pandas as pd


class FeatureExtractor:
    """This month's temperature, the same month's a year before, and the season:
    every feature of a month comes from that month or earlier ones."""

    def fit(self, X_ds, y):
        pass

    def transform(self, X_ds):
        sst = X_ds["sst"]
        angle = 2 * np.pi * X_ds["month"] / 12
        features = pd.DataFrame({
            "sst": sst,
            "sst_1": sst.shift(1),
            "sst_9": sst.shift(9),  # the target's month, a year earlier
            "sst_12": sst.shift(12),
            "anomaly": sst - sst.shift(12),
            "cos": np.cos(angle), "sin": np.sin(angle),
        })
        return features.to_numpy()
