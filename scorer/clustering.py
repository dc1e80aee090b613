"""Clustering predictions (RAMP's HEP tracking shape): per event, a cluster id per point.

The data of a clustering kit are points (a particle detector's hits), one row each,
grouped in events: the first column of the features is the event id (RAMP's layout,
`X[:, 0]`), the target column the point's true cluster (its track). The scorer holds

- the truth as integers of shape (n, 2): the event id, then the cluster id (RAMP's
  `y`, which `Clusterer.fit` receives as it is);
- predictions as floats of shape (n,): the cluster id the submission gave each point
  (integers, written by the fold process as an integer column, scorer/workflows/
  clusterer.py), averaged over fold models once bagged.

`parse_outputs` reads a fold's predictions back strictly: a plain integer .npy column,
one id per point, each within ±`MAX_ID`; anything else is an invalid output naming the
file, the row and what was expected.

`clustering_efficiency` is RAMP's `ClusteringEfficiency`: within each event, every true
cluster is matched to the predicted id that holds most of its points (the smallest id
on a tie; negative ids mean "in no cluster" and match nothing), and counts those points
as found. A predicted id matched by several true clusters counts for the one where it
found most. The found points over the event's points, averaged over the events, is the
score: 1 when every cluster is recovered whole, 0 when nothing is.

Bagging is RAMP's for clustering predictions, its default combination: the mean of the
fold models' ids, row by row (rows never held out are left out of bagged valid). Mean
ids are floats; they are counted as RAMP counts them: an id is the integer part of a
nonnegative value, and a point is found when its value equals its cluster's matched id
exactly, so a point the fold models disagree on is found by none.
"""

from __future__ import annotations

import numpy as np

from scorer.outputs import FoldOutput, InvalidOutput, read_folds

MAX_ID = 2**31 - 1  # |cluster id| and |event id|: exact as floats, and bounded


# ------------------------------------------------------------------------- the score
def event_efficiency(true_ids: np.ndarray, pred_ids: np.ndarray) -> float:
    """The share of one event's points found in their clusters' matched ids."""
    true_ids, pred_ids = np.asarray(true_ids), np.asarray(pred_ids)
    best: dict[int, int] = {}  # matched predicted id -> most points it found in one cluster
    for cluster in np.unique(true_ids):
        found = pred_ids[true_ids == cluster]
        assigned = found[found >= 0]
        if not len(assigned):
            continue
        # the id holding most points, the smallest on a tie (as RAMP's bincount/argmax,
        # without allocating up to the largest id)
        ids, counts = np.unique(assigned.astype(np.int64), return_counts=True)
        matched = int(ids[np.argmax(counts)])
        count = int(np.count_nonzero(found == matched))
        best[matched] = max(best.get(matched, 0), count)
    return sum(best.values()) / len(true_ids)


def clustering_efficiency(events, true_ids, pred_ids) -> float:
    """The mean over events of `event_efficiency` (three aligned arrays, one row per
    point: its event, its true cluster, its predicted cluster)."""
    events, true_ids, pred_ids = (np.asarray(a) for a in (events, true_ids, pred_ids))
    if not (len(events) == len(true_ids) == len(pred_ids)):
        raise ValueError(f"{len(events)} events, {len(true_ids)} true and {len(pred_ids)} "
                         "predicted cluster ids; expected one of each per point")
    if not len(events):
        raise ValueError("no point to score")
    order = np.argsort(events, kind="stable")
    ids, starts = np.unique(events[order], return_index=True)
    bounds = [*starts.tolist(), len(events)]
    total = 0.0
    for k in range(len(ids)):
        rows = order[bounds[k]:bounds[k + 1]]
        total += event_efficiency(true_ids[rows], pred_ids[rows])
    return float(total / len(ids))


def score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """`clustering_efficiency` on the scorer's arrays: the truth (n, 2) (event, cluster)
    and the predicted ids (n,)."""
    y_true = np.asarray(y_true)
    if y_true.ndim != 2 or y_true.shape[1] != 2:
        raise ValueError(f"clustering_efficiency scores clustering predictions; the truth "
                         f"has shape {y_true.shape}, expected (n, 2): event, cluster")
    pred = np.asarray(y_pred, dtype=float)
    pred = pred[:, -1] if pred.ndim == 2 else pred  # RAMP's (event, cluster) rows too
    return clustering_efficiency(y_true[:, 0], y_true[:, 1], pred)


# -------------------------------------------------------------------------- the data
def _ids(values, where: str, what: str) -> np.ndarray:
    """Integer ids (any numeric dtype holding whole numbers) as int64, within ±MAX_ID."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: the {what} must be integers; found values such as "
                             f"{arr[:3].tolist()!r}") from None
    as_float = arr.astype(float)
    bad = ~np.isfinite(as_float) | (as_float != np.round(as_float)) | (np.abs(as_float)
                                                                       > MAX_ID)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"{where}: row {row} has {what} {arr[row].item()!r}; expected an "
                         f"integer within ±{MAX_ID}")
    return as_float.astype(np.int64)


def truth(X, y, where: str) -> np.ndarray:
    """The (n, 2) truth (event, cluster) of a clustering kit's split: `y` is the target
    column (the cluster of each point), the event is the first column of the features;
    a `problem.py` loader may give RAMP's `y` of two columns, whose events must then be
    that first column."""
    if np.ndim(X) != 2 or np.shape(X)[1] < 2:
        raise ValueError(f"{where}: a clustering kit's features start with the event id "
                         f"and hold at least one more column; found shape {np.shape(X)}")
    first = X.iloc[:, 0].to_numpy() if hasattr(X, "iloc") else np.asarray(X)[:, 0]
    events = _ids(first, where, "event id (the first column of the features)")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 2:
        if not np.array_equal(_ids(y[:, 0], where, "event id"), events):
            raise ValueError(f"{where}: the event ids of the target (its first column) "
                             "differ from the first column of the features; RAMP's "
                             "layout has the event id in both")
        y = y[:, 1]
    if y.ndim != 1 or len(y) != len(events):
        raise ValueError(f"{where}: the target has shape {y.shape}; expected one cluster "
                         f"id per point ({len(events)} points)")
    return np.column_stack([events, _ids(y, where, "cluster id")])


def first_events(y: np.ndarray, n: int) -> np.ndarray:
    """The rows of the first events (by id) that hold at most `n` points together, at
    least one event: a quick test's slice keeps events whole."""
    events = np.asarray(y)[:, 0]
    ids, counts = np.unique(events, return_counts=True)
    keep = max(1, int(np.searchsorted(np.cumsum(counts), n, side="right")))
    return np.flatnonzero(np.isin(events, ids[:keep]))


# ------------------------------------------------------------------- the predictions
def check_ids(arr, name: str, n_rows: int) -> np.ndarray:
    """A fold's predicted cluster ids, as loaded from `name`: a column of `n_rows`
    integers within ±MAX_ID, returned as floats (bagging averages them)."""
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iu":
        raise InvalidOutput(f"{name}: cluster ids of dtype {getattr(arr, 'dtype', '?')}; "
                            "expected an integer column, one cluster id per point")
    if arr.shape != (n_rows,):
        raise InvalidOutput(f"{name}: cluster ids of shape {arr.shape}; expected ({n_rows},): "
                            "one cluster id per point")
    bad = (arr > MAX_ID) | (arr < -MAX_ID) if arr.dtype.kind == "i" else arr > MAX_ID
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidOutput(f"{name}: row {row} holds {int(arr[row])}; expected a cluster id "
                            f"within ±{MAX_ID} (negative: in no cluster)")
    return arr.astype(np.float64)


def parse_outputs(files: dict[str, bytes], n_folds: int, n_train: int,
                  n_test: int) -> list[FoldOutput]:
    """Every fold's cluster ids on the training and test points, checked."""
    return read_folds(files, n_folds, n_train, n_test, check_ids)
