"""Combined predictions (RAMP's drug-spectra workflow): one submission predicts a class
and a quantity; the ranking score is RAMP's Combined of a classification score and a
regression score, each also reported. Outputs are read back strictly; every score
equals rampwf's on the same predictions, bagged ones included."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from challenge.kit import load_kit
from scorer.combined import parse_outputs
from scorer.errors import KitError
from scorer.outputs import InvalidOutput
from scorer.score_types import bind_scores
from scorer.scoring import score_submission
from tests.conftest import ROOT
from tests.test_ramp_parity import ramp_python  # noqa: F401  (the fixture)

KIT = ROOT / "kits" / "drug_spectra"
W = (2 / 3, 1 / 3)


@pytest.fixture(scope="module")
def kit():
    if not (KIT / "data" / "train.csv").is_file():
        pytest.fail("kits/drug_spectra/data is missing: run `make data`")
    return load_kit(KIT)


@pytest.fixture(scope="module")
def run(kit):
    return score_submission(kit, KIT / "submissions" / "starting_kit")


def test_starting_kit_scores_with_each_part_reported(run):
    result = run.result
    assert result.status == "scored", result.reason
    assert result.score_names == ["combined", "error", "mare"]
    assert result.lower_is_better["combined"] is True  # the parts' direction
    for fold in result.folds:
        for split in ("train", "valid", "test"):
            s = fold.scores[split]
            assert s["combined"] == pytest.approx(W[0] * s["error"] + W[1] * s["mare"],
                                                  abs=1e-12)
    assert result.bagged["test"]["mare"] < 0.5 and result.bagged["test"]["error"] < 0.2
    # kept for blending: each fold's held-out rows, four probabilities and the quantity
    assert [p.valid_pred.shape for p in run.predictions] == [
        (len(p.valid_idx), 5) for p in run.predictions]
    assert len(run.predictions) == len(result.folds)


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr), allow_pickle=False)
    return buf.getvalue()


# --------------------------------------------------------------- strict outputs
def _files(train, test=None, times=None):
    test = train[:2] if test is None else test
    return {"fold_0_train.npy": _npy(train), "fold_0_test.npy": _npy(test),
            "fold_0.json": json.dumps(times or {"fit_time": 1, "predict_time": 1}).encode()}


GOOD = np.array([[0.5, 0.5, 3.0], [1.0, 0.0, 7.5], [0.2, 0.8, 1.0]])


def test_good_outputs_are_read():
    (fold,) = parse_outputs(_files(GOOD), 1, 3, 2, 2)
    assert fold.train.shape == (3, 3) and fold.test.shape == (2, 3)


@pytest.mark.parametrize(("bad", "words"), [
    (GOOD[:, :2], "fold_0_train.npy: predictions of shape (3, 2); expected (3, 3)"),
    (np.vstack([GOOD, GOOD]), "expected (3, 3)"),
    (np.array([[0.5, 0.6, 3.0], [1, 0, 1], [1, 0, 1]]), "row 0 has class probabilities "
                                                          "summing to 1.1000"),
    (np.array([[1.5, -0.5, 3.0], [1, 0, 1], [1, 0, 1]]), "row 0 has probabilities"),
    (np.array([[1, 0, 1], [1, 0, np.nan], [1, 0, 1]]), "row 1 holds"),
    (np.array([["a", "b", "c"]] * 3), "expected numbers"),
])
def test_bad_outputs_name_the_file_the_row_and_what_was_expected(bad, words):
    with pytest.raises(InvalidOutput) as e:
        parse_outputs(_files(bad), 1, 3, 2, 2)
    assert words in str(e.value)


def test_pickled_and_stray_outputs_are_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(InvalidOutput, match="pickled objects are refused"):
        parse_outputs({**_files(GOOD), "fold_0_train.npy": buf.getvalue()}, 1, 3, 2, 2)
    with pytest.raises(InvalidOutput, match="unexpected output files"):
        parse_outputs({**_files(GOOD), "scores.json": b"{}"}, 1, 3, 2, 2)


# ------------------------------------------------------------ challenge.yml errors
def _kit_with(tmp_path: Path, scores) -> object:
    raw = yaml.safe_load((KIT / "challenge.yml").read_text())
    raw["scores"] = scores
    folder = tmp_path / "drug_spectra"
    folder.mkdir()
    (folder / "challenge.yml").write_text(yaml.safe_dump(raw))
    return load_kit(folder)


@pytest.mark.parametrize(("combined", "words"), [
    ({"scores": ["error", "nope"], "weights": [1, 1]}, "found 'nope'; expected the name of "
                                                       "another, not combined, score"),
    ({"scores": ["error", "mare"], "weights": [1]}, "expected 2 numbers"),
    ({"scores": ["error", "acc"], "weights": [1, 1]}, "mix lower-is-better"),
    ({"scores": "error", "weights": [1]}, "params.scores"),
])
def test_a_wrong_combined_score_is_a_kit_error(tmp_path, combined, words):
    kit = _kit_with(tmp_path, [{"name": "c", "type": "combined", "params": combined},
                               {"name": "error", "type": "classification_error"},
                               "mare", {"name": "acc", "type": "accuracy"}])
    with pytest.raises(KitError) as e:
        bind_scores(kit)
    assert words in str(e.value) and "challenge.yml" in str(e.value)


def test_combined_needs_its_quantity_column(tmp_path):
    raw = yaml.safe_load((KIT / "challenge.yml").read_text())
    del raw["prediction"]["quantity"]
    (tmp_path / "challenge.yml").write_text(yaml.safe_dump(raw))
    with pytest.raises(Exception) as e:
        load_kit(tmp_path)
    assert "prediction.quantity" in str(e.value)


# -------------------------------------------------------------- rampwf's scores
RAMP_COMBINED = """
import json, sys
import numpy as np
import rampwf as rw
case = json.load(open(sys.argv[1]))
labels = case["labels"]
P = rw.prediction_types.make_combined([rw.prediction_types.make_multiclass(label_names=labels),
                                       rw.prediction_types.make_regression(
                                           label_names=["concentration"])])
def truth(y):
    y = np.array(y, dtype=object)
    return P(y_true=np.column_stack([np.array([labels[int(i)] for i in y[:, 0]], dtype=object),
                                     y[:, 1]]))
err = rw.score_types.ClassificationError(name="error")
mare = rw.score_types.MARE(name="mare")
types = [rw.score_types.Combined(name="combined", score_types=[err, mare],
                                 weights=[2. / 3, 1. / 3]),
         rw.score_types.MakeCombined(score_type=err, index=0),
         rw.score_types.MakeCombined(score_type=mare, index=1)]
out = {"folds": [], "bagged": None}
for y, p in case["folds"]:
    out["folds"].append([float(t.score_function(truth(y), P(y_pred=np.array(p)))) for t in types])
y_test = case["y_test"]
bagged = P.combine([P(y_pred=np.array(p)) for p in case["tests"]])
out["bagged"] = [float(t.score_function(truth(y_test), bagged)) for t in types]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_every_score_equals_rampwf_on_the_same_predictions(ramp_python, kit,  # noqa: F811
                                                          tmp_path):
    from scorer.combined import combine
    from scorer.scoring import _all, bagged_scores

    rng = np.random.default_rng(3)
    n, k = 40, len(kit.labels)
    scores = bind_scores(kit)
    y = np.column_stack([rng.integers(0, k, n), rng.uniform(100, 5000, n)])
    folds, tests, ours = [], [], []
    for _ in range(3):
        proba = rng.dirichlet(np.ones(k), n)
        proba[:3] = np.eye(k)[(y[:3, 0].astype(int) + 1) % k]  # a sure, wrong class
        p = np.column_stack([proba, y[:, 1] * rng.uniform(0.5, 1.5, n)])
        folds.append((y.tolist(), p.tolist()))
        tests.append(p.tolist())
        ours.append([_all(scores, y, p)[s] for s in ("combined", "error", "mare")])
    file = tmp_path / "case.json"
    file.write_text(json.dumps({"labels": list(kit.labels), "folds": folds,
                                "y_test": y.tolist(), "tests": tests}))
    done = subprocess.run([str(ramp_python), "-c", RAMP_COMBINED, str(file)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    assert np.allclose(ours, theirs["folds"], rtol=0, atol=1e-12)

    class Fold:  # what bagged_scores reads of a fold's predictions
        def __init__(self, p):
            self.valid_idx = np.arange(n)
            self.valid_pred = self.test_pred = np.asarray(p)

    bagged = bagged_scores(scores, [Fold(p) for p in tests], y, y, combine=combine)
    assert [bagged["test"][s] for s in ("combined", "error", "mare")] == pytest.approx(
        theirs["bagged"], abs=1e-12)
