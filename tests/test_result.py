from __future__ import annotations

import pytest
import yaml

from challenge.kit import load_kit
from scorer.result import Result, ResultFormatError
from scorer.scoring import score_submission
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def iris_result() -> Result:
    kit = load_kit(ROOT / "kits" / "iris")
    result = score_submission(kit, kit.submission_dir("random_forest")).result
    result.team, result.commit, result.tree = "alice", "a" * 40, "b" * 40
    return result


def test_yaml_round_trip_is_lossless(iris_result):
    again = Result.from_yaml(iris_result.to_yaml())
    assert again == iris_result
    assert again.to_yaml() == iris_result.to_yaml()


def test_public_record_holds_no_test_score_and_private_record_only_those(iris_result):
    public = iris_result.public_dict()
    text = yaml.safe_dump(public)
    assert "test" not in public["bagged"] and "test" not in public["mean"]
    assert all("test" not in f["scores"] for f in public["folds"])
    for fold in iris_result.folds:
        assert repr(fold.scores["test"]["nll"]) not in text
    private = iris_result.private_dict()
    assert set(private["bagged"]) == {"test"}
    restored = Result.from_dict(public).merge_private(private)
    assert restored.bagged == iris_result.bagged
    assert restored.folds[0].scores == iris_result.folds[0].scores


def test_unknown_schema_and_status_are_refused_with_a_reason(iris_result):
    d = iris_result.to_dict()
    with pytest.raises(ResultFormatError, match="schema 99"):
        Result.from_dict({**d, "schema": 99})
    with pytest.raises(ResultFormatError, match="status 'great'"):
        Result.from_dict({**d, "status": "great"})
