"""Clustering (RAMP's HEP tracking shape): the clusterer workflow, cluster ids read back
strictly, the truth checked, the example kit scored in seconds, import-ramp, and
ramp-test against gitramp test on a RAMP-format fixture (tests/ramp_kits/clustering):
every fold score and the bagged scores equal to 1e-9."""

from __future__ import annotations

import io
import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from challenge.kit import load_kit
from challenge.ramp_import import import_ramp
from scorer import clustering
from scorer.data import DataError, load_data, subsample
from scorer.errors import KitError
from scorer.outputs import InvalidOutput
from scorer.scoring import score_submission
from scorer.workflows import WorkflowTask
from scorer.workflows import clusterer as wf
from tests.conftest import ROOT
from tests.test_ramp_parity import _gitramp_scores, _ramp_scores, ramp_python  # noqa: F401

KIT = ROOT / "kits" / "hep_tracking"
STARTING_KIT = KIT / "submissions" / "starting_kit"
RAMP_KIT = ROOT / "tests" / "ramp_kits" / "clustering"


@pytest.fixture(scope="module")
def kit():
    if not (KIT / "data" / "train.csv").is_file():
        pytest.fail("kits/hep_tracking/data is missing: run `make data` "
                    "(python -m kits.make_data)")
    return load_kit(KIT)


# ------------------------------------------------------------------ ids as data
def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _files(train, test) -> dict[str, bytes]:
    return {"fold_0_train.npy": _npy(train), "fold_0_test.npy": _npy(test),
            "fold_0.json": json.dumps({"fit_time": 0.1, "predict_time": 0.1}).encode()}


def test_cluster_ids_read_back_as_floats_for_bagging():
    [out] = clustering.parse_outputs(_files(np.array([0, 3, -1]), np.array([7, 7], dtype=np.uint8)),
                                     1, 3, 2)
    assert out.train.tolist() == [0.0, 3.0, -1.0] and out.test.dtype == np.float64


@pytest.mark.parametrize(("train", "expected"), [
    (np.array([0.0, 1.0, 2.0]), "fold_0_train.npy: cluster ids of dtype float64; expected an "
                                "integer column, one cluster id per point"),
    (np.array([[0], [1], [2]]), "fold_0_train.npy: cluster ids of shape (3, 1); expected (3,)"),
    (np.array([0, 1]), "cluster ids of shape (2,); expected (3,): one cluster id per point"),
    (np.array([0, 2**40, 1]), "fold_0_train.npy: row 1 holds 1099511627776; expected a "
                              "cluster id within ±2147483647"),
    (np.array(["a", "b", "c"]), "cluster ids of dtype <U1"),
])
def test_bad_ids_name_the_file_the_row_and_what_was_expected(train, expected):
    with pytest.raises(InvalidOutput) as e:
        clustering.parse_outputs(_files(train, np.array([0, 0])), 1, 3, 2)
    assert expected in str(e.value)


def test_pickled_ids_and_missing_or_extra_files_are_refused():
    ids = np.array([0, 1, None], dtype=object)
    with pytest.raises(InvalidOutput, match="not a plain numeric .npy array.*pickled"):
        clustering.parse_outputs(_files(ids, np.array([0, 0])), 1, 3, 2)
    files = _files(np.array([0, 1, 2]), np.array([0, 0]))
    del files["fold_0_test.npy"]
    with pytest.raises(InvalidOutput, match="fold_0_test.npy is missing"):
        clustering.parse_outputs(files, 1, 3, 2)
    with pytest.raises(InvalidOutput, match="unexpected output files"):
        clustering.parse_outputs({**files, "x.txt": b""}, 1, 3, 2)


def test_huge_ids_cost_no_memory_and_bagged_ids_count_as_rampwf_counts_them():
    truth = np.array([[0, 0], [0, 0], [0, 1], [0, 1]])
    assert clustering.score(truth, np.array([2**31 - 1, 2**31 - 1, 5, 5])) == 1.0
    # two fold models disagreeing on point 1: its mean id 2.5 is found by neither
    assert clustering.score(truth, np.mean([[2, 2, 5, 5], [2, 3, 5, 5]], axis=0)) == 0.75


# ------------------------------------------------------------------ the workflow
class _Spy:
    def fit(self, X, y):
        self.fitted = (type(X), X.shape, y.dtype.kind, y.shape)

    def predict_single_event(self, X_event):
        return (X_event[:, 0] > 1).astype(int) + int(X_event.shape[1] == 2)


def test_the_workflow_cuts_events_and_drops_their_column():
    X = pd.DataFrame({"event_id": [4, 2, 4, 2, 4], "a": [0, 5, 2, 1, 3], "b": 0.5})
    model = _Spy()
    model.fit(wf.as_array(X), np.array([[4, 0], [2, 1], [4, 0], [2, 1], [4, 0]]))
    assert model.fitted == (np.ndarray, (5, 3), "i", (5, 2))
    ids = wf.predict(model, X, WorkflowTask(()))
    assert ids.dtype == np.int64 and ids.tolist() == [1, 2, 2, 1, 2]


@pytest.mark.parametrize(("returned", "words"), [
    ([0, 1], "returned shape (2,) for 3 points; expected (3,)"),
    ([0, 1.5, 2], "point 1 has cluster id 1.5; expected an integer"),
    (["a", "b", "c"], "values of dtype <U1"),
    ([0, np.nan, 1], "point 1 has cluster id nan"),
])
def test_what_predict_single_event_returns_is_checked(returned, words):
    with pytest.raises(ValueError) as e:
        wf.cluster_ids(returned, 3, 7.0)
    assert words in str(e.value) and "(event 7)" in str(e.value)
    assert wf.cluster_ids([0.0, 2.0, -1.0], 3, 7).tolist() == [0, 2, -1]


# ------------------------------------------------------------------ data and spec
def test_the_truth_is_event_then_cluster_and_a_quick_test_keeps_events_whole(kit):
    ds = load_data(kit)
    assert ds.y_train.shape == (len(ds.X_train), 2) and ds.y_train.dtype == np.int64
    assert np.array_equal(ds.y_train[:, 0], ds.X_train["event_id"].to_numpy())
    assert list(ds.X_train.columns) == ["event_id", "layer", "x", "y"]
    quick = subsample(ds, kit)
    events = set(quick.y_train[:, 0].tolist())
    assert len(quick.y_train) <= 200 and len(events) > 1
    for e in events:  # every hit of each event kept
        assert np.count_nonzero(quick.y_train[:, 0] == e) == np.count_nonzero(
            ds.y_train[:, 0] == e)


def test_bad_truth_names_the_file_and_row(tmp_path, kit):
    shutil.copytree(KIT, tmp_path / "k", ignore=shutil.ignore_patterns("hidden"))
    train = tmp_path / "k" / "data" / "train.csv"
    df = pd.read_csv(train)
    df["cluster_id"] = df["cluster_id"].astype(float)
    df.loc[3, "cluster_id"] = 1.5
    df.to_csv(train, index=False)
    with pytest.raises(DataError, match=r"train.csv: row 3 has cluster id 1.5; expected an "
                                        "integer"):
        load_data(load_kit(tmp_path / "k"))
    with pytest.raises(ValueError, match="differ from the first column of the features"):
        clustering.truth(pd.DataFrame({"e": [1, 2], "v": [0, 0]}), np.array([[1, 0], [1, 0]]),
                         "here")


def test_kit_spec_ties_clustering_to_the_clusterer_and_its_score(tmp_path):
    spec = yaml.safe_load((KIT / "challenge.yml").read_text())
    for change, key in (({"workflow": "classifier"}, "prediction.type"),
                        ({"scores": ["clustering_efficiency", "accuracy"]}, "scores[1].type")):
        (tmp_path / "challenge.yml").write_text(yaml.safe_dump({**spec, **change}))
        with pytest.raises(KitError, match=key.replace("[", "\\[").replace("]", "\\]")):
            load_kit(tmp_path)
    iris = yaml.safe_load((ROOT / "kits" / "iris" / "challenge.yml").read_text())
    (tmp_path / "challenge.yml").write_text(yaml.safe_dump(
        {**iris, "scores": ["clustering_efficiency"]}))
    with pytest.raises(KitError, match="a score type for multiclass"):
        load_kit(tmp_path)


# ------------------------------------------------------------------ end to end
def test_starting_kit_scores_in_seconds_with_bagging(kit):
    run = score_submission(kit, STARTING_KIT)
    result = run.result
    assert result.status == "scored", result.reason
    assert result.score_names == ["efficiency"] and len(result.folds) == 3
    assert 0.85 < result.bagged["test"]["efficiency"] <= 1
    assert 0.85 < result.bagged["valid"]["efficiency"] <= 1
    assert not result.lower_is_better["efficiency"]
    assert run.predictions == []  # cluster ids are not blended


def test_a_non_integer_id_is_the_submissions_error_at_predict(kit, tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "clusterer.py").write_text(textwrap.dedent("""
        import numpy as np

        class Clusterer:
            def fit(self, X, y):
                assert X.ndim == 2 and y.shape == (len(X), 2)
            def predict_single_event(self, X_event):
                return np.full(len(X_event), 0.5)
    """))
    run = score_submission(kit, sub, quick=True)
    assert run.result.status == "error" and run.result.stage == "predict"
    assert "cluster id 0.5; expected an integer" in run.error["message"]


def test_import_ramp_maps_the_clusterer_kit(tmp_path):
    done = import_ramp(RAMP_KIT, tmp_path / "kit")
    assert done.spec["workflow"] == "clusterer"
    assert done.spec["prediction"] == {"type": "clustering"}
    assert done.spec["scores"] == [{"name": "efficiency", "type": "clustering_efficiency",
                                    "precision": 3}]
    assert done.spec["target"] == "cluster_id" and done.hooks == ["get_cv"]
    result = score_submission(load_kit(done.out), done.out / "submissions" / "starting_kit",
                              quick=True).result
    assert result.status == "scored", result.reason


# ------------------------------------------------------------ parity with ramp-test
@pytest.mark.slow
def test_ramp_test_and_gitramp_test_give_the_same_scores(ramp_python, tmp_path):  # noqa: F811
    """The fixture's clusterer learns its gap from the training tracks, so the three
    fold models differ and bagged test averages different ids."""
    ramp_kit = tmp_path / "ramp"
    shutil.copytree(RAMP_KIT, ramp_kit)
    imported = import_ramp(RAMP_KIT, tmp_path / "gitramp")
    theirs_folds, theirs_bagged = _ramp_scores(ramp_kit, "starting_kit")
    ours = _gitramp_scores(imported.out, "starting_kit", tmp_path / "out")
    assert [c for c in theirs_folds[0].columns if c != "time"] == ["efficiency"]
    assert len(ours["folds"]) == len(theirs_folds) == 3
    for fold, theirs in zip(ours["folds"], theirs_folds, strict=True):
        for step in ("train", "valid", "test"):
            assert fold["scores"][step]["efficiency"] == pytest.approx(
                theirs.loc[step, "efficiency"], abs=1e-9, rel=0), step
    tests = {round(f["scores"]["test"]["efficiency"], 12) for f in ours["folds"]}
    assert len(tests) > 1  # the fold models differ: bagging is exercised
    for step in ("valid", "test"):
        rows = theirs_bagged[theirs_bagged["step"] == step]
        last = rows[rows["n_bag"] == rows["n_bag"].max()].iloc[0]
        assert ours["bagged"][step]["efficiency"] == pytest.approx(
            last["efficiency"], abs=1e-9, rel=0), ("bagged", step)


def test_the_fixture_is_gitramps_generator(tmp_path):
    from kits.hep_tracking_data import events

    for name, n, seed in (("train", 30, 5), ("test", 15, 6)):
        written = pd.read_csv(RAMP_KIT / "data" / f"{name}.csv")
        again = pd.read_csv(io.StringIO(events(n, seed=seed).to_csv(index=False)))
        pd.testing.assert_frame_equal(written, again)
    assert Path(RAMP_KIT / "problem.py").read_text().count("make_clustering") == 1
