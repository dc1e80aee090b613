import os

import pandas as pd
import rampwf as rw
from sklearn.model_selection import StratifiedShuffleSplit

problem_title = 'Twelve integer classes (fixture)'
_target_column_name = 'digit'
_prediction_label_names = list(range(12))
Predictions = rw.prediction_types.make_multiclass(
    label_names=_prediction_label_names)
workflow = rw.workflows.Classifier()
score_types = [
    rw.score_types.Accuracy(name='acc', precision=3),
    rw.score_types.NegativeLogLikelihood(precision=4),
    rw.score_types.BalancedAccuracy(name='bacc'),
    rw.score_types.BalancedAccuracy(name='bacc_raw', adjusted=False),
    rw.score_types.MacroAveragedRecall(name='mar'),
    rw.score_types.ClassificationError(name='err'),
    rw.score_types.F1Above(name='f1_above', threshold=0.3),
]


def get_cv(X, y):
    cv = StratifiedShuffleSplit(n_splits=4, test_size=0.25, random_state=3)
    return cv.split(X, y)


def _read_data(path, f_name):
    data = pd.read_csv(os.path.join(path, 'data', f_name))
    y_array = data[_target_column_name].values
    X_df = data.drop([_target_column_name, 'id'], axis=1)
    return X_df.values, y_array


def get_train_data(path='.'):
    return _read_data(path, 'train.csv')


def get_test_data(path='.'):
    return _read_data(path, 'test.csv')
