import os

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

HERE = os.path.dirname(__file__)


class JoinRegions(BaseEstimator, TransformerMixin):
    """Adds the region's rainfall from the submission's external_data.csv."""

    def fit(self, X, y=None):
        self.rain = pd.read_csv(os.path.join(HERE, 'external_data.csv')).set_index('region')
        return self

    def transform(self, X):
        X = X.copy()
        X['rain'] = self.rain.loc[X['region'], 'rain'].to_numpy()
        return X.drop(columns=['region']).to_numpy(float)


def get_estimator():
    return make_pipeline(JoinRegions(), LogisticRegression(max_iter=1000))
