import os

import numpy as np
import pandas as pd
import rampwf as rw
from rampwf.score_types.base import BaseScoreType
from sklearn.model_selection import StratifiedKFold

problem_title = 'Yes or no (fixture)'
_target_column_name = 'answer'
_prediction_label_names = ['no', 'yes']
Predictions = rw.prediction_types.make_multiclass(
    label_names=_prediction_label_names)
workflow = rw.workflows.FeatureExtractorClassifier()


class MeanTrueProba(BaseScoreType):
    """A kit's own score: the mean probability given to the true class."""
    is_lower_the_better = False
    minimum = 0.0
    maximum = 1.0

    def __init__(self, name='mean true proba', precision=3):
        self.name = name
        self.precision = precision

    def __call__(self, y_true_proba, y_proba):
        return float(np.mean(np.sum(y_true_proba * y_proba, axis=1)))


score_types = [
    rw.score_types.ROCAUC(name='auc', precision=4),
    rw.score_types.NegativeLogLikelihood(name='nll', precision=3),
    rw.score_types.BrierScore(name='brier'),
    rw.score_types.BrierSkillScore(name='bss'),
    rw.score_types.NormalizedGini(name='gini'),
    MeanTrueProba(name='true_proba'),
]


def get_cv(X, y):
    # depends on the data: kept as a hook
    n_splits = 3 if len(y) > 100 else 2
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=5)
    return cv.split(X, y)


def _read_data(path, f_name):
    data = pd.read_csv(os.path.join(path, 'data', f_name))
    y_array = data[_target_column_name].values
    X_df = data.drop(_target_column_name, axis=1)
    return X_df, y_array


def get_train_data(path='.'):
    f_name = 'train.csv'
    return _read_data(path, f_name)


def get_test_data(path='.'):
    f_name = 'test.csv'
    return _read_data(path, f_name)
