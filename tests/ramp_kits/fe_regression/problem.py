import os

import pandas as pd
import rampwf as rw
from sklearn.model_selection import KFold

problem_title = 'Flat prices (fixture)'
_target_column_name = 'price'
Predictions = rw.prediction_types.make_regression()
workflow = rw.workflows.FeatureExtractorRegressor()
score_types = [rw.score_types.RMSE(name='rmse', precision=2)]


def get_cv(X, y):
    cv = KFold(n_splits=4, shuffle=True, random_state=8)
    return cv.split(X)


def _read_data(path, f_name):
    data = pd.read_csv(os.path.join(path, 'data', f_name))
    y_array = data[_target_column_name].values
    X_df = data.drop([_target_column_name], axis=1)
    return X_df, y_array


def get_train_data(path='.'):
    return _read_data(path, 'train.csv')


def get_test_data(path='.'):
    return _read_data(path, 'test.csv')
