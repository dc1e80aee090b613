import os

import numpy as np
import pandas as pd
import rampwf as rw
from sklearn.model_selection import ShuffleSplit

problem_title = 'Crop yield (fixture)'
_target_column_name = 'yield'
Predictions = rw.prediction_types.make_regression()
workflow = rw.workflows.Regressor()
score_types = [
    rw.score_types.RMSE(name='rmse', precision=3),
    rw.score_types.RelativeRMSE(name='rel_rmse', precision=3),
    rw.score_types.NormalizedRMSE(name='n_rmse', precision=3),
    rw.score_types.MARE(name='mare', precision=3),
]


def get_cv(X, y):
    return ShuffleSplit(n_splits=5, test_size=0.2, random_state=11).split(X, y)


def _read_data(path, f_name):
    data = pd.read_csv(os.path.join(path, 'data', f_name))
    y_array = data[_target_column_name].values
    X = data.drop(columns=[_target_column_name])
    X['w2'] = np.square(X['w'])  # more than a CSV read: the loader stays a hook
    return X.values, y_array


def get_train_data(path='.'):
    return _read_data(path, 'train.csv')


def get_test_data(path='.'):
    return _read_data(path, 'test.csv')
