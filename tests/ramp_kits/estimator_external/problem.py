import os

import pandas as pd
import rampwf as rw
from sklearn import model_selection

problem_title = 'Three kinds with regional data (fixture)'
_target_column_name = 'kind'
_prediction_label_names = [1, 2, 3]
Predictions = rw.prediction_types.make_multiclass(
    label_names=_prediction_label_names)
workflow = rw.workflows.EstimatorExternalData()
score_types = [
    rw.score_types.Accuracy(name='acc', precision=3),
    rw.score_types.NegativeLogLikelihood(name='nll', precision=3),
]


def get_cv(X, y):
    cv = model_selection.StratifiedKFold(n_splits=3, shuffle=True, random_state=4)
    return cv.split(X, y)


def _read_data(path, f_name):
    data = pd.read_csv(os.path.join(path, 'data', f_name))
    y_array = data[_target_column_name].values
    X_df = data.drop([_target_column_name], axis=1)
    return X_df, y_array


def get_train_data(path='.'):
    return _read_data(path, 'train.csv')


def get_test_data(path='.'):
    return _read_data(path, 'test.csv')
