"""Hostile submissions of the time-series, combined-prediction, object-detection and
clustering workflows, each trying to read past its data in a real container: the future
of the series, the test labels (craters, particles of hits), the test concentrations.
Each is contained when it finds nothing (a finding makes it fail loudly with what it
found, which these tests refuse) and scores badly.

Each kit is a copy of its example kit with small limits and two folds, scored on its
hidden data as a runner does, by one backend (one image) for all of them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from challenge.kit import load_kit
from scorer.backends.docker import DockerBackend
from scorer.scoring import score_submission
from tests.conftest import ROOT

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SUBMISSIONS = Path(__file__).resolve().parent / "workflow_submissions"
LIMITS = {"timeout": 120, "memory": "1g", "cpus": 1, "pids": 64, "tmpfs": "16m",
          "max_output_bytes": 2_000_000, "log_bytes": 8000}


def _kit(name: str, folder: Path):
    """kits/<name> with small limits and tests/hostile/workflow_submissions as its
    submissions; the hidden data is the one scored."""
    source = ROOT / "kits" / name
    if not (source / "hidden" / "data" / "train.csv").is_file():
        pytest.fail(f"kits/{name}/hidden is missing: run `make data` "
                    "(python -m kits.make_data) first")
    raw = yaml.safe_load((source / "challenge.yml").read_text())
    raw["limits"] = LIMITS
    raw["cv"]["n_splits"] = 2  # two folds: every process kind, half the containers' work
    folder.mkdir(parents=True)
    (folder / "challenge.yml").write_text(yaml.safe_dump(raw, sort_keys=False))
    for part in ("data", "hidden", "problem.py"):
        if (source / part).exists():
            (folder / part).symlink_to(source / part)
    (folder / "submissions").symlink_to(SUBMISSIONS)
    return load_kit(folder), source / "hidden"


@pytest.fixture(scope="module")
def backend(docker_engine):
    """One backend for all: the container it prepares after one submission (the
    same image and limits) serves the next."""
    backend = DockerBackend()
    yield backend
    backend.close()


def _score(backend, tmp_path, kit_name: str, submission: str):
    kit, hidden = _kit(kit_name, tmp_path / kit_name)
    run = score_submission(kit, SUBMISSIONS / submission, backend=backend, data_dir=hidden)
    result = run.result
    assert "FOUND" not in (result.reason or "") + (result.log_tail or ""), result.reason
    assert result.status == "scored", (result.status, result.reason, result.log_tail[-2000:])
    return run


def test_a_feature_extractor_reading_the_future_finds_nothing(backend, tmp_path):
    """Files, the whole series file, other processes' memory and environment, its own
    heap: each fold's first process holds the series up to the end of its validation
    block and nothing after; its second holds the features of the whole series (the
    test rows' too, as in RAMP) and no test label."""
    run = _score(backend, tmp_path, "el_nino", "ts_read_future")
    n_train, n_test = len(run.y_train), len(run.y_test)
    for p in run.predictions:
        assert set(p.valid_pred.tolist()) == {float(p.valid_idx[-1] + 1)}
        assert set(p.test_pred.tolist()) == {float(n_train + n_test)}
    assert run.result.bagged["test"]["rmse"] > 100  # predictions are row counts


def test_a_detector_hunting_the_test_labels_finds_nothing(backend, tmp_path):
    run = _score(backend, tmp_path, "mars_craters", "detector_read_labels")
    assert run.result.bagged["test"]["ap"] == 0
    assert all(f.scores["test"]["ap"] == 0 for f in run.result.folds)


def test_a_spectra_submission_hunting_the_concentrations_finds_nothing(backend, tmp_path):
    run = _score(backend, tmp_path, "drug_spectra", "spectra_read_concentrations")
    test = run.result.bagged["test"]
    assert test["error"] > 0.5 and test["mare"] > 0.99  # one class, concentration 1.0


def test_a_clusterer_hunting_the_test_labels_finds_nothing(backend, tmp_path):
    run = _score(backend, tmp_path, "hep_tracking", "clusterer_read_labels")
    assert run.result.bagged["test"]["efficiency"] == 0  # every hit in no cluster
    assert all(f.scores["test"]["efficiency"] == 0 for f in run.result.folds)
