"""Object detection (RAMP's Mars craters shape): the object_detector workflow, detections
read back strictly, RAMP's detection scores and bagging.

The parity tests run ramp-workflow 0.7.0 in .venv-bench (made on first use, as in
tests/test_ramp_parity.py): every detection score type on the same labels and
detections, the bagging of detections, and ramp-test against gitramp test on the
example kit, every fold score and every bagged score equal to 1e-9."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from challenge.kit import load_kit
from scorer import detection
from scorer.backends.docker import DockerBackend
from scorer.errors import KitError
from scorer.outputs import InvalidOutput
from scorer.score_types import BUILTIN, RAMP_CLASSES
from scorer.scoring import score_submission
from scorer.workflows.object_detector import detection_table, objects_of
from tests.conftest import ROOT, need

KIT = ROOT / "kits" / "mars_craters"
STARTING_KIT = KIT / "submissions" / "starting_kit"


@pytest.fixture(scope="session")
def ramp_python() -> Path:
    """ramp-workflow 0.7.0's Python (.venv-bench), as tests/test_ramp_parity.py makes it."""
    from benchmarks.bench_ramp_test import ensure_bench_venv

    try:
        return ensure_bench_venv()
    except (OSError, subprocess.CalledProcessError) as e:
        need(f".venv-bench with ramp-workflow 0.7.0 could not be made ({e})")


# ------------------------------------------------------------------ data as tables
def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _files(train, test, n_folds=1) -> dict[str, bytes]:
    files = {}
    for i in range(n_folds):
        files[f"fold_{i}_train.npy"] = _npy(train)
        files[f"fold_{i}_test.npy"] = _npy(test)
        files[f"fold_{i}.json"] = json.dumps({"fit_time": 0.1, "predict_time": 0.1}).encode()
    return files


def test_detections_read_back_per_image_in_row_order():
    table = np.array([[2, 0.9, 10, 11, 3], [0, 0.5, 1, 2, 4], [2, 0.1, 30, 31, 5.5]])
    empty = np.empty((0, 5))
    [out] = detection.parse_outputs(_files(table, empty), 1, 3, 2)
    assert [len(p) for p in out.train] == [1, 0, 2]
    assert out.train[2].tolist() == [[0.9, 10, 11, 3], [0.1, 30, 31, 5.5]]
    assert all(p.shape == (0, 4) for p in out.test)


@pytest.mark.parametrize(("table", "expected"), [
    (np.zeros((3, 4)), "fold_0_train.npy: detections of shape (3, 4); expected (m, 5)"),
    (np.array([[0, 0.5, 1, 2, 3], [1, np.nan, 1, 2, 3]]),
     "fold_0_train.npy: row 1 holds [1.0, nan, 1.0, 2.0, 3.0]; expected (image_index, "
     "confidence, x, y, radius) with finite numbers"),
    (np.array([[0, 0.5, 1, 2, 3], [3, 0.5, 1, 2, 3]]),
     "row 1 holds [3.0, 0.5, 1.0, 2.0, 3.0]; expected (image_index, confidence, x, y, "
     "radius) with an image_index that is an integer from 0 to 2"),
    (np.array([[0.5, 0.5, 1, 2, 3]]), "row 0 holds [0.5, 0.5, 1.0, 2.0, 3.0]"),
    (np.array([[0, 1.5, 1, 2, 3]]), "with a confidence in [0, 1]"),
    (np.array([[0, 0.5, 1, 2, 0]]), "row 0 holds [0.0, 0.5, 1.0, 2.0, 0.0]; expected "
     "(image_index, confidence, x, y, radius) with a radius above 0"),
    (np.array([[0, 0.5, 1e9, 2, 3]]), "x and y within"),
    (np.tile([1, 0.5, 1, 2, 3], (detection.MAX_OBJECTS + 1, 1)),
     f"fold_0_train.npy: image 1 has {detection.MAX_OBJECTS + 1} detections; expected at "
     f"most {detection.MAX_OBJECTS} per image"),
    (np.array(["a"]), "fold_0_train.npy: detections of dtype <U1; expected a table of numbers"),
])
def test_bad_detections_name_the_file_the_row_and_what_was_expected(table, expected):
    with pytest.raises(InvalidOutput, match=None) as e:
        detection.parse_outputs(_files(table, np.empty((0, 5))), 1, 3, 2)
    assert expected in str(e.value)


def test_pickled_detections_are_refused_and_missing_files_named():
    objects = np.empty(2, dtype=object)
    objects[:] = [[(0.5, 1, 2, 3)], []]
    with pytest.raises(InvalidOutput, match="fold_0_train.npy is not a plain numeric .npy "
                                            "array.*pickled objects are refused"):
        detection.parse_outputs(_files(objects, np.empty((0, 5))), 1, 2, 2)
    files = _files(np.empty((0, 5)), np.empty((0, 5)))
    del files["fold_0_test.npy"]
    with pytest.raises(InvalidOutput, match="fold_0_test.npy is missing"):
        detection.parse_outputs(files, 1, 2, 2)
    with pytest.raises(InvalidOutput, match="unexpected output files"):
        detection.parse_outputs({**files, "notes.txt": b""}, 1, 2, 2)


def test_workflow_tables_round_trip_and_refuse_malformed_predictions():
    y = np.empty(3, dtype=object)
    y[:] = [[(1.0, 2.0, 3.0)], [], [(4.0, 5.0, 6.0), (7.0, 8.0, 9.0)]]
    table = detection.truth_table(detection.truth(y, "here"))
    assert objects_of(table, 3).tolist() == y.tolist()
    assert detection_table([[(0.9, 1, 2, 3)], [], None], 3).tolist() == [[0, 0.9, 1, 2, 3]]
    assert detection_table([[], []], 2).shape == (0, 5)
    with pytest.raises(ValueError, match="returned 1 lists of detections for 2 images"):
        detection_table([[]], 2)
    with pytest.raises(ValueError, match="detections of image 1 have shape \\(3,\\)"):
        detection_table([[], (0.9, 1, 2)], 2)
    with pytest.raises(ValueError, match="image 0 has an object"):
        detection.truth([[(1.0, 2.0, -1.0)]], "here")


def test_kit_spec_ties_detection_to_the_object_detector_and_its_scores(tmp_path):
    spec = yaml.safe_load((KIT / "challenge.yml").read_text())
    for change, key in (({"workflow": "classifier"}, "prediction.type"),
                        ({"scores": ["ospa", {"name": "acc", "type": "accuracy"}]},
                         "scores[1].type")):
        (tmp_path / "challenge.yml").write_text(yaml.safe_dump({**spec, **change}))
        with pytest.raises(KitError, match=key.replace("[", "\\[").replace("]", "\\]")):
            load_kit(tmp_path)
    iris = yaml.safe_load((ROOT / "kits" / "iris" / "challenge.yml").read_text())
    (tmp_path / "challenge.yml").write_text(yaml.safe_dump({**iris, "scores": ["ospa"]}))
    with pytest.raises(KitError, match="a score type for multiclass"):
        load_kit(tmp_path)


# --------------------------------------------------------------- scores by hand
def _one(*rows, width=3):
    arr = np.empty(1, dtype=object)
    arr[0] = np.array(rows, dtype=float).reshape(-1, width)
    return arr


def test_scores_on_a_hand_made_image():
    truth = _one((10, 10, 4), (40, 40, 6))
    pred = _one((0.9, 10, 10, 4), (0.8, 40.5, 40, 6.6), (0.3, 20, 50, 3), (0.7, 55, 5, 2),
                width=4)
    assert detection.detection_precision(truth, pred) == pytest.approx(2 / 3)
    assert detection.detection_recall(truth, pred) == 1.0
    assert detection.mad_radius(truth, pred) == pytest.approx((0 + 0.6 / 6) / 2)
    assert detection.mad_center(truth, pred) == pytest.approx((0 + 0.5 / 6) / 2)
    assert detection.average_precision(truth, pred) == pytest.approx(1.0)
    assert detection.scp(truth, _one((0.9, 10, 10, 4), (0.8, 40, 40, 6), width=4),
                         shape=(64, 64)) == 0.0
    assert detection.ospa(truth, _one((0.9, 10, 10, 4), (0.8, 40, 40, 6), width=4)) == 0.0
    nothing = _one(width=4)
    assert detection.ospa(truth, nothing) == 1.0 and detection.average_precision(
        truth, nothing) == 0.0
    assert np.isnan(detection.detection_precision(truth, nothing))


def test_bagging_keeps_what_models_agree_on_weighted_by_confidence():
    a = np.array([[0.8, 10, 10, 4], [0.9, 30, 30, 5]])
    b = np.array([[0.4, 10.6, 10, 4.3]])
    combined = detection.combine([a, b])
    assert combined.shape == (1, 4)  # (30, 30) is found by one model of two: dropped
    assert combined[0, 0] == pytest.approx(1.2 / 2)
    assert combined[0, 1:] == pytest.approx([(0.8 * 10 + 0.4 * 10.6) / 1.2, 10,
                                             (0.8 * 4 + 0.4 * 4.3) / 1.2])
    assert detection.combine([a]) is a


# ----------------------------------------------------------------- end to end
def test_starting_kit_scores_in_seconds_with_every_score_and_bagging():
    kit = load_kit(KIT)
    run = score_submission(kit, STARTING_KIT)
    result = run.result
    assert result.status == "scored", result.reason
    names = ["ap", "precision", "recall", "ospa", "scp", "mad_center", "mad_radius"]
    assert result.score_names == names and len(result.folds) == 3
    assert set(result.bagged) == {"valid", "test"} and set(result.bagged["test"]) == set(names)
    assert result.bagged["test"]["ap"] > 0.6 and result.bagged["valid"]["recall"] > 0.5
    assert result.lower_is_better["ospa"] and not result.lower_is_better["ap"]
    assert run.predictions == []  # detections are not blended


def _submission(tmp_path: Path, body: str) -> Path:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "object_detector.py").write_text(textwrap.dedent(body))
    return sub


def test_too_many_detections_are_an_invalid_output_naming_file_and_image(tmp_path):
    sub = _submission(tmp_path, """
        class ObjectDetector:
            def fit(self, X, y):
                assert len(X) == len(y) and X.ndim == 3
                assert all(isinstance(t, tuple) and len(t) == 3 for c in y for t in c)
            def predict(self, X):
                return [[(0.9, 5.0, 5.0, 3.0)] * (101 if i == 1 else 1) for i in range(len(X))]
    """)
    result = score_submission(load_kit(KIT), sub, quick=True).result
    assert result.status == "invalid_output"
    assert "fold_0_train.npy: image 1 has 101 detections; expected at most 100" in result.reason


def test_a_malformed_prediction_is_the_submissions_error_at_predict(tmp_path):
    sub = _submission(tmp_path, """
        class ObjectDetector:
            def fit(self, X, y):
                pass
            def predict(self, X):
                return [[(0.9, 5.0, 5.0)] for _ in X]
    """)
    run = score_submission(load_kit(KIT), sub, quick=True)
    assert run.result.status == "error" and run.result.stage == "predict"
    assert "detections of image 0 have shape (1, 3)" in run.error["message"]


@pytest.mark.docker
def test_docker_scores_the_kit_like_the_local_backend(docker_engine):
    kit = load_kit(KIT)
    docker_run = score_submission(kit, STARTING_KIT, backend=DockerBackend(), quick=True).result
    local_run = score_submission(kit, STARTING_KIT, quick=True).result
    assert docker_run.status == "scored", docker_run.reason
    assert [f.scores for f in docker_run.folds] == [f.scores for f in local_run.folds]
    assert docker_run.bagged == local_run.bagged


# ------------------------------------------------------------ parity with rampwf
RAMP_SCRIPT = """
import json, sys
import numpy as np
import rampwf as rw
from rampwf.prediction_types.detection import Predictions
case = json.load(open(sys.argv[1]))

def objects(images):
    out = np.empty(len(images), dtype=object)
    for i, rows in enumerate(images):
        out[i] = [tuple(r) for r in rows]
    return out

truth = Predictions(y_true=objects(case["truth"]))
pred = Predictions(y_pred=objects(case["pred"]))
scores = {}
for cls, params in case["types"]:
    st = getattr(rw.score_types, cls)(**params)
    scores[cls + json.dumps(params, sort_keys=True)] = float(st.score_function(truth, pred))
folds = []
for idx, images in case["folds"]:
    p = Predictions(n_samples=len(case["truth"]))
    p.set_valid_in_train(Predictions(y_pred=objects(images)), idx)
    folds.append(p)
combined = Predictions.combine(folds)
bagged = [np.asarray(c, dtype=float).reshape(-1, 4).tolist() for c in combined.y_pred]
print(json.dumps({"scores": scores, "bagged": bagged}))
"""


def _random_case(seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    truth, pred = [], []
    for _ in range(n):
        k = int(rng.integers(0, 5))
        t = np.column_stack([rng.uniform(0, 64, k), rng.uniform(0, 64, k), rng.uniform(2, 9, k)])
        rows = [np.column_stack([rng.uniform(0, 1, k), t[:, :2] + rng.normal(0, 1.5, (k, 2)),
                                 t[:, 2] * rng.uniform(0.7, 1.3, k)])[rng.random(k) < 0.8]]
        m = int(rng.integers(0, 3))
        rows.append(np.column_stack([rng.uniform(0, 1, m), rng.uniform(-5, 70, (m, 2)),
                                     rng.uniform(1, 12, m)]))
        p = np.concatenate(rows)
        if len(p) and rng.random() < 0.2:
            p = np.concatenate([p, p[:1]])  # a duplicate detection
        if len(p) and rng.random() < 0.2:
            p[0, 0] = 0.0
        truth.append(t.round(3))
        pred.append(p.round(3))
    return truth, pred


def _as_objects(images, width):
    out = np.empty(len(images), dtype=object)
    for i, rows in enumerate(images):
        out[i] = np.asarray(rows, dtype=float).reshape(-1, width)
    return out


TYPES = [
    ("DetectionAveragePrecision", {}), ("DetectionAveragePrecision", {"iou_threshold": 0.3}),
    ("AverageDetectionPrecision", {}),
    ("DetectionPrecision", {}), ("DetectionPrecision", {"iou_threshold": 0.3,
                                                        "conf_threshold": 0.2}),
    ("DetectionRecall", {}), ("DetectionRecall", {"minipatch": [10, 50, 5, 60]}),
    ("DetectionPrecision", {"minipatch": [10, 50, 5, 60]}),
    ("MADCenter", {}), ("MADCenter", {"iou_threshold": 0.2, "minipatch": [0, 40, 0, 64]}),
    ("MADRadius", {}), ("MADRadius", {"conf_threshold": 0.1}),
    ("OSPA", {}), ("OSPA", {"minipatch": [10, 50, 5, 60]}), ("OSPA", {"conf_threshold": 0.0}),
    ("SCP", {"shape": [64, 64]}), ("SCP", {"shape": [64, 64], "minipatch": [10, 50, 5, 60]}),
    ("SCP", {"shape": [48, 70], "conf_threshold": 0.3}),
]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_detection_score_and_the_bagging_equal_rampwf(ramp_python, tmp_path, seed):
    truth, pred = _random_case(seed)
    others = [_random_case(seed + 100 + k)[1] for k in range(2)]
    # three fold models: two predict every image (bagged test), one the first half
    folds = [(list(range(len(pred))), pred), (list(range(len(pred))), others[0]),
             (list(range(len(pred) // 2)), others[1][:len(pred) // 2])]
    file = tmp_path / "case.json"
    file.write_text(json.dumps({
        "truth": [t.tolist() for t in truth], "pred": [p.tolist() for p in pred],
        "types": TYPES, "folds": [(i, [p.tolist() for p in ps]) for i, ps in folds]}))
    done = subprocess.run([str(ramp_python), "-c", RAMP_SCRIPT, str(file)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    y_true, y_pred = _as_objects(truth, 3), _as_objects(pred, 4)
    for cls, params in TYPES:
        stype, _, allowed = RAMP_CLASSES[cls]
        assert set(params) <= set(allowed)
        ours = BUILTIN[stype].fn(y_true, y_pred, **params)
        expected = theirs["scores"][cls + json.dumps(params, sort_keys=True)]
        assert ours == pytest.approx(expected, abs=1e-9, rel=0, nan_ok=True), (cls, params)
    seen, bagged = detection.bag([(np.asarray(i), _as_objects(ps, 4)) for i, ps in folds],
                                 len(pred))
    assert seen.all()
    for ours, expected in zip(bagged, theirs["bagged"], strict=True):
        assert ours.shape == (len(expected), 4)
        assert ours == pytest.approx(np.asarray(expected).reshape(-1, 4), abs=1e-9, rel=0)


RAMP_PROBLEM = '''
import numpy as np
import pandas as pd
import rampwf as rw
from sklearn.model_selection import KFold

problem_title = "Mars craters"
Predictions = rw.prediction_types.make_detection()
workflow = rw.workflows.ObjectDetector()
score_types = [
    rw.score_types.DetectionAveragePrecision(name="ap"),
    rw.score_types.DetectionPrecision(name="precision"),
    rw.score_types.DetectionRecall(name="recall"),
    rw.score_types.OSPA(name="ospa"),
    rw.score_types.SCP(shape=(64, 64), name="scp"),
    rw.score_types.MADCenter(name="mad_center"),
    rw.score_types.MADRadius(name="mad_radius"),
]


def get_cv(X, y):
    return KFold(n_splits=3, shuffle=True, random_state=42).split(X, y)


def _read(path, split):
    images = np.load(f"{path}/data/{split}.npy", allow_pickle=False)
    labels = pd.read_csv(f"{path}/data/{split}.csv")
    y = np.empty(len(images), dtype=object)
    for i in range(len(images)):
        y[i] = []
    for row in labels.itertuples(index=False):
        y[int(row.image_index)].append((float(row.x), float(row.y), float(row.radius)))
    return images, y


def get_train_data(path="."):
    return _read(path, "train")


def get_test_data(path="."):
    return _read(path, "test")
'''


@pytest.mark.slow
def test_ramp_test_and_gitramp_test_give_the_same_scores_on_the_kit(ramp_python, tmp_path):
    ramp_kit = tmp_path / "ramp"
    (ramp_kit / "submissions").mkdir(parents=True)
    shutil.copytree(KIT / "data", ramp_kit / "data")
    shutil.copytree(STARTING_KIT, ramp_kit / "submissions" / "starting_kit")
    (ramp_kit / "problem.py").write_text(RAMP_PROBLEM)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([str(ROOT / ".venv-bench" / "bin" / "ramp-test"), "--submission",
                           "starting_kit", "--save-output"], cwd=ramp_kit, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = ramp_kit / "submissions" / "starting_kit" / "training_output"
    theirs_folds = [pd.read_csv(out / f"fold_{i}" / "scores.csv", index_col=0)
                    for i in range(3)]
    theirs_bagged = pd.read_csv(out / "bagged_scores.csv")
    done = subprocess.run([str(Path(sys.executable).parent / "gitramp"), "test", "--kit",
                           str(KIT), "--submission", "starting_kit", "--save-output",
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ours = yaml.safe_load((tmp_path / "out" / "starting_kit" / "result.yml").read_text())
    columns = [c for c in theirs_folds[0].columns if c != "time"]
    assert columns == ours["score_names"]
    for fold, theirs in zip(ours["folds"], theirs_folds, strict=True):
        for step in ("train", "valid", "test"):
            for column in columns:
                assert fold["scores"][step][column] == pytest.approx(
                    theirs.loc[step, column], abs=1e-9, rel=0, nan_ok=True), (step, column)
    for step in ("valid", "test"):
        rows = theirs_bagged[theirs_bagged["step"] == step]
        last = rows[rows["n_bag"] == rows["n_bag"].max()].iloc[0]
        for column in columns:
            assert ours["bagged"][step][column] == pytest.approx(
                last[column], abs=1e-9, rel=0, nan_ok=True), ("bagged", step, column)


def test_import_ramp_maps_the_object_detector_and_its_scores(tmp_path):
    from challenge.ramp_import import import_ramp

    ramp_kit = tmp_path / "ramp"
    (ramp_kit / "submissions").mkdir(parents=True)
    shutil.copytree(KIT / "data", ramp_kit / "data")
    shutil.copytree(STARTING_KIT, ramp_kit / "submissions" / "starting_kit")
    (ramp_kit / "problem.py").write_text(RAMP_PROBLEM.replace(
        'DetectionRecall(name="recall")', "DetectionRecall(iou_threshold=0.3)"))
    done = import_ramp(ramp_kit, tmp_path / "kit")
    assert done.spec["workflow"] == "object_detector"
    assert done.spec["prediction"] == {"type": "detection"}
    by_name = {s["name"]: s for s in done.spec["scores"]}
    assert by_name["scp"]["params"] == {"shape": [64, 64]}
    assert by_name["recall_IOU_0_3"]["type"] == "detection_recall"
    assert by_name["recall_IOU_0_3"]["params"] == {"iou_threshold": 0.3}
    kit = load_kit(done.out)
    result = score_submission(kit, done.out / "submissions" / "starting_kit", quick=True).result
    assert result.status == "scored", result.reason
