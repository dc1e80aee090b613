"""The score types' numpy paths (scorer/score_types.py) against scikit-learn's metrics
called as before on the same arrays: equal to 1e-12 on random predictions, tied ones,
classes never predicted or never present, and a perfect or constant fit; and what
they do not take (a label out of range, NaN, strings) still goes to scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from scorer.score_types import BUILTIN


def _classes(seed: int, k: int, n: int = 90, *, ties: bool = False, missing: int | None = None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    if missing is not None:  # a class never in the truth
        y[y == missing] = (missing + 1) % k
    p = rng.dirichlet(np.ones(k), n)
    if ties:  # few distinct values: ties in every ranking and every argmax
        p = np.round(p * 4) + 0.5
        p /= p.sum(axis=1, keepdims=True)
    return y, p


CASES = [_classes(0, 3), _classes(1, 2), _classes(2, 4, ties=True), _classes(3, 2, ties=True),
         _classes(4, 5, n=12), _classes(5, 3, missing=1), _classes(6, 4, n=400)]
# a class never predicted: its column never the largest
never = _classes(7, 3)
never[1][:, 2] *= 0.01
never[1][:] /= never[1].sum(axis=1, keepdims=True)
CASES.append(never)
IDS = [f"case{i}" for i in range(len(CASES))]


def _sk_log_loss(y, p, eps=1e-15):
    p = np.clip(p, eps, 1.0)
    return metrics.log_loss(y, p / p.sum(axis=1, keepdims=True), labels=np.arange(p.shape[1]))


def _sk_roc_auc(y, p):
    if p.shape[1] == 2:
        return metrics.roc_auc_score(y, p[:, 1])
    return metrics.roc_auc_score(y, p, multi_class="ovr", labels=np.arange(p.shape[1]))


SKLEARN = {
    "accuracy": lambda y, p: metrics.accuracy_score(y, p.argmax(axis=1)),
    "balanced_accuracy": lambda y, p: metrics.balanced_accuracy_score(
        y, p.argmax(axis=1), adjusted=True),
    "log_loss": _sk_log_loss,
    "f1": lambda y, p: metrics.f1_score(y, p.argmax(axis=1), average="macro",
                                        labels=np.arange(p.shape[1]), zero_division=0),
    "macro_averaged_recall": lambda y, p: metrics.recall_score(y, p.argmax(axis=1),
                                                               average="macro"),
    "f1_above": lambda y, p: float(np.count_nonzero(
        np.asarray(metrics.f1_score(y, p.argmax(axis=1), average=None)) > 0.5)
        / len(np.unique(np.r_[y, p.argmax(axis=1)]))),
    "classification_error": lambda y, p: 1 - metrics.accuracy_score(y, p.argmax(axis=1)),
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("name", sorted(SKLEARN))
def test_class_scores_equal_scikit_learn(name, case):
    y, p = case
    assert BUILTIN[name].fn(y, p) == pytest.approx(SKLEARN[name](y, p), abs=1e-12, rel=0)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", [c for c in CASES if len(np.unique(c[0])) == c[1].shape[1]],
                         ids=lambda c: f"{c[1].shape[1]}-classes")
def test_roc_auc_equals_scikit_learn_with_ties(case):
    y, p = case
    assert BUILTIN["roc_auc"].fn(y, p) == pytest.approx(_sk_roc_auc(y, p), abs=1e-12, rel=0)


def test_roc_auc_of_a_class_absent_from_the_truth_is_scikit_learns():
    y, p = _classes(5, 3, missing=1)  # scikit-learn: undefined for that class, so nan
    with pytest.warns(Warning):
        expected = _sk_roc_auc(y, p)
    assert np.isnan(expected) and np.isnan(BUILTIN["roc_auc"].fn(y, p))


@pytest.mark.parametrize("seed", range(4))
def test_balanced_accuracy_unadjusted_equals_scikit_learn(seed):
    y, p = _classes(seed, 3 + seed % 2)
    assert BUILTIN["balanced_accuracy"].fn(y, p, adjusted=False) == pytest.approx(
        metrics.balanced_accuracy_score(y, p.argmax(axis=1)), abs=1e-12, rel=0)


def _values(seed: int, n: int = 70, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    y = rng.normal(5, 2, n) * scale
    return y, y + rng.normal(0, 1, n) * scale


REGRESSION = [_values(0), _values(1, 7), _values(2, 300, 1e4), _values(3, 3, 1e-3)]
perfect = REGRESSION[0][0]
REGRESSION += [(perfect, perfect.copy()), (np.full(5, 2.0), np.full(5, 2.0)),
               (np.full(5, 2.0), np.arange(5.0))]


@pytest.mark.parametrize("case", REGRESSION, ids=[f"case{i}" for i in range(len(REGRESSION))])
def test_value_scores_equal_scikit_learn(case):
    y, p = case
    assert BUILTIN["rmse"].fn(y, p) == pytest.approx(
        float(np.sqrt(metrics.mean_squared_error(y, p))), abs=1e-12, rel=0)
    assert BUILTIN["mae"].fn(y, p) == pytest.approx(metrics.mean_absolute_error(y, p),
                                                    abs=1e-12, rel=0)
    assert BUILTIN["r2"].fn(y, p) == pytest.approx(metrics.r2_score(y, p), abs=1e-12, rel=0)


def test_inputs_off_the_fast_path_get_scikit_learns_checks():
    y, p = _classes(0, 3)
    out_of_range = y.copy()
    out_of_range[0] = 5
    with pytest.raises(ValueError, match="not belonging to the passed labels"):
        BUILTIN["log_loss"].fn(out_of_range, p)
    with_nan = p.copy()
    with_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BUILTIN["log_loss"].fn(y, with_nan)
    with pytest.raises(ValueError, match="NaN"):
        BUILTIN["r2"].fn(np.array([1.0, np.nan, 3.0]), np.array([1.0, 2.0, 3.0]))
    # class names as text, not indices: scikit-learn refuses them, as before
    names = np.array(["a", "b", "c"])[y]
    with pytest.raises(ValueError, match="Mix of label input types"):
        BUILTIN["accuracy"].fn(names, p)
