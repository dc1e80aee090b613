"""Score types: small objects with a name, a direction and a precision, on sklearn.metrics.

Predictions reach a score as the scorer holds them: class probabilities of shape
(n, k) for classification (labels encoded 0..k-1 in the kit's label order), float
values of shape (n,) for regression. A kit adds its own types in `problem.py`:

    score_types = {"within_10": ScoreType("within_10", fn, lower_is_better=False)}

where `fn(y_true, y_pred, **params) -> float` receives arrays as described above.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scorer.errors import KitError
from scorer.problem import load_problem

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class ScoreType:
    name: str
    fn: Callable[..., float]
    lower_is_better: bool = False
    needs: str = "any"  # "proba" or "value": what predictions the type accepts, or "any"


@dataclass(frozen=True)
class BoundScore:
    """A score as a kit configures it: its display name, precision and parameters."""

    name: str
    type: ScoreType
    precision: int = 3
    lower_is_better: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(self.type.fn(y_true, y_pred, **self.params))


def preload() -> None:
    """Import the metrics now: the scorer calls this before the folds run, so the
    import overlaps the submission's work instead of following it."""
    import sklearn.metrics  # noqa: F401


# Each metric imports numpy (and, off its fast path, sklearn.metrics) when first
# called: loading a kit, which every command does, needs only the names of the types,
# and those imports take a good part of a second.
#
# The fast paths. A scoring run calls some fifty metrics (three splits of five folds
# and two bagged sets, times the kit's scores), and scikit-learn spends almost all of
# each call validating and re-encoding its inputs (about 3 ms where the arithmetic
# takes 20 us), which `gitramp test --watch` would pay after every save. The scorer's
# arrays are validated already (scorer/outputs.py): class indices 0..k-1 against k
# finite probability columns, or finite float values. On such arrays each metric
# below computes what scikit-learn computes, with the same operations in the same
# order where rounding could tell (checked against scikit-learn on random and tied
# arrays in tests/test_score_types_fast.py, against rampwf in tests/test_ramp_parity.py);
# anything else (another dtype, a label out of range, a single class, NaN) goes to
# scikit-learn as before, with its checks and its errors.
def _labels(y_pred: np.ndarray) -> np.ndarray:
    return y_pred.argmax(axis=1) if y_pred.ndim == 2 else y_pred


def _codes(y, p) -> bool:
    """True when `y` holds class indices into the columns of the probabilities `p`:
    a 1-d array of integers in 0..k-1, one per row of a finite (n, k) float array, k >= 2,
    n >= 1."""
    import numpy as np

    return (isinstance(y, np.ndarray) and isinstance(p, np.ndarray) and y.ndim == 1
            and p.ndim == 2 and y.dtype.kind in "iu" and np.can_cast(y.dtype, np.intp)
            and p.dtype.kind == "f"
            and 0 < len(y) == len(p) and p.shape[1] >= 2 and int(y.min()) >= 0
            and int(y.max()) < p.shape[1] and bool(np.isfinite(p).all()))


def _values(y, p, least: int = 1) -> bool:
    """True when `y` and `p` are finite 1-d float arrays of the same length (>= least)."""
    import numpy as np

    return (isinstance(y, np.ndarray) and isinstance(p, np.ndarray) and y.ndim == 1
            and p.ndim == 1 and y.dtype.kind == "f" and p.dtype.kind == "f"
            and least <= len(y) == len(p) and bool(np.isfinite(y).all())
            and bool(np.isfinite(p).all()))


def _counts(y, pred, k: int):
    """Per class 0..k-1: rows of it predicted right, rows of it, rows predicted it."""
    import numpy as np

    return (np.bincount(y[y == pred], minlength=k), np.bincount(y, minlength=k),
            np.bincount(pred, minlength=k))


def _per_class_f1(tp, true, pred):
    """scikit-learn's F1 per class, 2 tp / (true + predicted), 0 where both are 0."""
    import numpy as np

    denominator = 1.0 * true.astype(np.float64) + pred.astype(np.float64)
    empty = denominator == 0
    denominator[empty] = 1
    out = (2.0 * tp.astype(np.float64)) / denominator
    out[empty] = 0.0
    return out


def _accuracy(y, p):
    if _codes(y, p):
        import numpy as np

        return float(np.mean(y == p.argmax(axis=1)))
    from sklearn.metrics import accuracy_score

    return accuracy_score(y, _labels(p))


def _balanced_accuracy(y, p, adjusted: bool = True):
    # RAMP's BalancedAccuracy: adjusted for chance unless told otherwise
    if _codes(y, p):
        import numpy as np

        right, rows, _ = _counts(y, p.argmax(axis=1), p.shape[1])
        present = rows > 0  # recall of each class of the truth, in class order
        if np.count_nonzero(present) >= 2:
            score = np.mean(right[present] / rows[present])
            if adjusted:
                chance = 1 / np.count_nonzero(present)
                score -= chance
                score /= 1 - chance
            return float(score)
    from sklearn.metrics import balanced_accuracy_score

    return balanced_accuracy_score(y, _labels(p), adjusted=adjusted)


def _log_loss(y, p, eps: float = 1e-15):
    import numpy as np

    if _codes(y, p):
        p = np.clip(p, eps, 1.0)
        p = p / p.sum(axis=1, keepdims=True)
        # scikit-learn's log_loss: clipped again at float64's epsilon, the mean of
        # -log p(true class)
        tiny = np.finfo(p.dtype).eps
        true = np.clip(p[np.arange(len(y)), y], tiny, 1 - tiny)
        return float(np.mean(-np.log(true)))
    from sklearn.metrics import log_loss

    p = np.clip(p, eps, 1.0)
    return log_loss(y, p / p.sum(axis=1, keepdims=True), labels=np.arange(p.shape[1]))


def _auc(truth, score) -> float:
    """The area under the ROC curve of `score` for the boolean `truth`, from the ranks
    (the Mann-Whitney U statistic, ties counted half, as the curve's trapezoids count
    them): exact sums, one rounding. Both classes must be present."""
    import numpy as np

    order = np.argsort(score, kind="stable")
    ranked = score[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], len(ranked)]
    # tied values share the mean of their 1-based ranks, (start + 1 + end) / 2
    ranks = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    positives = int(np.count_nonzero(truth))
    negatives = len(truth) - positives
    rank_sum = float(ranks[truth[order]].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def _roc_auc(y, p):
    import numpy as np

    if len(np.unique(y)) < 2:
        return float("nan")  # undefined on a single class; reported as such
    if _codes(y, p):
        k = p.shape[1]
        if k == 2:
            return _auc(y == 1, p[:, 1])
        if np.count_nonzero(np.bincount(y, minlength=k)) == k \
                and np.allclose(1, p.sum(axis=1)):  # else scikit-learn says why not
            # one class against the rest, each class's area weighing the same
            return float(np.mean([_auc(y == c, p[:, c]) for c in range(k)]))
    from sklearn.metrics import roc_auc_score

    if p.shape[1] == 2:
        return roc_auc_score(y, p[:, 1])
    return roc_auc_score(y, p, multi_class="ovr", labels=np.arange(p.shape[1]))


def _f1(y, p, average: str = "macro"):
    import numpy as np

    if average == "macro" and _codes(y, p):
        f1 = _per_class_f1(*_counts(y, p.argmax(axis=1), p.shape[1]))
        return float(np.nanmean(f1))
    from sklearn.metrics import f1_score

    labels = np.arange(p.shape[1]) if p.ndim == 2 else None
    return f1_score(y, _labels(p), average=average, labels=labels, zero_division=0)


# scikit-learn's regression metrics work on (n, 1) columns and average along axis 0:
# so do these, so that every sum adds the same numbers in the same order.
def _rmse(y, p):
    import numpy as np

    if _values(y, p):
        errors = (y.reshape(-1, 1) - p.reshape(-1, 1)) ** 2
        return float(np.sqrt(float(np.average(np.average(errors, axis=0)))))
    from sklearn.metrics import mean_squared_error

    return float(np.sqrt(mean_squared_error(y, p)))


def _mae(y, p):
    if _values(y, p):
        import numpy as np

        errors = np.abs(p.reshape(-1, 1) - y.reshape(-1, 1))
        return float(np.average(np.average(errors, axis=0)))
    from sklearn.metrics import mean_absolute_error

    return mean_absolute_error(y, p)


def _r2(y, p):
    if _values(y, p, least=2):
        import numpy as np

        y, p = y.reshape(-1, 1), p.reshape(-1, 1)
        residual = float(np.sum(1.0 * (y - p) ** 2, axis=0)[0])
        total = float(np.sum(1.0 * (y - np.average(y, axis=0)) ** 2, axis=0)[0])
        if residual == 0:
            return 1.0  # a perfect fit, even of a constant
        if total == 0:
            return 0.0  # a constant truth missed (scikit-learn's force_finite)
        return float(1 - residual / total)
    from sklearn.metrics import r2_score

    return r2_score(y, p)


# ------------------------------------------------------------ RAMP's score types
# Every score type of ramp-workflow 0.7.0 that applies to multiclass, binary and
# regression predictions, under its name in snake case and with its definition
# (docs/from-ramp.md). `accuracy`, `balanced_accuracy`, `rmse` and `roc_auc` above
# already compute what RAMP's Accuracy, BalancedAccuracy, RMSE and ROCAUC do.
def _one_hot(y, k: int):
    import numpy as np

    out = np.zeros((len(y), k))
    out[np.arange(len(y)), np.asarray(y, dtype=np.int64)] = 1.0
    return out


def _nll(y, p):
    """RAMP's NegativeLogLikelihood: the mean of -log p(true class), each probability
    clipped into [eps, 1 - eps] with eps the float64 machine epsilon, rows not
    renormalised (scikit-learn's log_loss on the one-hot truth, as rampwf calls it)."""
    import numpy as np

    p = np.asarray(p, dtype=float)
    if p.min() < 0 or p.max() > 1:
        raise ValueError("probabilities outside [0, 1]")
    eps = np.finfo(np.float64).eps
    truth = _one_hot(y, p.shape[1])
    return float(np.mean(-(truth * np.log(np.clip(p, eps, 1 - eps))).sum(axis=1)))


def _binary_column(p):
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError("this score needs class probabilities with two columns")
    return p[:, 1]


def _brier_score(y, p):
    import numpy as np

    q = _binary_column(p)
    return float(np.mean((q - (np.asarray(y) == 1)) ** 2))


def _brier_skill_score(y, p):
    import numpy as np

    truth = (np.asarray(y) == 1).astype(float)
    climatology = float(np.mean((truth.mean() - truth) ** 2))
    return 1 - _brier_score(y, p) / climatology


def _ramp_bin_centers(bins):
    import numpy as np

    # As rampwf computes them: the bins' widths times 0.05, clipped into [0, 1].
    return np.clip((bins[1:] - bins[:-1]) * 0.05, 0, 1)


def _observed_frequencies(y, q, bins):
    import numpy as np

    positives = np.histogram(q[np.asarray(y) == 1], bins=bins)[0]
    forecasts = np.histogram(q, bins=bins)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(forecasts > 0, positives / np.maximum(forecasts, 1), np.nan)
    return forecasts, relative


def _default_bins():
    import numpy as np

    return np.arange(0, 1.2, 0.1)


def _brier_score_reliability(y, p, bins=None):
    import numpy as np

    bins = _default_bins() if bins is None else np.asarray(bins, dtype=float)
    q = _binary_column(p)
    forecasts, relative = _observed_frequencies(y, q, bins)
    return float(np.nansum(forecasts * (_ramp_bin_centers(bins) - relative) ** 2) / q.size)


def _brier_score_resolution(y, p, bins=None):
    import numpy as np

    bins = _default_bins() if bins is None else np.asarray(bins, dtype=float)
    q = _binary_column(p)
    truth = (np.asarray(y) == 1).astype(float)
    forecasts, relative = _observed_frequencies(y, q, bins)
    base = truth.mean()
    spread = float(np.nansum(forecasts * (relative - base) ** 2) / q.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(spread) / (base * (1 - base)))


def _classification_error(y, p):
    return 1 - _accuracy(y, p)


def _union_counts(y, p):
    """_counts over the classes found in the truth or the predictions, in class order
    (the labels scikit-learn infers when it is given none)."""
    right, rows, predicted = _counts(y, p.argmax(axis=1), p.shape[1])
    seen = (rows > 0) | (predicted > 0)
    return right[seen], rows[seen], predicted[seen]


def _f1_above(y, p, threshold: float = 0.5):
    import numpy as np

    # Per class present in the truth or the predictions, as rampwf asks scikit-learn.
    if _codes(y, p):
        per_class = _per_class_f1(*_union_counts(y, p))
    else:
        from sklearn.metrics import f1_score

        per_class = np.asarray(f1_score(y, _labels(p), average=None))
    return float(np.count_nonzero(per_class > threshold) / len(per_class))


def _macro_averaged_recall(y, p):
    if _codes(y, p):
        import numpy as np

        right, rows, _ = _union_counts(y, p)
        # a class only predicted has no recall: 0, as scikit-learn counts it
        recall = right / np.where(rows == 0, 1, rows).astype(np.float64)
        return float(np.nanmean(np.where(rows == 0, 0.0, recall)))
    from sklearn.metrics import recall_score

    return recall_score(y, _labels(p), average="macro")


def _gini(truth, score):
    import numpy as np

    n = len(truth)
    # Sorted by decreasing score, ties kept in the original order.
    order = np.lexsort((np.arange(n), -np.asarray(score, dtype=float)))
    ranked = np.asarray(truth, dtype=float)[order]
    return (ranked.cumsum().sum() / ranked.sum() - (n + 1) / 2.0) / n


def _normalized_gini(y, p):
    q = _binary_column(p)
    return float(_gini(y, q) / _gini(y, y))


def _soft_accuracy(y, p, score_matrix=None):
    import numpy as np

    if score_matrix is None:
        raise ValueError("soft_accuracy needs params: {score_matrix: [[...], ...]}")
    matrix = np.asarray(score_matrix, dtype=float)
    positive = np.clip(np.asarray(p, dtype=float), 0, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = positive / positive.sum(axis=1, keepdims=True)
        per_row = np.nan_to_num((normalised * (_one_hot(y, p.shape[1]) @ matrix)).sum(axis=1))
    return float(np.nan_to_num(per_row.mean()))


def _mare(y, p):
    import numpy as np

    return float(np.mean(np.abs((y - p) / y)))


def _normalized_rmse(y, p):
    import numpy as np

    return float(np.sqrt(np.mean(np.square(y - p))) / np.std(y))


def _relative_rmse(y, p):
    import numpy as np

    return float(np.sqrt(np.mean(np.square((y - p) / y))))


RAMP_TYPES = (
    ScoreType("negative_log_likelihood", _nll, lower_is_better=True, needs="proba"),
    ScoreType("brier_score", _brier_score, lower_is_better=True, needs="proba"),
    ScoreType("brier_skill_score", _brier_skill_score, needs="proba"),
    ScoreType("brier_score_reliability", _brier_score_reliability, lower_is_better=True,
              needs="proba"),
    ScoreType("brier_score_resolution", _brier_score_resolution, needs="proba"),
    ScoreType("classification_error", _classification_error, lower_is_better=True,
              needs="proba"),
    ScoreType("f1_above", _f1_above, needs="proba"),
    ScoreType("macro_averaged_recall", _macro_averaged_recall, needs="proba"),
    ScoreType("normalized_gini", _normalized_gini, needs="proba"),
    ScoreType("soft_accuracy", _soft_accuracy, needs="proba"),
    ScoreType("mare", _mare, lower_is_better=True, needs="value"),
    ScoreType("normalized_rmse", _normalized_rmse, lower_is_better=True, needs="value"),
    ScoreType("relative_rmse", _relative_rmse, lower_is_better=True, needs="value"),
)

# RAMP's detection score types (scorer/detection.py, which imports numpy and scipy on
# first use): per image, (x, y, radius) labels and (confidence, x, y, radius) detections.
def _detection(name: str):
    def fn(y_true, y_pred, **params):
        from scorer import detection

        return detection.SCORES[name][0](y_true, y_pred, **params)
    return fn


DETECTION_TYPES = tuple(ScoreType(name, _detection(name), lower_is_better=lower,
                                  needs="detection") for name, lower in (
    ("detection_average_precision", False), ("detection_precision", False),
    ("detection_recall", False), ("mad_center", True), ("mad_radius", True),
    ("ospa", True), ("scp", True)))

# RAMP's class name -> (gitramp type, rampwf's default precision, parameters rampwf
# accepts besides name and precision). `nll` is `negative_log_likelihood` by its
# short name.
RAMP_CLASSES: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "Accuracy": ("accuracy", 2, ()),
    "BalancedAccuracy": ("balanced_accuracy", 2, ("adjusted",)),
    "BrierScore": ("brier_score", 3, ()),
    "BrierSkillScore": ("brier_skill_score", 3, ()),
    "BrierScoreReliability": ("brier_score_reliability", 3, ("bins",)),
    "BrierScoreResolution": ("brier_score_resolution", 3, ("bins",)),
    "ClassificationError": ("classification_error", 2, ()),
    "F1Above": ("f1_above", 2, ("threshold",)),
    "MacroAveragedRecall": ("macro_averaged_recall", 2, ()),
    "NegativeLogLikelihood": ("negative_log_likelihood", 2, ()),
    "NormalizedGini": ("normalized_gini", 2, ()),
    "SoftAccuracy": ("soft_accuracy", 2, ("score_matrix",)),
    "MARE": ("mare", 2, ()),
    "NormalizedRMSE": ("normalized_rmse", 2, ()),
    "RelativeRMSE": ("relative_rmse", 2, ()),
    "RMSE": ("rmse", 2, ()),
    "ROCAUC": ("roc_auc", 2, ()),
    "DetectionAveragePrecision": ("detection_average_precision", 3, ("iou_threshold",)),
    "AverageDetectionPrecision": ("detection_average_precision", 3, ("iou_threshold",)),
    "DetectionPrecision": ("detection_precision", 3,
                           ("conf_threshold", "minipatch", "iou_threshold")),
    "DetectionRecall": ("detection_recall", 3, ("conf_threshold", "minipatch", "iou_threshold")),
    "MADCenter": ("mad_center", 3, ("conf_threshold", "minipatch", "iou_threshold")),
    "MADRadius": ("mad_radius", 3, ("conf_threshold", "minipatch", "iou_threshold")),
    "OSPA": ("ospa", 3, ("conf_threshold", "minipatch")),
    "SCP": ("scp", 3, ("shape", "conf_threshold", "minipatch")),
    "ClusteringEfficiency": ("clustering_efficiency", 2, ()),
}


# ------------------------------------------------- a kit's own RAMP-style classes
class _RampPredictions:
    """What a RAMP score type's `score_function` reads of its two arguments."""

    def __init__(self, y_pred, label_names):
        self.y_pred = y_pred
        self.label_names = label_names

    @property
    def y_pred_label_index(self):
        import numpy as np

        return np.argmax(self.y_pred, axis=1) if self.y_pred.ndim == 2 else self.y_pred


class RampScoreBase:
    """The protocol of a RAMP score type, for classes a kit's problem.py keeps (what
    `gitramp import-ramp` writes in place of rampwf's BaseScoreType): `__call__`
    receives the truth as rampwf holds it (one-hot for classes, values for a
    regression) and the predictions; override `score_function` to read both whole."""

    is_lower_the_better = False
    minimum, maximum = 0.0, 1.0

    def check_y_pred_dimensions(self, y_true, y_pred):
        if len(y_true) != len(y_pred):
            raise ValueError(f"predictions for {len(y_pred)} rows; expected {len(y_true)}")

    @property
    def worst(self):
        return self.maximum if self.is_lower_the_better else self.minimum

    def score_function(self, ground_truths, predictions):
        self.check_y_pred_dimensions(ground_truths.y_pred, predictions.y_pred)
        return self(ground_truths.y_pred, predictions.y_pred)


class RampClassifierScoreBase(RampScoreBase):
    """RAMP's ClassifierBaseScoreType: `__call__` receives predicted and true class
    indices."""

    def score_function(self, ground_truths, predictions):
        self.label_names = ground_truths.label_names
        truth, pred = ground_truths.y_pred_label_index, predictions.y_pred_label_index
        self.check_y_pred_dimensions(truth, pred)
        return self(truth, pred)


def from_ramp(score, labels=()) -> ScoreType:
    """A gitramp ScoreType from an instance of a RAMP-style score class: `labels` are
    the kit's class labels (empty for a regression)."""
    labels = list(labels)

    def fn(y_true, y_pred):
        import numpy as np

        y_pred = np.asarray(y_pred)
        truth = _one_hot(y_true, y_pred.shape[1]) if y_pred.ndim == 2 else np.asarray(y_true)
        return score.score_function(_RampPredictions(truth, labels),
                                    _RampPredictions(y_pred, labels))

    return ScoreType(getattr(score, "name", type(score).__name__), fn,
                     lower_is_better=bool(getattr(score, "is_lower_the_better", False)))


def combinable(pred):
    """Class probabilities as RAMP makes them before averaging folds: clipped into
    [1e-15, 1 - 1e-15] and each row renormalised (values are left as they are)."""
    import numpy as np

    pred = np.asarray(pred, dtype=float)
    if pred.ndim != 2:
        return pred
    pred = np.clip(pred, 1e-15, 1 - 1e-15)
    return pred / pred.sum(axis=1, keepdims=True)


def _clustering_efficiency(y_true, y_pred):
    """RAMP's ClusteringEfficiency (scorer/clustering.py): the truth (n, 2) as (event,
    cluster), the predicted cluster ids (n,)."""
    from scorer.clustering import score

    return score(y_true, y_pred)


def _unbound_combined(y_true, y_pred, **params):
    raise ValueError("a combined score is computed from the scores it names; "
                     "bind_scores binds it")


BUILTIN: dict[str, ScoreType] = {t.name: t for t in (
    ScoreType("accuracy", _accuracy, needs="proba"),
    ScoreType("balanced_accuracy", _balanced_accuracy, needs="proba"),
    ScoreType("log_loss", _log_loss, lower_is_better=True, needs="proba"),
    ScoreType("nll", _nll, lower_is_better=True, needs="proba"),
    ScoreType("roc_auc", _roc_auc, needs="proba"),
    ScoreType("f1", _f1, needs="proba"),
    ScoreType("rmse", _rmse, lower_is_better=True, needs="value"),
    ScoreType("mae", _mae, lower_is_better=True, needs="value"),
    ScoreType("r2", _r2, needs="value"),
    *RAMP_TYPES,
    *DETECTION_TYPES,
    ScoreType("clustering_efficiency", _clustering_efficiency, needs="clustering"),
    # RAMP's Combined: a weighted sum of other scores of the kit (scorer/combined.py)
    ScoreType("combined", _unbound_combined, needs="combined"),
)}


def kit_score_types(kit_path: Path | None) -> dict[str, ScoreType]:
    """Built-in types plus those a kit's `problem.py` declares in `score_types`."""
    return dict(_kit_types(str(kit_path)) if kit_path else BUILTIN)


@cache
def _kit_types(kit_path: str) -> dict[str, ScoreType]:
    out = dict(BUILTIN)
    problem = load_problem(Path(kit_path))
    extra = getattr(problem, "score_types", {}) if problem else {}
    if not isinstance(extra, dict):
        raise KitError(f"{kit_path}/problem.py: score_types must be a dict "
                       f"{{name: ScoreType or function}}, found {type(extra).__name__}")
    for name, value in extra.items():
        if isinstance(value, ScoreType):
            out[name] = value
        elif hasattr(value, "score_function"):  # a RAMP-style score class's instance
            out[name] = from_ramp(value)
        elif callable(value):
            out[name] = ScoreType(name, value)
        else:
            raise KitError(f"{kit_path}/problem.py: score_types[{name!r}] must be a "
                           f"ScoreType or a function (y_true, y_pred) -> float")
    return out


def score_type_names(kit_path: Path | None = None) -> list[str]:
    return sorted(kit_score_types(kit_path))


def bind_scores(task) -> list[BoundScore]:
    """The scores of a task (scorer.task.Task, which imports this module), ranking
    score first, each with its direction settled."""
    types = kit_score_types(task.path)
    out = []
    for spec in task.scores:
        stype = types[spec.type]
        lower_is_better = (stype.lower_is_better if spec.lower_is_better is None
                           else spec.lower_is_better)
        out.append(BoundScore(spec.name, stype, spec.precision, lower_is_better,
                              dict(spec.params)))
    if task.prediction_type == "combined" or any(b.type.needs == "combined" for b in out):
        from scorer.combined import bind_combined  # numpy and pandas: on use

        out = bind_combined(task, out)
    return out
