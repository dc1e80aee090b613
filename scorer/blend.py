"""Blending: greedy forward selection with replacement (Caruana et al., 2004), per fold.

On each fold the ensemble starts from the best single submission on the validation
rows, then repeatedly adds (with replacement) the submission whose addition most
improves the ranking score, until no addition improves it by more than
`min_improvement` or the ensemble holds `max_members` members. The ensemble's
prediction is the plain mean of its members' predictions, so a member chosen twice
weighs twice. A submission's contributivity is its share of the members, averaged
over folds, in percent.

Each step scores every candidate at once: the running sum of the selected
predictions plus each candidate, divided by the new size, is one array of shape
(m, n[, k]) scored by a batch version of the score (`BATCH_SCORES`); a score with
no batch version is called once per candidate.

Ties go to the earlier submission (lower index), and submissions whose predictions
on a fold are bit-for-bit identical to an earlier one's are not candidates on that
fold: an exact copy earns nothing.

Classification predictions (n, k) are clipped to [1e-15, 1 - 1e-15] and each row
renormalised before blending, so every member is a probability vector. Combined
predictions (n, k + 1: the class probabilities, then a quantity) are averaged as they
are, as RAMP combines them (`probabilities=False`); their score reads each part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

MAX_MEMBERS = 80  # RAMP's cap on the ensemble size
PROBA_EPS = 1e-15
# Candidates are scored in chunks of at most this many prediction values.
_CHUNK_VALUES = 1 << 22

ScoreFn = Callable[[np.ndarray, np.ndarray], float]
BatchScoreFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class FoldBlend:
    """The ensemble chosen on one fold."""

    order: list[int]  # submission indices in the order they were added (repeats allowed)
    counts: np.ndarray  # (m,) how many times each submission is a member
    valid_score: float  # the ensemble's score on the fold's validation rows
    best_single: int  # index of the best single submission on this fold
    best_single_score: float

    @property
    def weights(self) -> np.ndarray:
        return self.counts / self.counts.sum()


@dataclass
class FoldInputs:
    """What one fold contributes to a blend, for m submissions in submission order."""

    valid_idx: np.ndarray  # (n,) rows of the training set held out on this fold
    valid_preds: np.ndarray  # (m, n[, k])
    test_preds: np.ndarray | None = None  # (m, n_test[, k]), or None when not available


@dataclass
class Blend:
    folds: list[FoldBlend]
    contributivity: np.ndarray  # (m,) percent, sums to 100
    valid_scores: list[float]  # per fold: the ensemble on the fold's validation rows
    test_scores: list[float] | None  # per fold: the fold's ensemble on the test set
    bagged_valid: float  # ensembles' held-out predictions averaged per row, scored
    bagged_test: float | None  # fold ensembles' test predictions averaged, scored
    best_single_bagged_valid: float  # the same with each fold's best single submission
    best_single_bagged_test: float | None


# ----------------------------------------------------------------- batch scores
def _batch_accuracy(y: np.ndarray, preds: np.ndarray) -> np.ndarray:
    labels = preds.argmax(axis=2) if preds.ndim == 3 else preds
    return (labels == y[None, :]).mean(axis=1)


def _batch_log_loss(y: np.ndarray, preds: np.ndarray, eps: float = PROBA_EPS) -> np.ndarray:
    # Same arithmetic as the score type: clip, renormalise rows, mean -log p(true class).
    clipped = np.clip(preds, eps, 1.0)
    rows = np.arange(preds.shape[1])
    p_true = clipped[:, rows, y] / clipped.sum(axis=2)
    return -np.log(p_true).mean(axis=1)


def _batch_nll(y: np.ndarray, preds: np.ndarray) -> np.ndarray:
    # RAMP's negative log-likelihood (scorer/score_types.py _nll): clip at the float64
    # epsilon, no renormalising.
    eps = np.finfo(np.float64).eps
    p_true = np.clip(preds[:, np.arange(preds.shape[1]), y], eps, 1 - eps)
    return -np.log(p_true).mean(axis=1)


def _batch_rmse(y: np.ndarray, preds: np.ndarray) -> np.ndarray:
    return np.sqrt(((preds - y[None, :]) ** 2).mean(axis=1))


def _batch_mae(y: np.ndarray, preds: np.ndarray) -> np.ndarray:
    return np.abs(preds - y[None, :]).mean(axis=1)


def _batch_r2(y: np.ndarray, preds: np.ndarray) -> np.ndarray:
    ss_res = ((preds - y[None, :]) ** 2).sum(axis=1)
    ss_tot = ((y - y.mean()) ** 2).sum()
    if ss_tot == 0:
        return np.where(ss_res == 0, 1.0, 0.0)
    return 1.0 - ss_res / ss_tot


# Keyed by built-in score type name (scorer/score_types.py); each equals that type's
# score on every row of `preds` (checked in tests/test_blend.py).
BATCH_SCORES: dict[str, BatchScoreFn] = {
    "accuracy": _batch_accuracy,
    "log_loss": _batch_log_loss,
    "nll": _batch_nll,
    "rmse": _batch_rmse,
    "mae": _batch_mae,
    "r2": _batch_r2,
}


def batch_score_for(type_name: str, params: dict | None = None) -> BatchScoreFn | None:
    """The batch version of a built-in score type, or None (then scores are looped)."""
    return None if params else BATCH_SCORES.get(type_name)


def _looped(score: ScoreFn) -> BatchScoreFn:
    def batch(y: np.ndarray, preds: np.ndarray) -> np.ndarray:
        return np.array([score(y, p) for p in preds], dtype=float)
    return batch


# ----------------------------------------------------------------- the algorithm
def prepare(preds: np.ndarray, probabilities: bool = True) -> np.ndarray:
    """Float predictions; probabilities (last axis k) clipped and renormalised per row,
    unless `probabilities` is False (columns of another kind: averaged as they are)."""
    preds = np.asarray(preds, dtype=float)
    if preds.ndim == 3 and probabilities:
        preds = np.clip(preds, PROBA_EPS, 1 - PROBA_EPS)
        preds = preds / preds.sum(axis=2, keepdims=True)
    return preds


def blend_fold(valid_preds: np.ndarray, y_valid: np.ndarray, score: ScoreFn,
               lower_is_better: bool, *, batch_score: BatchScoreFn | None = None,
               max_members: int = MAX_MEMBERS, min_improvement: float = 0.0) -> FoldBlend:
    """Greedy forward selection with replacement on one fold.

    `valid_preds` is (m, n) or (m, n, k), already `prepare`d, in submission order
    (earlier first); `score(y_true, y_pred)` is the ranking score and `batch_score`,
    if given, its batch version (y_true, (c, n[, k])) -> (c,).
    """
    valid_preds = np.asarray(valid_preds, dtype=float)
    m = len(valid_preds)
    if m == 0:
        raise ValueError("blending needs at least one submission's predictions")
    if max_members < 1:
        raise ValueError(f"max_members must be at least 1, got {max_members}")
    scores_of = batch_score or _looped(score)
    candidates = _distinct(valid_preds)
    cand_preds = valid_preds[candidates]
    sign = 1.0 if lower_is_better else -1.0  # minimise sign * score

    singles = _score_in_chunks(scores_of, y_valid, cand_preds)
    first = int(np.argmin(sign * singles))  # first of equals: the earlier submission
    order = [int(candidates[first])]
    current = float(singles[first])
    total = valid_preds[order[0]].copy()
    while len(order) < max_members:
        size = len(order) + 1
        trial = _score_in_chunks(scores_of, y_valid, cand_preds, total=total, size=size)
        j = int(np.argmin(sign * trial))
        gain = sign * (current - float(trial[j]))
        if not gain > min_improvement:
            break
        order.append(int(candidates[j]))
        total += cand_preds[j]
        current = float(trial[j])
    counts = np.bincount(order, minlength=m)
    return FoldBlend(order, counts, current, order[0], float(singles[first]))


def _score_in_chunks(scores_of: BatchScoreFn, y: np.ndarray, preds: np.ndarray, *,
                     total: np.ndarray | None = None, size: int = 1) -> np.ndarray:
    per_row = max(1, int(np.prod(preds.shape[1:])))
    step = max(1, _CHUNK_VALUES // per_row)
    out = []
    for start in range(0, len(preds), step):
        chunk = preds[start:start + step]
        if total is not None:
            chunk = (total[None] + chunk) / size
        out.append(np.asarray(scores_of(y, chunk), dtype=float))
    return np.concatenate(out)


def _distinct(preds: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each bit-for-bit distinct prediction array."""
    seen: set[bytes] = set()
    keep = []
    for i, p in enumerate(preds):
        digest = hashlib.blake2b(np.ascontiguousarray(p).tobytes(), digest_size=16).digest()
        if digest not in seen:
            seen.add(digest)
            keep.append(i)
    return np.array(keep, dtype=np.int64)


def blend(folds: Sequence[FoldInputs], y_train: np.ndarray, score: ScoreFn,
          lower_is_better: bool, *, y_test: np.ndarray | None = None,
          batch_score: BatchScoreFn | None = None, max_members: int = MAX_MEMBERS,
          min_improvement: float = 0.0, probabilities: bool = True) -> Blend:
    """Blend m submissions on every fold; contributivity and combined scores.

    Test scores are computed only when every fold has `test_preds` and `y_test` is given.
    `probabilities`: whether a last axis of predictions holds class probabilities (see
    `prepare`): a classification's, not a combined prediction's.
    """
    if not folds:
        raise ValueError("blending needs at least one fold")
    y_train = np.asarray(y_train)
    with_test = y_test is not None and all(f.test_preds is not None for f in folds)
    fold_blends, valid_scores, test_scores = [], [], []
    ens_valid, single_valid, ens_test, single_test = [], [], [], []
    for f in folds:
        preds = prepare(f.valid_preds, probabilities)
        y_valid = y_train[f.valid_idx]
        fb = blend_fold(preds, y_valid, score, lower_is_better, batch_score=batch_score,
                        max_members=max_members, min_improvement=min_improvement)
        fold_blends.append(fb)
        valid_scores.append(fb.valid_score)
        ens_valid.append(_combine(preds, fb.counts))
        single_valid.append(preds[fb.best_single])
        if with_test:
            test = prepare(f.test_preds, probabilities)
            ens_test.append(_combine(test, fb.counts))
            single_test.append(test[fb.best_single])
            test_scores.append(float(score(y_test, ens_test[-1])))
    contributivity = 100.0 * np.mean([fb.weights for fb in fold_blends], axis=0)
    idx = [f.valid_idx for f in folds]
    return Blend(
        folds=fold_blends, contributivity=contributivity, valid_scores=valid_scores,
        test_scores=test_scores if with_test else None,
        bagged_valid=_bagged_valid(score, y_train, idx, ens_valid),
        bagged_test=float(score(y_test, np.mean(ens_test, axis=0))) if with_test else None,
        best_single_bagged_valid=_bagged_valid(score, y_train, idx, single_valid),
        best_single_bagged_test=(float(score(y_test, np.mean(single_test, axis=0)))
                                 if with_test else None))


def _combine(preds: np.ndarray, counts: np.ndarray) -> np.ndarray:
    members = np.flatnonzero(counts)
    w = counts[members] / counts.sum()
    return np.tensordot(w, preds[members], axes=1)


def _bagged_valid(score: ScoreFn, y_train: np.ndarray, valid_idx: list[np.ndarray],
                  preds: list[np.ndarray]) -> float:
    """Each training row's held-out predictions averaged over the folds that held it out."""
    total = np.zeros((len(y_train),) + preds[0].shape[1:])
    count = np.zeros(len(y_train))
    for idx, p in zip(valid_idx, preds, strict=True):
        total[idx] += p
        count[idx] += 1
    seen = count > 0
    shape = (-1,) + (1,) * (total.ndim - 1)
    return float(score(y_train[seen], total[seen] / count[seen].reshape(shape)))
