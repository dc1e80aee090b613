"""Fair folds: the process that predicts a fold's held-out rows never has their labels.

With K folds every training row is a training row of some fold, so a submission
that could carry one fold's labels to the next, or read another fold's label file,
would score 1.000 on the rows it is asked to predict. The label cheater
(tests/hostile/submissions/label_cheater) plants its labels in every channel it can
and hunts in every place it can reach; where it finds a held-out label it predicts it
with certainty, elsewhere it predicts uniform probabilities. Its honest twin does the
same without hunting. In the Docker sandbox the two must score exactly alike; on
the local backend, which keeps nothing apart, the cheater does find the labels:
the proof that it would, were a channel open.

Times are the supervisor's: a submission that forges its fit/predict split cannot
report more than the wall-clock time it took.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from scorer.backends.docker import DockerBackend
from scorer.backends.local import LocalBackend
from scorer.data import load_data
from scorer.ingest import _times
from scorer.scoring import score_submission
from tests.hostile.sandbox_kit import SUBMISSIONS, small_kit

LIMITS = {"timeout": 150, "memory": "600m", "log_bytes": 64_000}
N_FOLDS = 5
UID = 10001


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return small_kit(tmp_path_factory.mktemp("fair") / "iris_fair", **LIMITS)


@pytest.fixture(scope="module")
def dataset(kit):
    return load_data(kit)


def _reports(log: str) -> list[dict]:
    return [json.loads(m) for m in re.findall(r"^CHEATER (\{.*\})$", log, re.M)]


def _score(kit, dataset, name: str, backend):
    return score_submission(kit, SUBMISSIONS / name, backend=backend, dataset=dataset).result


@pytest.fixture(scope="module")
def sandboxed(container_engine, kit, dataset):
    engine, _ = container_engine  # on Docker and on Podman
    backend = DockerBackend(engine=engine)
    try:
        return {name: _score(kit, dataset, name, backend)
                for name in ("label_cheater", "label_cheater_twin")}
    finally:
        backend.close()


@pytest.mark.docker
def test_cheater_finds_no_label_in_the_sandbox_and_scores_like_its_honest_twin(sandboxed):
    cheater, twin = sandboxed["label_cheater"], sandboxed["label_cheater_twin"]
    assert cheater.status == "scored", (cheater.reason, cheater.log_tail[-3000:])
    assert twin.status == "scored", twin.reason
    reports = _reports(cheater.log_tail)
    assert [r["fold"] for r in reports] == [str(i) for i in range(N_FOLDS)], cheater.log_tail
    for r in reports:
        assert r["uid"] == UID + int(r["fold"])  # each fold under its own user
        assert r["found"] == 0 and r["sources"] == [] and r["breaches"] == [], r
        assert r["files_read"] > 0
    assert cheater.bagged == twin.bagged
    assert [f.scores for f in cheater.folds] == [f.scores for f in twin.folds]
    assert cheater.bagged["valid"]["acc"] < 0.5  # chance, not the 1.000 of found labels


@pytest.mark.docker
def test_cheater_would_find_them_where_nothing_keeps_folds_apart(kit, dataset, sandboxed):
    # The local backend is for a participant's own code: every fold process runs as
    # the same user and could read the other folds' label files. The cheater does.
    cheater = _score(kit, dataset, "label_cheater", LocalBackend())
    assert cheater.status == "scored", (cheater.reason, cheater.log_tail[-3000:])
    reports = _reports(cheater.log_tail)
    assert reports and all(r["found"] > 0 for r in reports), reports
    assert any("label file" in s for r in reports for s in r["sources"])
    assert cheater.bagged["valid"]["acc"] == 1.0
    # ...and in the sandbox the very same code got nothing (previous test)
    assert sandboxed["label_cheater"].bagged["valid"]["acc"] < 0.5


@pytest.mark.docker
@pytest.mark.parametrize("backend", ["docker", "local"])
def test_forged_times_are_bounded_by_the_measured_wall_clock(docker_engine, kit, dataset,
                                                             backend):
    runner = DockerBackend() if backend == "docker" else LocalBackend()
    start = time.perf_counter()
    try:
        result = _score(kit, dataset, "forged_times", runner)
    finally:
        if backend == "docker":
            runner.close()
    elapsed = time.perf_counter() - start
    assert result.status == "scored", (result.reason, result.log_tail[-2000:])
    for fold in result.folds:
        assert 0.05 <= fold.fit_time + fold.predict_time < elapsed
        assert fold.fit_time == round(fold.fit_time, 2)  # published to 0.01 s
    assert result.fit_time + result.predict_time < elapsed


def test_the_split_a_fold_reports_never_exceeds_what_was_measured():
    assert _times({"fit_time": 1e9, "predict_time": 5.0}, 2.0, 1.5) == {
        "fit_time": 2.0, "predict_time": 0.0, "wall_time": 2.0, "cpu_time": 1.5}
    assert _times({"fit_time": 0.5, "predict_time": 9.0}, 2.0, 1.0)["predict_time"] == 1.5
    assert _times({"fit_time": float("nan")}, 2.0, 1.0)["fit_time"] == 2.0
    assert _times({"fit_time": -3, "predict_time": True}, 2.0, 1.0)["fit_time"] == 2.0
    honest = {"fit_time": 0.25, "predict_time": 0.5}
    assert _times(honest, 2.0, 1.0) | honest == _times(honest, 2.0, 1.0)
