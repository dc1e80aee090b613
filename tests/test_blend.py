"""Greedy forward selection with replacement: exact on a hand-worked case, and the
batch scores equal the score types they stand for."""

from __future__ import annotations

import numpy as np
import pytest

from scorer.blend import (
    BATCH_SCORES,
    FoldInputs,
    batch_score_for,
    blend,
    blend_fold,
    prepare,
)
from scorer.score_types import BUILTIN


def _rmse(y, p):
    return float(np.sqrt(np.mean((p - y) ** 2)))


# Hand-worked: y = [1, -1]. A = [2, -1] and B = [0, -1] score rmse 0.707 alone, C = [1.5, -1]
# scores 0.354 so it starts. Adding B gives mean [0.75, -1] (0.177, better than with A:
# 0.530, or C again: 0.354). Then adding C gives (C + B + C) / 3 = [1, -1], rmse 0; nothing
# beats 0, so selection stops: C twice, B once.
Y = np.array([1.0, -1.0])
A, B, C = [2.0, -1.0], [0.0, -1.0], [1.5, -1.0]
PREDS = np.array([A, B, C])


@pytest.mark.parametrize("batch", [None, BATCH_SCORES["rmse"]], ids=["looped", "batch"])
def test_hand_worked_selection_weights_and_score_are_exact(batch):
    fb = blend_fold(PREDS, Y, _rmse, lower_is_better=True, batch_score=batch)
    assert fb.order == [2, 1, 2]
    assert fb.counts.tolist() == [0, 1, 2]
    assert fb.weights.tolist() == [0.0, 1 / 3, 2 / 3]
    assert fb.valid_score == 0.0
    assert fb.best_single == 2
    assert fb.best_single_score == pytest.approx(np.sqrt(0.125), abs=1e-15)


def test_blend_gives_contributivity_in_percent_and_combined_test_score():
    fold = FoldInputs(valid_idx=np.array([0, 1]), valid_preds=PREDS,
                      test_preds=np.array([[0.0], [3.0], [3.0]]))
    out = blend([fold], Y, _rmse, True, y_test=np.array([2.0]),
                batch_score=BATCH_SCORES["rmse"])
    assert out.contributivity.tolist() == pytest.approx([0.0, 100 / 3, 200 / 3], abs=1e-12)
    assert out.valid_scores == [0.0]
    assert out.bagged_valid == 0.0
    # Test ensemble: (3 + 3 + 3) / 3 = 3 against 2.
    assert out.test_scores == [1.0]
    assert out.bagged_test == 1.0
    # Best single (C) on test: 3 against 2.
    assert out.best_single_bagged_test == 1.0


def test_exact_copy_of_an_earlier_submission_earns_nothing():
    with_copy = np.array([A, B, C, C])  # the fourth is a later copy of C
    fb = blend_fold(with_copy, Y, _rmse, True, batch_score=BATCH_SCORES["rmse"])
    assert fb.counts.tolist() == [0, 1, 2, 0]
    # The earlier of two equals takes the credit, whichever of them came first.
    copy_first = np.array([C, A, B, C])
    fb = blend_fold(copy_first, Y, _rmse, True, batch_score=BATCH_SCORES["rmse"])
    assert fb.counts.tolist() == [2, 0, 1, 0]


def test_ties_between_different_submissions_go_to_the_earlier():
    # A and B score the same alone and nothing improves on either: the earlier starts.
    y = np.array([0.0, 0.0])
    preds = np.array([[1.0, -1.0], [-1.0, 1.0]])
    fb = blend_fold(preds, y, _rmse, True, max_members=1)
    assert fb.order == [0]


def test_member_cap_and_improvement_threshold_stop_the_selection():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    preds = y[None, :] + rng.normal(size=(30, 200))
    full = blend_fold(preds, y, _rmse, True)
    assert 3 < len(full.order) <= 80
    assert len(blend_fold(preds, y, _rmse, True, max_members=3).order) == 3
    # A threshold larger than any gain keeps the best single only.
    assert len(blend_fold(preds, y, _rmse, True, min_improvement=10.0).order) == 1
    # Each accepted step improved the score: the blend beats the best single.
    assert full.valid_score < full.best_single_score


def test_higher_is_better_scores_are_maximised():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, size=300)
    preds = prepare(rng.dirichlet(np.ones(3), size=(15, 300)) + 0.3 * np.eye(3)[y][None])
    acc = BUILTIN["accuracy"].fn
    fb = blend_fold(preds, y, acc, lower_is_better=False)
    singles = [acc(y, p) for p in preds]
    assert fb.best_single_score == max(singles)
    assert fb.best_single == int(np.argmax(singles))
    assert fb.valid_score >= max(singles)


@pytest.mark.parametrize("name", sorted(BATCH_SCORES))
def test_batch_scores_equal_the_score_types(name):
    rng = np.random.default_rng(2)
    stype = BUILTIN[name]
    if stype.needs == "proba":
        y = rng.integers(0, 4, size=120)
        preds = rng.dirichlet(np.ones(4), size=(7, 120))
    else:
        y = rng.normal(size=120)
        preds = y[None, :] + rng.normal(size=(7, 120))
    batch = batch_score_for(name)(y, preds)
    looped = [stype.fn(y, p) for p in preds]
    np.testing.assert_allclose(batch, looped, rtol=1e-12, atol=1e-12)


def test_batch_and_looped_selection_agree_on_random_classification():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, size=400)
    raw = rng.dirichlet(np.ones(3), size=(25, 400)) + rng.uniform(0, 1, (25, 1, 1)) * np.eye(3)[y]
    preds = prepare(raw)
    loss = BUILTIN["log_loss"].fn
    looped = blend_fold(preds, y, loss, True)
    batched = blend_fold(preds, y, loss, True, batch_score=batch_score_for("log_loss"))
    assert looped.order == batched.order
    assert batched.valid_score == pytest.approx(looped.valid_score, rel=1e-12)


def test_chunked_scoring_gives_the_same_selection(monkeypatch):
    import scorer.blend as blend_module

    rng = np.random.default_rng(4)
    y = rng.normal(size=50)
    preds = y[None, :] + rng.normal(size=(12, 50))
    whole = blend_fold(preds, y, _rmse, True, batch_score=BATCH_SCORES["rmse"])
    monkeypatch.setattr(blend_module, "_CHUNK_VALUES", 120)  # 2 candidates per chunk
    chunked = blend_fold(preds, y, _rmse, True, batch_score=BATCH_SCORES["rmse"])
    assert chunked.order == whole.order


def test_contributivity_averages_over_folds_and_sums_to_100():
    rng = np.random.default_rng(5)
    y = rng.normal(size=100)
    preds = y[None, :] + rng.normal(size=(6, 100))
    folds = [FoldInputs(np.arange(i * 20, i * 20 + 40), preds[:, i * 20:i * 20 + 40])
             for i in range(3)]
    out = blend(folds, y, _rmse, True, batch_score=BATCH_SCORES["rmse"])
    per_fold = np.mean([fb.counts / fb.counts.sum() for fb in out.folds], axis=0) * 100
    np.testing.assert_allclose(out.contributivity, per_fold)
    assert out.contributivity.sum() == pytest.approx(100.0)
    assert out.test_scores is None and out.bagged_test is None


def test_probabilities_are_clipped_and_renormalised():
    p = prepare(np.array([[[0.0, 2.0], [1.0, 1.0]]]))
    np.testing.assert_allclose(p.sum(axis=2), 1.0)
    assert p.min() > 0
