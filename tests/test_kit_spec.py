"""challenge.yml errors name the file, the key, what was found and what is allowed."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from challenge.kit import KitError, load_kit
from tests.conftest import ROOT

IRIS = ROOT / "kits" / "iris"


@pytest.fixture
def kit_dir(tmp_path):
    d = tmp_path / "iris"
    shutil.copytree(IRIS, d, ignore=shutil.ignore_patterns("hidden"))
    return d


def _edit(kit_dir, change):
    spec = yaml.safe_load((kit_dir / "challenge.yml").read_text())
    change(spec)
    (kit_dir / "challenge.yml").write_text(yaml.safe_dump(spec))


@pytest.mark.parametrize("change, key, found, allowed", [
    (lambda s: s.update(workflow="clasifier"), "workflow", "'clasifier'", "classifier"),
    (lambda s: s["scores"][1].update(type="nlll"), "scores[1].type", "'nlll'", "log_loss"),
    (lambda s: s["scores"].append({"name": "acc", "type": "f1"}), "scores[3].name", "'acc'",
     "not used by another score"),
    (lambda s: s.update(scores=[]), "scores", "[]", "first one ranks"),
    (lambda s: s["limits"].update(memory="lots"), "limits.memory", "'lots'", "512m"),
    (lambda s: s["limits"].update(timeot=5), "limits.timeot", "5", "timeout"),
    (lambda s: s["prediction"].update(type="regression"), "prediction.type", "'regression'",
     "multiclass or binary"),
    (lambda s: s["phases"][0].update(end="2026-11-01T00:00Z"), "phases[0].end",
     "'2026-11-01T00:00Z'", "after its start"),
    (lambda s: s["phases"][1].update(start="soon"), "phases[1].start", "'soon'", "UTC time"),
    (lambda s: s["data"].update(train="../../etc/passwd"), "data.train", "'../../etc/passwd'",
     "relative path inside the kit"),
    (lambda s: s.update(colour="blue"), "colour", "'blue'", "one of the keys"),
])
def test_each_schema_error_names_file_key_found_and_allowed(kit_dir, change, key, found,
                                                           allowed):
    _edit(kit_dir, change)
    with pytest.raises(KitError) as e:
        load_kit(kit_dir)
    msg = str(e.value)
    assert str(kit_dir / "challenge.yml") in msg
    assert f"key '{key}'" in msg
    assert found in msg
    assert allowed in msg


def test_missing_spec_and_bad_yaml_say_what_to_do(tmp_path):
    with pytest.raises(KitError, match="no challenge.yml here"):
        load_kit(tmp_path)
    (tmp_path / "challenge.yml").write_text("title: [unclosed\n")
    with pytest.raises(KitError, match="not valid YAML"):
        load_kit(tmp_path)


def test_example_kits_load_into_typed_data():
    kit = load_kit(IRIS)
    assert kit.workflow == "classifier"
    assert kit.labels == ("setosa", "versicolor", "virginica")
    assert [s.name for s in kit.scores] == ["acc", "nll", "f1"]
    assert kit.limits.timeout == 300 and kit.limits.max_bytes == 100 * 1024
    assert kit.phases[0].name == "closed" and kit.phases[0].start.tzinfo is not None
    assert kit.cv.type == "StratifiedShuffleSplit" and kit.cv.params["n_splits"] == 5
    for name in ("diabetes", "cancer"):
        assert load_kit(ROOT / "kits" / name).title


def test_problem_py_adds_score_types_and_cv(kit_dir):
    from scorer.scoring import score_submission

    (kit_dir / "problem.py").write_text(
        "import numpy as np\n"
        "from sklearn.model_selection import KFold\n"
        "from scorer.score_types import ScoreType\n"
        "def _top_proba(y, p):\n"
        "    return float(np.mean(p.max(axis=1)))\n"
        "score_types = {'confidence': ScoreType('confidence', _top_proba)}\n"
        "def get_cv(X, y):\n"
        "    return KFold(3).split(X)\n")
    _edit(kit_dir, lambda s: s["scores"].append({"name": "conf", "type": "confidence"}))
    kit = load_kit(kit_dir)
    result = score_submission(kit, kit_dir / "submissions" / "starting_kit").result
    assert len(result.folds) == 3
    conf = result.folds[0].scores["valid"]["conf"]
    assert conf > 1 / 3 and conf <= 1  # the largest of 3 probabilities that sum to 1


def test_group_column_drives_a_group_splitter(kit_dir):
    import pandas as pd

    from scorer.cv import make_folds
    from scorer.data import load_data

    train = pd.read_csv(kit_dir / "data" / "train.csv")
    train["garden"] = [f"g{i % 6}" for i in range(len(train))]
    train.to_csv(kit_dir / "data" / "train.csv", index=False)
    test = pd.read_csv(kit_dir / "data" / "test.csv")
    test["garden"] = "g0"
    test.to_csv(kit_dir / "data" / "test.csv", index=False)
    _edit(kit_dir, lambda s: s.update(cv={"type": "GroupKFold", "n_splits": 3,
                                          "groups": "garden"}))
    kit = load_kit(kit_dir)
    ds = load_data(kit)
    for tr, va in make_folds(kit, ds.X_train, ds.y_train):
        assert not set(ds.X_train["garden"].iloc[tr]) & set(ds.X_train["garden"].iloc[va])


def test_unknown_splitter_lists_the_real_ones(kit_dir):
    from scorer.cv import make_folds
    from scorer.data import load_data

    _edit(kit_dir, lambda s: s.update(cv={"type": "KFoldz"}))
    kit = load_kit(kit_dir)
    ds = load_data(kit)
    with pytest.raises(KitError, match=re.escape("found 'KFoldz'")) as e:
        make_folds(kit, ds.X_train, ds.y_train)
    assert "StratifiedKFold" in str(e.value)
