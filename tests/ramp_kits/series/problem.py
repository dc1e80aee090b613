import os

import pandas as pd
import rampwf as rw

problem_title = 'Monthly temperature two months ahead (fixture)'
_target_column_name = 'temp_ahead'
_n_burn_in = 0
_n_cv = 3
_cv_block_size = 0.5
_period = 6

Predictions = rw.prediction_types.make_regression()
workflow = rw.workflows.ElNino(check_sizes=[30], check_indexs=[20])
score_types = [
    rw.score_types.RMSE(name='rmse', precision=3),
    rw.score_types.RelativeRMSE(name='rel_rmse', precision=3),
]


def get_cv(X, y):
    cv = rw.cvs.TimeSeries(
        n_cv=_n_cv, cv_block_size=_cv_block_size, period=_period, unit='month')
    return cv.get_cv(X, y)


def _read_data(path, f_name):
    data = pd.read_csv(os.path.join(path, 'data', f_name))
    y_array = data[_target_column_name].to_numpy()[_n_burn_in:]
    X_ds = data.drop(columns=[_target_column_name]).rename_axis('time').to_xarray()
    X_ds.attrs['n_burn_in'] = _n_burn_in
    return X_ds, y_array


def get_train_data(path='.'):
    return _read_data(path, 'train.csv')


def get_test_data(path='.'):
    return _read_data(path, 'test.csv')
