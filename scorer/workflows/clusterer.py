"""`clusterer.py` defines `class Clusterer` with `fit(X, y)` and
`predict_single_event(X_event)` (RAMP's clustering workflow, the HEP tracking shape).

The data are points grouped in events; the first column of `X` is the event id.
`fit(X, y)` receives the fold's training points as RAMP gives them: `X` a numpy array
whose first column is the event id, `y` an integer array of two columns, the event id
and the point's cluster id. To predict, the workflow cuts `X` into its events (in the
order of their ids) and calls `predict_single_event(X_event)` once per event, with that
event's rows and without the event column; it returns one integer cluster id per row
(negative: in no cluster). Ids need only be consistent within an event.

The ids travel to the scorer as one integer column per split, one id per point in row
order (no pickle), and are read back strictly there (scorer/clustering.py).
"""

from __future__ import annotations

import numpy as np

from scorer.workflows import WorkflowTask, element

ELEMENTS = ("clusterer.py",)
MAX_ID = 2**31 - 1  # as scorer/clustering.py reads them back


def as_array(X) -> np.ndarray:
    """The features as RAMP hands them over: a numpy array (a table's values)."""
    return X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X)


def fit(modules, X, y, task: WorkflowTask):
    model = element(modules, "clusterer.py", "Clusterer")()
    model.fit(as_array(X), np.asarray(y))
    return model


def predict(model, X, task: WorkflowTask) -> np.ndarray:
    X = as_array(X)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(f"the features have shape {X.shape}; a clustering workflow needs "
                         "the event id in the first column and at least one feature")
    events = X[:, 0]
    out = np.empty(len(X), dtype=np.int64)
    for event in np.unique(events):
        rows = events == event
        X_event = X[rows][:, 1:]
        out[rows] = cluster_ids(model.predict_single_event(X_event), len(X_event), event)
    return out


def cluster_ids(ids, n_points: int, event) -> np.ndarray:
    """What `predict_single_event` returned for `event`, checked: one integer cluster
    id per point (integral floats, such as 2.0, are taken as integers)."""
    try:
        event = int(event) if float(event).is_integer() else event
    except (TypeError, ValueError, OverflowError):
        pass
    where = f"Clusterer.predict_single_event (event {event})"
    try:
        arr = np.asarray(ids)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where} returned something that is not an array: {e}") from None
    if arr.shape != (n_points,):
        raise ValueError(f"{where} returned shape {arr.shape} for {n_points} points; expected "
                         f"({n_points},): one cluster id per point")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{where} returned values of dtype {arr.dtype}; expected integer "
                         "cluster ids")
    values = arr.astype(float)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) > MAX_ID)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"{where}: point {k} has cluster id {arr[k].item()!r}; expected an "
                         f"integer within ±{MAX_ID} (negative: in no cluster)")
    return values.astype(np.int64)
