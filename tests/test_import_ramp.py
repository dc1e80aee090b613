"""`gitramp import-ramp` on the RAMP-format fixture kits of tests/ramp_kits/ (no rampwf
needed): what it writes, what it refuses and why, and the scorer rules it relies on."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml

from challenge.kit import load_kit
from challenge.ramp_import import RampImportError, import_ramp
from gitramp.main import main
from scorer.cv import make_folds
from scorer.data import load_data
from scorer.errors import KitError
from tests.conftest import ROOT

KITS = ROOT / "tests" / "ramp_kits"


def _copy(tmp_path, kit):
    dst = tmp_path / f"ramp_{kit}"
    shutil.copytree(KITS / kit, dst)
    return dst


def test_many_classes_becomes_yaml_with_int_labels_cv_and_dropped_id(tmp_path):
    src = _copy(tmp_path, "many_classes")
    junk = src / "submissions" / "starting_kit" / "training_output"
    junk.mkdir()
    (junk / "scores.csv").write_text("x\n")
    (src / ".git").mkdir()
    (src / "kit.ipynb").write_text(json.dumps({"cells": [
        {"cell_type": "code", "source": ["1"], "outputs": [{"text": "big"}],
         "execution_count": 3}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    done = import_ramp(src, tmp_path / "kit")
    spec = yaml.safe_load((done.out / "challenge.yml").read_text())
    assert spec["prediction"] == {"type": "multiclass", "labels": list(range(12))}
    assert spec["cv"] == {"type": "StratifiedShuffleSplit", "n_splits": 4, "test_size": 0.25,
                          "random_state": 3}
    assert spec["data"]["drop"] == ["id"] and spec["target"] == "digit"
    assert [s["type"] for s in spec["scores"]][:2] == ["accuracy", "negative_log_likelihood"]
    assert spec["scores"][3]["params"] == {"adjusted": False}
    assert "requirements" not in spec  # rampwf, jupyter, matplotlib, numpy, sklearn: left out
    assert not (done.out / "problem.py").exists()  # everything went into YAML
    assert not (done.out / ".git").exists()
    assert not (done.out / "submissions" / "starting_kit" / "training_output").exists()
    nb = json.loads((done.out / "kit.ipynb").read_text())
    assert nb["cells"][0]["outputs"] == [] and nb["cells"][0]["execution_count"] is None
    readme = (done.out / "README.md").read_text()
    assert "gitramp test --kit ." in readme and "ramp-test --submission starting_kit`" not in \
        readme.split("## The original README")[1]

    kit = load_kit(done.out)
    ds = load_data(kit)
    assert ds.y_train.dtype.kind == "i"  # y keeps the data's dtype, as RAMP passes it
    assert "id" not in ds.X_train.columns
    folds = make_folds(kit, ds.X_train, ds.y_train)
    from sklearn.model_selection import StratifiedShuffleSplit

    ramp = list(StratifiedShuffleSplit(n_splits=4, test_size=0.25, random_state=3)
                .split(ds.X_train.to_numpy(), ds.y_train))
    for (a, b), (c, d) in zip(folds, ramp, strict=True):  # int labels: RAMP's folds
        assert np.array_equal(a, c) and np.array_equal(b, d)


def test_hooks_and_custom_score_class_stay_in_problem_py(tmp_path):
    done = import_ramp(KITS / "binary_words", tmp_path / "kit")
    text = (done.out / "problem.py").read_text()
    assert "rampwf" not in text and "rw." not in text
    assert "class MeanTrueProba(RampScoreBase)" in text
    assert "def get_cv" in text and "def get_train_data" not in text
    assert "cv" not in done.spec  # the hook decides
    assert done.spec["prediction"] == {"type": "binary", "labels": ["no", "yes"]}
    kit = load_kit(done.out)
    assert kit.scores[-1].type == "mean_true_proba"

    regression = import_ramp(KITS / "regression", tmp_path / "reg")
    assert regression.hooks == ["get_test_data", "get_train_data"]
    assert regression.spec["cv"]["type"] == "ShuffleSplit"


def test_external_data_is_an_extra_file_of_the_estimator_workflow(tmp_path):
    done = import_ramp(KITS / "estimator_external", tmp_path / "kit")
    assert done.spec["workflow"] == "estimator"
    assert done.spec["extra_files"] == ["external_data.csv"]


def test_a_cv_key_and_get_cv_together_are_an_error(tmp_path):
    done = import_ramp(KITS / "binary_words", tmp_path / "kit")
    spec_file = done.out / "challenge.yml"
    spec = yaml.safe_load(spec_file.read_text())
    spec["cv"] = {"type": "KFold", "n_splits": 2}
    spec_file.write_text(yaml.safe_dump(spec))
    kit = load_kit(done.out)
    ds = load_data(kit)
    with pytest.raises(KitError, match="key 'cv' and get_cv"):
        make_folds(kit, ds.X_train, ds.y_train)


@pytest.mark.parametrize(("edit", "message"), [
    (("rw.workflows.Classifier()", "rw.workflows.GridFeatureExtractorClassifier()"),
     "workflow GridFeatureExtractorClassifier has no gitramp counterpart"),
    # the image workflow exists, with another data layout: the steps are named
    (("rw.workflows.Classifier()", "rw.workflows.SimplifiedImageClassifier(n_classes=12)"),
     r"SimplifiedImageClassifier: .*convert by hand.*data/images"),
    # a prediction type of later ramp-workflow versions
    (("rw.prediction_types.make_multiclass(\n    label_names=_prediction_label_names)",
      "rw.prediction_types.make_generative_regression(max_dists=10, label_names=['y'])"),
     "prediction type make_generative_regression has no gitramp counterpart"),
    (("rw.score_types.Accuracy(name='acc', precision=3)",
      "rw.score_types.ClusteringEfficiency()"),
     "score type ClusteringEfficiency does not apply"),
    (("def _read_data(path, f_name):", "def _read_data(path, f_name):\n    rw.utils.x()"),
     "uses rampwf"),
])
def test_what_cannot_be_converted_is_refused_with_the_reason(tmp_path, edit, message):
    src = _copy(tmp_path, "many_classes")
    problem = src / "problem.py"
    old, new = edit
    assert old in problem.read_text()
    problem.write_text(problem.read_text().replace(old, new))
    if "rw.utils" in new:  # make the loaders a hook so the helper is kept
        problem.write_text(problem.read_text().replace("'id'], axis=1)", "'id'], axis=1).copy()"
                                                       ).replace("X_df.values", "X_df.abs()"))
    with pytest.raises(RampImportError, match=message):
        import_ramp(src, tmp_path / "kit")


def test_the_command(tmp_path, capsys):
    assert main(["import-ramp", str(KITS / "fe_regression"), "--out", str(tmp_path / "k")]) == 0
    out = capsys.readouterr().out
    assert "feature_extractor_regressor" in out and "next: gitramp test" in out
    assert main(["import-ramp", str(KITS / "fe_regression"), "--out", str(tmp_path / "k")]) == 2
    assert "not empty" in capsys.readouterr().err


# ------------------------------------------------- time series and combined predictions
def test_el_nino_shape_becomes_the_time_series_workflow_and_cv(tmp_path):
    src = _copy(tmp_path, "series")
    problem = src / "problem.py"
    problem.write_text(problem.read_text().replace("_n_burn_in = 0", "_n_burn_in = 12"))
    done = import_ramp(src, tmp_path / "kit")
    assert done.spec["workflow"] == "ts_feature_extractor_regressor"
    assert done.spec["cv"] == {"type": "time_series", "n_splits": 3, "burn_in": 12,
                               "block_fraction": 0.5, "period": 6, "to_end": True}
    assert done.spec["data"] == {"train": "data/train.csv", "test": "data/test.csv"}
    assert not (done.out / "problem.py").exists()
    assert any("pandas DataFrame" in n for n in done.notes)
    kit = load_kit(done.out)
    ds = load_data(kit)
    folds = make_folds(kit, ds.X_train, ds.y_train)
    # RAMP's layout on the 138 rows after the burn-in: blocks of int(138*0.5/3/6)*6 = 18
    # rows, each fold validating from its cut to the end of the series
    assert [(int(tr[0]), int(tr[-1]) + 1, int(va[0]), int(va[-1]) + 1) for tr, va in folds] \
        == [(12, 96, 96, 150), (12, 114, 114, 150), (12, 132, 132, 150)]


def test_a_time_series_cv_that_is_not_constant_stays_a_hook_without_rampwf(tmp_path):
    src = _copy(tmp_path, "series")
    problem = src / "problem.py"
    problem.write_text(problem.read_text().replace("n_cv=_n_cv,", "n_cv=min(_n_cv, len(y)),"))
    done = import_ramp(src, tmp_path / "kit")
    assert "cv" not in done.spec and done.hooks == ["get_cv"]
    text = (done.out / "problem.py").read_text()
    assert "rampwf" not in text and "_RampTimeSeries(" in text
    kit = load_kit(done.out)
    ds = load_data(kit)
    hooked = make_folds(kit, ds.X_train, ds.y_train)
    spec = yaml.safe_load((done.out / "challenge.yml").read_text())
    spec["cv"] = import_ramp(KITS / "series", tmp_path / "constant").spec["cv"]
    (done.out / "problem.py").unlink()
    (done.out / "challenge.yml").write_text(yaml.safe_dump(spec))
    kit = load_kit(done.out)
    assert all(np.array_equal(a, c) and np.array_equal(b, d) for (a, b), (c, d) in
               zip(hooked, make_folds(kit, ds.X_train, ds.y_train), strict=True))


def test_drug_spectra_shape_becomes_combined_prediction_and_score(tmp_path):
    done = import_ramp(KITS / "spectra", tmp_path / "kit")
    assert done.spec["workflow"] == "drug_spectra"
    assert done.spec["prediction"] == {"type": "combined", "labels": ["A", "B", "Q", "R"],
                                       "quantity": "concentration"}
    assert done.spec["scores"] == [
        {"name": "combined", "type": "combined", "precision": 3,
         "params": {"scores": ["err", "mare"], "weights": [2 / 3, 1 / 3]}},
        {"name": "err", "type": "classification_error", "precision": 3},
        {"name": "mare", "type": "mare", "precision": 3}]
    assert "data" in done.spec and "drop" not in done.spec["data"]
    assert not (done.out / "problem.py").exists()
    ds = load_data(load_kit(done.out))
    assert ds.y_train.shape == (120, 2) and "concentration" not in ds.X_train.columns


def test_a_combined_score_alone_reports_its_parts_too(tmp_path):
    src = _copy(tmp_path, "spectra")
    problem = src / "problem.py"
    text = problem.read_text()
    start = text.index("    rw.score_types.MakeCombined(score_type=score_type_1")
    end = text.index("]\n\n\ndef get_cv")
    problem.write_text(text[:start] + text[end:])
    done = import_ramp(src, tmp_path / "kit")
    assert [s["name"] for s in done.spec["scores"]] == ["combined", "err", "mare"]
    assert any("part of a combined score" in n for n in done.notes)


@pytest.mark.parametrize(("params", "words"), [
    ({"test_size": 10, "block_fraction": 0.5}, "not both"),
    ({"block_fraction": 0}, "cv.block_fraction"),
    ({"block_fraction": 0.5, "period": 0}, "cv.period"),
    ({"to_end": "yes"}, "cv.to_end"),
])
def test_ramp_time_series_keys_are_checked(params, words):
    from scorer.cv_time import time_series_folds

    with pytest.raises(KitError, match=words):
        time_series_folds(100, {"n_splits": 2, **params}, "challenge.yml")


def test_a_combined_kit_with_its_own_loaders_names_the_quantity_column(tmp_path):
    src = _copy(tmp_path, "spectra")
    problem = src / "problem.py"
    text = problem.read_text().replace(
        "    label_names=[_target_column_name_reg])", ")").replace(
        "f_name))\n", "f_name)).fillna(0)\n")
    problem.write_text(text)
    done = import_ramp(src, tmp_path / "kit")
    assert done.spec["prediction"]["quantity"] == "concentration"
    assert "get_train_data" in done.hooks and "data" not in done.spec
    ds = load_data(load_kit(done.out))
    assert ds.y_train.shape == (120, 2) and list(ds.X_train.columns)[:2] == ["s0", "s1"]


# ------------------------------------------------- shapes met in public RAMP kits
def test_gzipped_tables_and_ignored_columns_become_yaml(tmp_path):
    done = import_ramp(KITS / "compressed", tmp_path / "kit")
    assert done.spec["data"] == {"train": "data/train.csv.gz", "test": "data/test.csv.gz",
                                 "drop": ["row_id", "batch"]}
    assert done.spec["target"] == "label" and not (done.out / "problem.py").exists()
    ds = load_data(load_kit(done.out))
    assert list(ds.X_train.columns) == ["colour", "size", "weight"]
    assert ds.y_train.dtype.kind == "i" and len(ds.y_train) == 240


@pytest.mark.parametrize("reading", [
    "compression='gzip', sep=';'",  # a separator YAML would not repeat
    "compression='bz2'",  # not what the suffix says
    "compression='gzip', index_col=0",
])
def test_a_read_csv_with_its_own_arguments_stays_a_hook(tmp_path, reading):
    src = _copy(tmp_path, "compressed")
    problem = src / "problem.py"
    problem.write_text(problem.read_text().replace("compression='gzip'", reading))
    done = import_ramp(src, tmp_path / "kit")
    assert "data" not in done.spec
    assert done.hooks == ["get_test_data", "get_train_data"]


def test_loaders_reading_ramp_test_mode_see_it_in_a_quick_test(tmp_path, capsys):
    # A public RAMP kit often ships only the quick test's data: its loaders read
    # data/ when RAMP_TEST_MODE is set and the private copy otherwise.
    src = _copy(tmp_path, "compressed")
    problem = src / "problem.py"
    problem.write_text(problem.read_text().replace(
        "    data = pd.read_csv(os.path.join(path, 'data', f_name), compression='gzip')",
        "    folder = 'data' if os.getenv('RAMP_TEST_MODE', 0) else 'private'\n"
        "    data = pd.read_csv(os.path.join(path, folder, f_name), compression='gzip')"))
    done = import_ramp(src, tmp_path / "kit")
    assert "get_train_data" in done.hooks
    assert any("RAMP_TEST_MODE" in n and "--quick-test sets it" in n for n in done.notes)
    kit = load_kit(done.out)
    assert len(load_data(kit, quick=True).y_train) == 240
    assert "RAMP_TEST_MODE" not in __import__("os").environ
    with pytest.raises(FileNotFoundError, match="private"):
        load_data(kit)
    assert main(["test", "--kit", str(done.out), "--submission", "starting_kit",
                 "--quick-test"]) == 0
    assert "auc" in capsys.readouterr().out


def test_a_regression_naming_its_one_target_is_a_regression(tmp_path):
    src = _copy(tmp_path, "regression")
    problem = src / "problem.py"
    text = problem.read_text()
    assert "make_regression()" in text
    problem.write_text(text.replace("make_regression()", "make_regression(label_names=['y'])"))
    assert import_ramp(src, tmp_path / "kit").spec["prediction"] == {"type": "regression"}
    problem.write_text(text.replace("make_regression()",
                                    "make_regression(label_names=['y', 'z'])"))
    with pytest.raises(RampImportError, match="multi-target"):
        import_ramp(src, tmp_path / "kit2")


def test_float_label_names_over_integer_targets_score_as_the_integers(tmp_path, capsys):
    # label_names=[1.0, 2.0, ...] while the loaders give integers: the model's classes_
    # are the integers, matched to the kit's labels by value as the target is
    src = _copy(tmp_path, "estimator")
    problem = src / "problem.py"
    text = problem.read_text()
    assert "_prediction_label_names = [1, 2, 3]" in text
    problem.write_text(text.replace("[1, 2, 3]", "[1.0, 2.0, 3.0]"))
    results = []
    for kit, name in ((KITS / "estimator", "ints"), (src, "floats")):
        done = import_ramp(kit, tmp_path / name)
        assert main(["test", "--kit", str(done.out), "--submission", "starting_kit",
                     "--save-output", str(tmp_path / f"out_{name}")]) == 0
        results.append(yaml.safe_load(
            (tmp_path / f"out_{name}" / "starting_kit" / "result.yml").read_text()))
    assert done.spec["prediction"]["labels"] == [1.0, 2.0, 3.0]
    ints, floats = results
    assert floats["bagged"] == ints["bagged"]
    assert [f["scores"] for f in floats["folds"]] == [f["scores"] for f in ints["folds"]]
