# RAMP's HEP tracking shape on a few events of gitramp's generator: data/*.csv written
# by kits/hep_tracking_data.py (events(30, seed=5) and events(15, seed=6)).
import os

import pandas as pd
import rampwf as rw
from sklearn.model_selection import GroupKFold

problem_title = 'Particle tracking (fixture)'
_target_column_name = 'cluster_id'
Predictions = rw.prediction_types.make_clustering()
workflow = rw.workflows.Clusterer()
score_types = [
    rw.score_types.ClusteringEfficiency(name='efficiency', precision=3),
]


def get_cv(X, y):
    # whole events in each fold: the event id is the first column of y
    return GroupKFold(n_splits=3).split(X, y, groups=y[:, 0])


def _read_data(path, f_name):
    data = pd.read_csv(os.path.join(path, 'data', f_name))
    y_array = data[['event_id', _target_column_name]].to_numpy()
    X_array = data.drop([_target_column_name], axis=1).to_numpy()
    return X_array, y_array


def get_train_data(path='.'):
    return _read_data(path, 'train.csv')


def get_test_data(path='.'):
    return _read_data(path, 'test.csv')
