"""challenge.yml errors name the file, the key, what was found and what is allowed."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import jsonschema
import pytest
import yaml

from challenge.hub import demo_phases, with_phases
from challenge.kit import KitError, load_kit
from challenge.kit_schema import SCHEMA_FILE, schema_text
from tests.conftest import ROOT
from tests.hostile.sandbox_kit import SMALL_LIMITS

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


BAD_SPECS = [
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
]
# Those a JSON Schema can say (not: score types a problem.py may add, names used twice,
# a phase ending before it starts).
IN_JSON_SCHEMA = {"workflow", "scores", "limits.memory", "limits.timeot", "prediction.type",
                  "phases[1].start", "data.train", "colour"}


@pytest.mark.parametrize("change, key, found, allowed", BAD_SPECS)
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
    _edit(kit_dir, lambda s: s.pop("cv"))  # get_cv and a cv key together are an error
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


# ------------------------------------------------------------------ the JSON Schema
def _as_text(value):
    """YAML as an editor's schema check sees it: times stay text."""
    if isinstance(value, dict):
        return {k: _as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _schema_errors(spec) -> list[str]:
    """Every key the schema blames, nested (anyOf, if/then) errors included."""
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    out, todo = [], list(validator.iter_errors(_as_text(spec)))
    while todo:
        e = todo.pop()
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
        out.append(key.lstrip("."))
        if e.validator == "additionalProperties":  # names the key in its message only
            out += [f"{key}.{k}".lstrip(".") for k in e.instance if k not in e.schema.get(
                "properties", {})]
        todo += e.context or []
    return out


def test_shipped_json_schema_is_the_one_the_models_generate():
    assert json.loads(SCHEMA_FILE.read_text()) == json.loads(schema_text()), \
        "regenerate it: python -m challenge.kit_schema --write"
    assert SCHEMA_FILE.read_text() == schema_text()


def _fixture_specs():
    """Every challenge.yml of the repository's kits and of the tests' own kits."""
    for file in sorted((ROOT / "kits").glob("*/challenge.yml")):
        yield file.parent.name, file.read_bytes()
    iris = (ROOT / "kits" / "iris" / "challenge.yml").read_bytes()
    yield "demo phases", with_phases(iris, demo_phases(dt.datetime(2026, 12, 1, tzinfo=dt.UTC)))
    small = yaml.safe_load(iris)
    small["limits"] = SMALL_LIMITS
    yield "hostile sandbox", yaml.safe_dump(small).encode()
    shorthand = yaml.safe_load(iris)
    shorthand.update(scores=["accuracy", {"name": "f1"}], cv=None, data=None)
    yield "shorthand", yaml.safe_dump(shorthand).encode()


@pytest.mark.parametrize("name, text", list(_fixture_specs()), ids=lambda v: str(v)[:20])
def test_json_schema_accepts_every_kit_the_loader_accepts(tmp_path, name, text):
    (tmp_path / "challenge.yml").write_bytes(text)
    load_kit(tmp_path)
    assert _schema_errors(yaml.safe_load(text)) == []


def test_example_kits_point_editors_at_the_schema():
    for file in sorted((ROOT / "kits").glob("*/challenge.yml")):
        first = file.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), file
        target = (file.parent / first.split("$schema=", 1)[1]).resolve()
        assert target == SCHEMA_FILE, file


@pytest.mark.parametrize("change, key, found, allowed",
                         [case for case in BAD_SPECS if case[1] in IN_JSON_SCHEMA])
def test_json_schema_rejects_what_it_can_express_at_the_same_key(change, key, found, allowed):
    spec = yaml.safe_load((IRIS / "challenge.yml").read_text())
    change(spec)
    assert key in _schema_errors(spec)
