"""RAMP's clustering efficiency (scorer/clustering.py): by hand on small events, and
equal to rampwf 0.7.0's ClusteringEfficiency on random events, integer predictions and
averaged (bagged) ones alike."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from scorer.clustering import clustering_efficiency, event_efficiency
from tests.test_ramp_parity import ramp_python  # noqa: F401  (the fixture)


def test_a_perfect_clustering_under_other_ids_scores_one():
    assert event_efficiency([0, 0, 1, 1, 1], [7, 7, 3, 3, 3]) == 1.0


def test_points_outside_every_cluster_and_merged_clusters_are_not_found():
    # cluster 0 -> id 5 (2 of 3 points), cluster 1 -> unassigned (all -1)
    assert event_efficiency([0, 0, 0, 1, 1], [5, 5, -1, -1, -1]) == pytest.approx(2 / 5)
    # both clusters matched to id 1: only the larger count (3) is kept
    assert event_efficiency([0, 0, 0, 1, 1], [1, 1, 1, 1, 1]) == pytest.approx(3 / 5)
    # a tie inside a cluster goes to the smallest id
    assert event_efficiency([0, 0, 0, 0], [4, 4, 2, 2]) == pytest.approx(2 / 4)


def test_the_score_is_the_mean_over_events_not_over_points():
    events = [0, 0, 0, 0, 1, 1]
    assert clustering_efficiency(events, [0, 0, 0, 0, 0, 1], [1, 1, 1, 1, -1, -1]) == 0.5


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one of each per point"):
        clustering_efficiency([0, 0], [1], [1, 1])


RAMP_EFFICIENCY = """
import json, sys
import numpy as np
import rampwf as rw
cases = json.load(open(sys.argv[1]))
score = rw.score_types.ClusteringEfficiency()
print(json.dumps([float(score(np.array(t), np.array(p))) for t, p in cases]))
"""


@pytest.mark.slow
def test_equal_to_rampwf_on_random_events(ramp_python, tmp_path):  # noqa: F811
    rng = np.random.default_rng(11)
    cases, ours = [], []
    for k in range(12):
        n = int(rng.integers(20, 200))
        events = np.sort(rng.integers(0, int(rng.integers(1, 8)), n))
        true = rng.integers(0, int(rng.integers(1, 6)), n)
        pred = np.where(rng.random(n) < 0.7, true + rng.integers(0, 2, n) * (k % 3),
                        rng.integers(-1, 6, n))
        if k % 4 == 3:  # a bagged prediction: the mean of three folds' ids
            pred = np.mean([pred, np.roll(pred, 1), pred], axis=0)
        cases.append(([[int(e), int(t)] for e, t in zip(events, true, strict=True)],
                      [[int(e), float(p)] for e, p in zip(events, pred, strict=True)]))
        ours.append(clustering_efficiency(events, true, pred))
    file = tmp_path / "cases.json"
    file.write_text(json.dumps(cases))
    done = subprocess.run([str(ramp_python), "-c", RAMP_EFFICIENCY, str(file)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    assert ours == pytest.approx(theirs, abs=1e-12, rel=0)
    assert 0 < min(ours) and max(ours) <= 1
