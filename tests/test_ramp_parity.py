"""RAMP kits scored by `ramp-test` (ramp-workflow 0.7.0 in .venv-bench) and, once
converted by `gitramp import-ramp`, by `gitramp test`: every fold score and every
bagged score equal to 1e-9. Also each RAMP score type against rampwf's own on the
same predictions, zero probabilities included.

.venv-bench is made on first use (PyPI; about two minutes); where it cannot be, these
tests skip with the reason locally and fail under CI=true."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from challenge.ramp_import import RAMP_DEFAULT_NAMES, _score_name, import_ramp
from scorer.score_types import BUILTIN, RAMP_CLASSES
from tests.conftest import ROOT, need

KITS = ROOT / "tests" / "ramp_kits"
CASES = [("many_classes", "starting_kit"), ("many_classes", "forest"),
         ("binary_words", "starting_kit"), ("regression", "starting_kit"),
         ("fe_regression", "starting_kit"), ("estimator", "starting_kit"),
         ("estimator_external", "starting_kit"),
         # RAMP's El Nino workflow with its TimeSeries cv; drug spectra (combined)
         ("series", "starting_kit"), ("spectra", "starting_kit"),
         # gzipped tables read with compression=, columns dropped as [target] + ignored
         ("compressed", "starting_kit")]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def ramp_python() -> Path:
    from benchmarks.bench_ramp_test import ensure_bench_venv

    start = time.perf_counter()
    try:
        python = ensure_bench_venv()
    except (OSError, subprocess.CalledProcessError) as e:
        need(f".venv-bench with ramp-workflow 0.7.0 could not be made ({e})")
    print(f".venv-bench ready in {time.perf_counter() - start:.1f} s")
    return python


def _ramp_scores(ramp_kit: Path, submission: str) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([str(ROOT / ".venv-bench" / "bin" / "ramp-test"), "--submission",
                           submission, "--save-output"], cwd=ramp_kit, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = ramp_kit / "submissions" / submission / "training_output"
    folds = [pd.read_csv(out / f"fold_{i}" / "scores.csv", index_col=0)
             for i in range(len(list(out.glob("fold_*"))))]
    return folds, pd.read_csv(out / "bagged_scores.csv")


def _gitramp_scores(kit: Path, submission: str, save: Path) -> dict:
    done = subprocess.run([str(Path(sys.executable).parent / "gitramp"), "test", "--kit",
                           str(kit), "--submission", submission, "--save-output", str(save)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return yaml.safe_load((save / submission / "result.yml").read_text())


@pytest.mark.parametrize(("kit", "submission"), CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_every_fold_and_bagged_score_equals_ramp_test(ramp_python, tmp_path, kit, submission):
    ramp_kit = tmp_path / "ramp"
    shutil.copytree(KITS / kit, ramp_kit)
    imported = import_ramp(KITS / kit, tmp_path / "gitramp")
    names = {}  # ramp-test's column -> gitramp's score name
    for entry in imported.spec["scores"]:
        names[entry["name"]] = entry["name"]
    theirs_folds, theirs_bagged = _ramp_scores(ramp_kit, submission)
    ours = _gitramp_scores(imported.out, submission, tmp_path / "out")
    ramp_columns = [c for c in theirs_folds[0].columns if c != "time"]
    assert [_score_name(c) for c in ramp_columns] == list(names)
    assert len(ours["folds"]) == len(theirs_folds)
    compared = 0
    for fold, theirs in zip(ours["folds"], theirs_folds, strict=True):
        for step in ("train", "valid", "test"):
            for column in ramp_columns:
                a, b = fold["scores"][step][_score_name(column)], theirs.loc[step, column]
                assert a == pytest.approx(b, abs=1e-9, rel=0), (step, column)
                compared += 1
    for step in ("valid", "test"):
        rows = theirs_bagged[theirs_bagged["step"] == step]
        last = rows[rows["n_bag"] == rows["n_bag"].max()].iloc[0]
        for column in ramp_columns:
            assert ours["bagged"][step][_score_name(column)] == pytest.approx(
                last[column], abs=1e-9, rel=0), ("bagged", step, column)
            compared += 1
    assert compared >= 3 * len(theirs_folds) * len(ramp_columns)


# -------------------------------------------------- score types on the same arrays
RAMP_SCORE_SCRIPT = """
import json, sys
import numpy as np
import rampwf as rw
case = json.load(open(sys.argv[1]))
labels = case["labels"]
if labels:
    P = rw.prediction_types.make_multiclass(label_names=labels)
    truth = P(y_true=np.array([labels[i] for i in case["y"]]))
else:
    P = rw.prediction_types.make_regression()
    truth = P(y_true=np.array(case["y"], dtype=float))
pred = P(y_pred=np.array(case["p"], dtype=float))
out = {}
for cls, params in case["types"]:
    st = getattr(rw.score_types, cls)(**params)
    out[cls + json.dumps(params, sort_keys=True)] = float(st.score_function(truth, pred))
print(json.dumps(out))
"""


def _cases():
    rng = np.random.default_rng(4)
    y3 = rng.integers(0, 3, 60)
    p3 = rng.dirichlet(np.ones(3), 60)
    p3[:5] = np.eye(3)[(y3[:5] + 1) % 3]  # a true class with probability exactly 0
    y2 = rng.integers(0, 2, 80)
    p2 = rng.dirichlet(np.ones(2), 80)
    p2[:3] = np.eye(2)[1 - y2[:3]]
    yr = rng.normal(5, 2, 50)
    pr = yr + rng.normal(0, 1, 50)
    classes = [("Accuracy", {}), ("BalancedAccuracy", {}), ("BalancedAccuracy",
               {"adjusted": False}), ("ClassificationError", {}), ("F1Above", {}),
               ("F1Above", {"threshold": 0.3}), ("MacroAveragedRecall", {}),
               ("NegativeLogLikelihood", {}),
               ("SoftAccuracy", {"score_matrix": [[1, .5, 0], [.5, 1, .5], [0, .5, 1]]})]
    binary = [("ROCAUC", {}), ("BrierScore", {}), ("BrierSkillScore", {}),
              ("BrierScoreReliability", {}), ("BrierScoreResolution", {}),
              ("NormalizedGini", {}), ("NegativeLogLikelihood", {}), ("Accuracy", {})]
    regression = [("RMSE", {}), ("MARE", {}), ("NormalizedRMSE", {}), ("RelativeRMSE", {})]
    return [("three classes", [10, 20, 30], y3, p3, classes),
            ("two classes", ["a", "b"], y2, p2, binary),
            ("regression", [], yr, pr, regression)]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
def test_each_ramp_score_type_equals_rampwf(ramp_python, tmp_path, case):
    _, labels, y, p, types = case
    file = tmp_path / "case.json"
    file.write_text(json.dumps({"labels": labels, "y": y.tolist(), "p": p.tolist(),
                                "types": types}))
    done = subprocess.run([str(ramp_python), "-c", RAMP_SCORE_SCRIPT, str(file)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    covered = set()
    for cls, params in types:
        stype, _, _ = RAMP_CLASSES[cls]
        ours = BUILTIN[stype].fn(y, p, **params)
        assert ours == pytest.approx(theirs[cls + json.dumps(params, sort_keys=True)],
                                     abs=1e-12, rel=0), (cls, params)
        covered.add(cls)
        assert cls in RAMP_DEFAULT_NAMES
    if not labels:
        assert covered == {"RMSE", "MARE", "NormalizedRMSE", "RelativeRMSE"}


def test_nll_and_negative_log_likelihood_are_one_definition():
    y = np.array([0, 1, 2, 1])
    p = np.array([[1.0, 0, 0], [0, 0, 1.0], [0.2, 0.3, 0.5], [0.5, 0.5, 0]])
    eps = np.finfo(np.float64).eps
    expected = -np.mean(np.log(np.clip([1.0, 0.0, 0.5, 0.5], eps, 1 - eps)))
    assert BUILTIN["nll"].fn(y, p) == BUILTIN["negative_log_likelihood"].fn(y, p)
    assert BUILTIN["nll"].fn(y, p) == pytest.approx(expected, rel=1e-15)
