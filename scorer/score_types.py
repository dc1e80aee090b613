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


# Each metric imports sklearn.metrics (and numpy) when first called: loading a kit,
# which every command does, needs only the names of the types, and those imports take
# a good part of a second.
def _labels(y_pred: np.ndarray) -> np.ndarray:
    return y_pred.argmax(axis=1) if y_pred.ndim == 2 else y_pred


def _accuracy(y, p):
    from sklearn.metrics import accuracy_score

    return accuracy_score(y, _labels(p))


def _balanced_accuracy(y, p):
    from sklearn.metrics import balanced_accuracy_score

    return balanced_accuracy_score(y, _labels(p))


def _log_loss(y, p, eps: float = 1e-15):
    import numpy as np
    from sklearn.metrics import log_loss

    p = np.clip(p, eps, 1.0)
    return log_loss(y, p / p.sum(axis=1, keepdims=True), labels=np.arange(p.shape[1]))


def _roc_auc(y, p):
    import numpy as np
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return float("nan")  # undefined on a single class; reported as such
    if p.shape[1] == 2:
        return roc_auc_score(y, p[:, 1])
    return roc_auc_score(y, p, multi_class="ovr", labels=np.arange(p.shape[1]))


def _f1(y, p, average: str = "macro"):
    import numpy as np
    from sklearn.metrics import f1_score

    labels = np.arange(p.shape[1]) if p.ndim == 2 else None
    return f1_score(y, _labels(p), average=average, labels=labels, zero_division=0)


def _rmse(y, p):
    import numpy as np
    from sklearn.metrics import mean_squared_error

    return float(np.sqrt(mean_squared_error(y, p)))


def _mae(y, p):
    from sklearn.metrics import mean_absolute_error

    return mean_absolute_error(y, p)


def _r2(y, p):
    from sklearn.metrics import r2_score

    return r2_score(y, p)


BUILTIN: dict[str, ScoreType] = {t.name: t for t in (
    ScoreType("accuracy", _accuracy, needs="proba"),
    ScoreType("balanced_accuracy", _balanced_accuracy, needs="proba"),
    ScoreType("log_loss", _log_loss, lower_is_better=True, needs="proba"),
    ScoreType("nll", _log_loss, lower_is_better=True, needs="proba"),
    ScoreType("roc_auc", _roc_auc, needs="proba"),
    ScoreType("f1", _f1, needs="proba"),
    ScoreType("rmse", _rmse, lower_is_better=True, needs="value"),
    ScoreType("mae", _mae, lower_is_better=True, needs="value"),
    ScoreType("r2", _r2, needs="value"),
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
    return out
