import os

import pandas as pd
import rampwf as rw
from sklearn.model_selection import StratifiedShuffleSplit

problem_title = 'Molecule and concentration from a spectrum (fixture)'
_target_column_name_clf = 'molecule'
_target_column_name_reg = 'concentration'
_prediction_label_names = ['A', 'B', 'Q', 'R']

Predictions_1 = rw.prediction_types.make_multiclass(
    label_names=_prediction_label_names)
Predictions_2 = rw.prediction_types.make_regression(
    label_names=[_target_column_name_reg])
Predictions = rw.prediction_types.make_combined([Predictions_1, Predictions_2])
workflow = rw.workflows.DrugSpectra()

score_type_1 = rw.score_types.ClassificationError(name='err', precision=3)
score_type_2 = rw.score_types.MARE(name='mare', precision=3)
score_types = [
    rw.score_types.Combined(
        name='combined', score_types=[score_type_1, score_type_2],
        weights=[2. / 3, 1. / 3], precision=3),
    rw.score_types.MakeCombined(score_type=score_type_1, index=0),
    rw.score_types.MakeCombined(score_type=score_type_2, index=1),
]


def get_cv(X, y):
    cv = StratifiedShuffleSplit(n_splits=3, test_size=0.25, random_state=57)
    return cv.split(X, y[:, 0])


def _read_data(path, f_name):
    df = pd.read_csv(os.path.join(path, 'data', f_name))
    y_array = df[[_target_column_name_clf, _target_column_name_reg]].to_numpy()
    X_df = df.drop([_target_column_name_clf, _target_column_name_reg], axis=1)
    return X_df, y_array


def get_train_data(path='.'):
    return _read_data(path, 'train.csv')


def get_test_data(path='.'):
    return _read_data(path, 'test.csv')
