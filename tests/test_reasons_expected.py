"""An invalid output's reason says what the kit's workflow expected: probabilities for a
classifier, values for a regressor, circles for a detector, class probabilities plus a
quantity for combined predictions; end to end on a regression kit."""

from __future__ import annotations

import pytest

from challenge.kit import load_kit
from scorer.backends.base import IngestOutcome
from scorer.reasons import explain, invalid_output
from scorer.scoring import score_submission
from scorer.task import Limits
from tests.conftest import ROOT


@pytest.mark.parametrize(("prediction", "words", "not_words"), [
    ("multiclass", "one probability per class", "circles"),
    ("binary", "two columns", "quantity"),
    ("regression", "one finite number per input row", "probability"),
    ("detection", "(confidence, x, y, radius) circles", "probability"),
    ("combined", "class probabilities (one per class, summing to 1) followed by the "
                 "quantity", "circles"),
])
def test_the_reason_names_what_the_workflow_expected(prediction, words, not_words):
    reason = invalid_output("fold_0_test.npy: predictions of shape (3,)", prediction)
    assert words in reason and not_words not in reason
    assert reason.startswith("The submission's predictions could not be used: "
                             "fold_0_test.npy: predictions of shape (3,).")
    outcome = IngestOutcome(status="invalid_output", outputs={}, log="", image=None,
                            message="fold_0_test.npy is a link")
    assert words in explain(outcome, None, Limits(), prediction=prediction)


def test_without_a_prediction_type_the_reason_stays_general():
    reason = invalid_output("bad")
    assert "one probability per class" in reason and "one row per input row" in reason


def test_a_regressor_predicting_nan_is_told_to_return_values(tmp_path):
    kit = load_kit(ROOT / "kits" / "diabetes")
    sub = tmp_path / "nan"
    sub.mkdir()
    (sub / "regressor.py").write_text(
        "import numpy as np\n\n\nclass Regressor:\n    def fit(self, X, y):\n        pass\n\n"
        "    def predict(self, X):\n        return np.full(len(X), np.nan)\n")
    result = score_submission(kit, sub).result
    assert result.status == "invalid_output", result.reason
    assert "finite numbers" in result.reason
    assert "one finite number per input row" in result.reason
    assert "probability" not in result.reason
