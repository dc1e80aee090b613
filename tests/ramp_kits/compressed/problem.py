import os

import pandas as pd
import rampwf as rw
from sklearn.model_selection import StratifiedShuffleSplit

problem_title = 'Gzipped tables and ignored columns (fixture)'
_target_column_name = 'label'
_ignore_column_names = ['row_id', 'batch']
_prediction_label_names = [0, 1]
Predictions = rw.prediction_types.make_multiclass(
    label_names=_prediction_label_names)
workflow = rw.workflows.Estimator()
score_types = [
    rw.score_types.ROCAUC(name='auc'),
    rw.score_types.Accuracy(name='acc', precision=3),
    rw.score_types.NegativeLogLikelihood(name='nll'),
]


def get_cv(X, y):
    cv = StratifiedShuffleSplit(n_splits=3, test_size=0.3, random_state=11)
    return cv.split(X, y)


def _read_data(path, f_name):
    data = pd.read_csv(os.path.join(path, 'data', f_name), compression='gzip')
    y_array = data[_target_column_name].values
    X_df = data.drop([_target_column_name] + _ignore_column_names, axis=1)
    return X_df, y_array


def get_train_data(path='.'):
    return _read_data(path, 'train.csv.gz')


def get_test_data(path='.'):
    return _read_data(path, 'test.csv.gz')
