"""The time-series workflow (RAMP's El Nino: ts_feature_extractor + regressor) and its
guarantee: a fold's code never holds a row after its validation block.

The guarantee is asserted from inside: a spying submission predicts, for every row,
the largest number of rows any DataFrame or array in its process holds (and, in the
container, any file it can read), so the scorer's own fold predictions say what each
fold could reach. A look-ahead feature (`shift(-1)`) is refused by the workflow's
check. Scores equal rampwf's RMSE on the same predictions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from challenge.kit import load_kit
from scorer.cv_time import time_series_folds
from scorer.data import load_data
from scorer.errors import KitError
from scorer.scoring import score_submission
from scorer.series_inputs import write_series_inputs
from tests.conftest import ROOT
from tests.test_ramp_parity import ramp_python  # noqa: F401  (the fixture)

KIT = ROOT / "kits" / "el_nino"

SPY_FEATURES = '''
import gc
import os

import numpy as np
import pandas as pd

SEEN = [0]


def rows_in_memory():
    most = 0
    for obj in gc.get_objects():
        if isinstance(obj, (pd.DataFrame, pd.Series)):
            most = max(most, len(obj))
        elif isinstance(obj, np.ndarray) and obj.ndim >= 1:
            most = max(most, obj.shape[0])
    return most


def rows_on_disk():
    most = 0
    for top in ("/inputs", "/start", os.environ.get("SPY_INPUTS", "/nonexistent")):
        for folder, _, files in os.walk(top):
            for f in files:
                try:
                    data = pd.read_pickle(os.path.join(folder, f))
                except Exception:
                    continue
                if isinstance(data, pd.DataFrame):
                    most = max(most, len(data))
    return most


class FeatureExtractor:
    def fit(self, X_ds, y):
        SEEN[0] = max(SEEN[0], len(X_ds), rows_in_memory(), rows_on_disk())

    def transform(self, X_ds):
        SEEN[0] = max(SEEN[0], len(X_ds), rows_in_memory(), rows_on_disk())
        return np.zeros((len(X_ds), 1))
'''

SPY_REGRESSOR = '''
import numpy as np

import ts_feature_extractor


class Regressor:
    def fit(self, X, y):
        pass

    def predict(self, X):
        return np.full(len(X), float(ts_feature_extractor.SEEN[0]))
'''

LOOK_AHEAD = '''
class FeatureExtractor:
    def fit(self, X_ds, y):
        pass

    def transform(self, X_ds):
        return X_ds[["sst"]].shift(-1).fillna(0).to_numpy()
'''


# Looks ahead only for the last rows it is given: past the middle of the block each fold
# predicts, where RAMP's single check point would not see it.
LATE_LOOK_AHEAD = '''
import numpy as np


class FeatureExtractor:
    def fit(self, X_ds, y):
        pass

    def transform(self, X_ds):
        sst = X_ds["sst"].to_numpy(dtype=float)
        out = sst.copy()
        out[-LATE - 1:-1] = sst[-LATE:]  # the next month's value, for the last rows only
        return out.reshape(-1, 1)


LATE = 20
'''


def _submission(folder: Path, features: str, regressor: str | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "ts_feature_extractor.py").write_text(features)
    (folder / "regressor.py").write_text(
        regressor or (KIT / "submissions" / "starting_kit" / "regressor.py").read_text())
    return folder


@pytest.fixture(scope="module")
def kit():
    if not (KIT / "data" / "train.csv").is_file():
        pytest.fail("kits/el_nino/data is missing: run `make data` (python -m kits.make_data)")
    return load_kit(KIT)


# -------------------------------------------------------------------------- folds
def test_time_series_folds_train_before_and_validate_after_the_cut():
    folds = time_series_folds(100, {"n_splits": 3, "burn_in": 10, "gap": 2, "test_size": 15},
                              "challenge.yml")
    assert len(folds) == 3
    for tr, va in folds:
        assert tr[0] == 10  # the burn-in is history only
        assert np.array_equal(tr, np.arange(10, tr[-1] + 1))
        assert va[0] == tr[-1] + 1 + 2  # the gap
        assert len(va) == 15
    assert folds[-1][1][-1] == 99
    assert folds[1][1][0] == folds[0][1][-1] + 1  # blocks follow each other


@pytest.mark.parametrize(("params", "words"), [
    ({"n_splits": 0}, "cv.n_splits"), ({"burn_in": -1}, "cv.burn_in"),
    ({"shuffle": True}, "does not take ['shuffle']"),
    ({"n_splits": 5, "burn_in": 97}, "cannot make 5 time-series folds")])
def test_time_series_cv_errors_name_the_key(params, words):
    with pytest.raises(KitError) as e:
        time_series_folds(100, params, "kits/x/challenge.yml")
    assert words in str(e.value) and "kits/x/challenge.yml" in str(e.value)


# ----------------------------------------------------------------- the example kit
def test_el_nino_starting_kit_scores_in_seconds(kit):
    run = score_submission(kit, KIT / "submissions" / "starting_kit")
    result = run.result
    assert result.status == "scored", result.reason
    assert len(result.folds) == 4
    # a linear forecast three months ahead beats the seasonal naive one, and both
    # explain most of the variance of a strongly seasonal series
    naive = score_submission(kit, KIT / "submissions" / "seasonal_naive").result
    assert result.bagged["test"]["rmse"] < naive.bagged["test"]["rmse"]
    assert result.bagged["valid"]["r2"] > 0.7
    for fold in result.folds:
        assert fold.fit_time >= 0 and fold.predict_time >= 0


# ------------------------------------------------------- no row after the cut-off
def test_a_fold_holds_no_row_after_its_validation_block(kit, tmp_path):
    """Scored by a fresh ingestion process (nothing of the test's own memory in it): the
    valid predictions of fold i say how many rows its process could see."""
    ds = load_data(kit)
    folds = time_series_folds(len(ds.X_train), kit.cv.params, "challenge.yml")
    inputs = write_series_inputs(ds, folds, kit.labels, tmp_path / "inputs")
    sub = _submission(tmp_path / "spy", SPY_FEATURES, SPY_REGRESSOR)
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run([sys.executable, "-m", "scorer.ingest", "--workflow",
                           kit.workflow, "--submission", str(sub), "--inputs", str(inputs),
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    n_train = len(ds.X_train)
    assert not (inputs / "X_train.pkl").exists() and not (inputs / "X_test.pkl").exists()
    for i, (_, va) in enumerate(folds):
        valid = np.load(out / f"fold_{i}_train.npy")[va]
        cut = va[-1] + 1
        assert set(valid.tolist()) == {float(cut)}, (i, cut)  # not a row more
        assert cut < n_train or i == len(folds) - 1
        test = np.load(out / f"fold_{i}_test.npy")
        assert set(test.tolist()) == {float(n_train + len(ds.X_test))}  # the whole series
        times = json.loads((out / f"fold_{i}.json").read_text())
        assert times["wall_time"] >= times["fit_time"] + times["predict_time"] - 0.01


def test_a_look_ahead_feature_fails_the_submission(kit, tmp_path):
    sub = _submission(tmp_path / "peek", LOOK_AHEAD)
    result = score_submission(kit, sub).result
    assert result.status == "error"
    assert "looks ahead" in result.reason and "predict" in (result.stage or "")


def test_a_look_ahead_late_in_the_block_is_caught_at_one_of_several_points(kit, tmp_path):
    """The test process holds the whole series: an extractor peeking only at its last
    rows passes a check at the middle of the test block (RAMP's one point) and fails
    at the points spread to the block's end."""
    from scorer.workflows import WorkflowTask
    from scorer.workflows import ts_feature_extractor_regressor as wf

    namespace: dict = {}
    exec(LATE_LOOK_AHEAD, namespace)
    extractor = namespace["FeatureExtractor"]()
    ds = load_data(kit)
    series = __import__("pandas").concat([ds.X_train, ds.X_test], ignore_index=True)
    block = np.arange(len(ds.X_train), len(series))  # the test rows
    feats = wf.features(extractor, series, 24)
    rng = np.random.default_rng(0)
    wf.check_causal(extractor, series, feats, int(block[len(block) // 2]), 24, rng)  # passes

    class Last:  # any regressor: the check runs before it predicts
        def predict(self, X):
            return np.zeros(len(X))

    with pytest.raises(wf.LooksAhead, match="looks ahead"):
        wf.predict((extractor, Last()), series, block, WorkflowTask(()), 24,
                   check_block=block, seed=7)
    points = wf.check_points(block, np.random.default_rng(7))
    assert points == wf.check_points(block, np.random.default_rng(7))  # the seed decides
    assert [p for p, _ in points][:5] == [int(block[0]), int(block[30]), int(block[60]),
                                         int(block[89]), int(block[-1])]
    assert all(int(block[0]) <= p <= int(block[-1]) for p, _ in points)
    assert len(points) <= 6 and sum(drawn for _, drawn in points) <= 1

    result = score_submission(kit, _submission(tmp_path / "late", LATE_LOOK_AHEAD)).result
    assert result.status == "error" and result.stage == "predict", result.reason
    assert "looks ahead" in result.reason


def test_ramp_shaped_features_after_the_burn_in_are_aligned(kit, tmp_path):
    """A RAMP extractor returns features for the rows after the burn-in only."""
    features = (KIT / "submissions" / "starting_kit" / "ts_feature_extractor.py").read_text()
    features = features.replace("        return features.to_numpy()",
                                "        return features.to_numpy()[X_ds.attrs['n_burn_in']:]")
    assert "n_burn_in" in features
    ours = score_submission(kit, KIT / "submissions" / "starting_kit").result
    ramp = score_submission(kit, _submission(tmp_path / "ramp", features)).result
    assert ramp.status == "scored", ramp.reason
    for split, scores in ours.bagged.items():
        for name, value in scores.items():
            assert ramp.bagged[split][name] == pytest.approx(value, abs=1e-12)


@pytest.mark.docker
def test_in_the_container_a_fold_reads_nothing_past_its_cut(docker_engine, kit, tmp_path):
    """In the sandbox the spy also reads every pickle it can open (/inputs, /start):
    the whole series is there, readable by root only."""
    from scorer.backends.docker import DockerBackend

    sub = _submission(tmp_path / "spy", SPY_FEATURES, SPY_REGRESSOR)
    run = score_submission(kit, sub, backend=DockerBackend())
    assert run.result.status == "scored", run.result.reason
    n_train = len(run.y_train)
    for p in run.predictions:
        assert set(p.valid_pred.tolist()) == {float(p.valid_idx[-1] + 1)}
        assert set(p.test_pred.tolist()) == {float(n_train + len(run.y_test))}


# ---------------------------------------------------------------- RAMP's scores
RAMP_RMSE = """
import json, sys
import numpy as np
import rampwf as rw
case = json.load(open(sys.argv[1]))
P = rw.prediction_types.make_regression()
out = []
for y, p in case:
    out.append(float(rw.score_types.RMSE().score_function(
        P(y_true=np.array(y)), P(y_pred=np.array(p)))))
folds = [P(y_pred=np.array(p)) for _, p in case[1:]]
bagged = P.combine(folds)
out.append(float(rw.score_types.RMSE().score_function(P(y_true=np.array(case[1][0])), bagged)))
print(json.dumps(out))
"""


@pytest.mark.slow
def test_el_nino_scores_equal_rampwf_on_the_same_predictions(ramp_python, kit,  # noqa: F811
                                                             tmp_path):
    run = score_submission(kit, KIT / "submissions" / "starting_kit")
    p0 = run.predictions[0]
    case = [(run.y_train[p0.valid_idx].tolist(), p0.valid_pred.tolist())]
    case += [(run.y_test.tolist(), p.test_pred.tolist()) for p in run.predictions]
    file = tmp_path / "case.json"
    file.write_text(json.dumps(case))
    done = subprocess.run([str(ramp_python), "-c", RAMP_RMSE, str(file)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    assert run.result.folds[0].scores["valid"]["rmse"] == pytest.approx(theirs[0], abs=1e-12)
    for fold, value in zip(run.result.folds, theirs[1:-1], strict=True):
        assert fold.scores["test"]["rmse"] == pytest.approx(value, abs=1e-12)
    assert run.result.bagged["test"]["rmse"] == pytest.approx(theirs[-1], abs=1e-12)
