"""`gitramp test` on failing submissions: exit 1, naming the stage, the file and the line."""

from __future__ import annotations

import shutil

import pytest

from gitramp.main import main
from tests.conftest import ROOT

IRIS = ROOT / "kits" / "iris"

BROKEN = {
    "import_error": ("import sklearn.not_a_module\n", "load", "classifier.py, line 1"),
    "syntax_error": ("class Classifier(:\n    pass\n", "load", "classifier.py, line 1"),
    "raises_in_fit": (
        "class Classifier:\n"
        "    def fit(self, X, y):\n"
        "        raise ValueError('cannot learn from ' + str(len(X)) + ' rows')\n"
        "    def predict_proba(self, X):\n"
        "        return None\n", "fit", "classifier.py, line 3"),
    "wrong_shape": (
        "import numpy as np\n"
        "class Classifier:\n"
        "    def fit(self, X, y):\n"
        "        pass\n"
        "    def predict_proba(self, X):\n"
        "        return np.full((len(X), 2), 0.5)\n", "validate", "fold_0_train.npy"),
}


@pytest.fixture(scope="module")
def kit_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("kits") / "iris"
    shutil.copytree(IRIS, d, ignore=shutil.ignore_patterns("hidden"))
    for name, (code, _, _) in BROKEN.items():
        (d / "submissions" / name).mkdir()
        (d / "submissions" / name / "classifier.py").write_text(code)
    return d


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_failing_submission_exits_1_naming_stage_and_file(kit_dir, name, capsys):
    _, stage, where = BROKEN[name]
    code = main(["test", "--kit", str(kit_dir), "--submission", name])
    out = capsys.readouterr().out
    assert code == 1
    assert f"stage: {stage}" in out
    assert where in " ".join(out.split())


def test_the_traceback_of_a_fit_error_is_shown(kit_dir, capsys):
    main(["test", "--kit", str(kit_dir), "--submission", "raises_in_fit"])
    out = capsys.readouterr().out
    assert "Traceback" in out
    assert "ValueError: cannot learn from" in out


def test_all_runs_every_submission_and_lists_each_status(kit_dir, capsys):
    code = main(["test", "--kit", str(kit_dir), "--submission", "ALL", "--jobs", "2"])
    out = capsys.readouterr().out
    assert code == 1
    table = out[out.rindex("submissions"):]
    for name in ("starting_kit", "random_forest", "sepal_width_only"):
        row = next(line for line in table.splitlines() if name[:14] in line)
        assert "scored" in row
    for name in BROKEN:
        row = next(line for line in table.splitlines() if name[:14] in line)
        assert ("error" in row) or ("invalid_output" in row)


def test_unknown_submission_lists_the_available_ones(kit_dir, capsys):
    assert main(["test", "--kit", str(kit_dir), "--submission", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no such submission" in err and "starting_kit" in err


def test_save_output_writes_predictions_and_the_result(kit_dir, tmp_path, capsys):
    import numpy as np

    from scorer.result import Result

    assert main(["test", "--kit", str(kit_dir), "--save-output", str(tmp_path)]) == 0
    result = Result.from_yaml((tmp_path / "starting_kit" / "result.yml").read_text())
    assert result.status == "scored" and len(result.folds) == 5
    pred = np.load(tmp_path / "starting_kit" / "fold_0" / "y_pred_test.npy")
    assert pred.shape[1] == 3 and np.allclose(pred.sum(axis=1), 1)
