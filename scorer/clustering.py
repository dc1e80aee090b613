"""Clustering predictions (RAMP's HEP tracking shape): per event, a cluster id per point.

`clustering_efficiency` is RAMP's `ClusteringEfficiency`: within each event, every true
cluster is matched to the predicted id that holds most of its points (the smallest id
on a tie; negative ids mean "in no cluster" and match nothing), and counts those points
as found. A predicted id matched by several true clusters counts for the one where it
found most. The found points over the event's points, averaged over the events, is the
score: 1 when every cluster is recovered whole, 0 when nothing is.

Predicted ids may be floats (bagging averages fold predictions, as RAMP does); they
are counted as RAMP counts them: an id is the integer part of a nonnegative value, and
a point is found when its value equals its cluster's matched id exactly.

The workflow (`clusterer`) and the prediction type that use it are not wired in yet:
this module is the score, checked against rampwf (tests/test_clustering.py).
"""

from __future__ import annotations

import numpy as np


def event_efficiency(true_ids: np.ndarray, pred_ids: np.ndarray) -> float:
    """The share of one event's points found in their clusters' matched ids."""
    true_ids, pred_ids = np.asarray(true_ids), np.asarray(pred_ids)
    best: dict[int, int] = {}  # matched predicted id -> most points it found in one cluster
    for cluster in np.unique(true_ids):
        found = pred_ids[true_ids == cluster]
        assigned = found[found >= 0]
        if not len(assigned):
            continue
        matched = int(np.argmax(np.bincount(assigned.astype(np.int64))))
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
    ids = np.unique(events)
    return float(sum(event_efficiency(true_ids[events == e], pred_ids[events == e])
                     for e in ids) / len(ids))
