"""Cross-validation folds: any scikit-learn splitter named in challenge.yml, or
`problem.py:get_cv(X, y)` (RAMP's hook), as a list of (train, valid) index arrays.

One or the other: a kit with both is an error, not a silent choice."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from scorer.cv_time import KIND as TIME_SERIES
from scorer.cv_time import check_series_folds, is_series, time_series_folds
from scorer.errors import KitError
from scorer.task import Task

Fold = tuple[np.ndarray, np.ndarray]


def make_folds(kit: Task, X: pd.DataFrame, y: np.ndarray) -> list[Fold]:
    problem = kit.problem()
    if problem is not None and hasattr(problem, "get_cv"):
        check_one_cv(kit, problem)
        folds = list(problem.get_cv(X, y))
    elif kit.cv.type == TIME_SERIES:
        folds = time_series_folds(len(X), kit.cv.params, str(kit.path / "challenge.yml"))
    else:
        y = y[:, 0] if kit.prediction_type == "combined" else y  # split on the class
        folds = list(_splitter(kit).split(X, y, groups=_groups(kit, X)))
    out = [(np.asarray(tr, dtype=np.int64), np.asarray(va, dtype=np.int64)) for tr, va in folds]
    if not out:
        raise KitError(f"{kit.path}: the CV gives no fold; check cv in challenge.yml")
    if is_series(kit.workflow):
        check_series_folds(out, len(X), str(kit.path / "challenge.yml"))
    return out


def check_one_cv(kit: Task, problem=None) -> None:
    """A `cv` key in challenge.yml and a `get_cv` in problem.py together are an error."""
    problem = kit.problem() if problem is None else problem
    if problem is None or not hasattr(problem, "get_cv"):
        return
    if "cv" in (getattr(kit, "raw", None) or {}) or kit.cv != type(kit.cv)():
        raise KitError(f"{kit.path / 'challenge.yml'}: key 'cv' and get_cv in "
                       f"{kit.problem_file} both say how to split the data; keep one "
                       "(remove the key to use get_cv, or remove get_cv)")


def _splitter(kit: Task):
    import sklearn.model_selection as ms

    cls = getattr(ms, kit.cv.type, None)
    where = f"{kit.path / 'challenge.yml'}: key 'cv.type'"
    if not (inspect.isclass(cls) and hasattr(cls, "split")):
        names = sorted(n for n, c in vars(ms).items()
                       if inspect.isclass(c) and hasattr(c, "split") and not n.startswith("_")
                       and "Base" not in n)
        raise KitError(f"{where}: found {kit.cv.type!r}; expected a scikit-learn splitter: "
                       + ", ".join(names))
    try:
        return cls(**kit.cv.params)
    except TypeError as e:
        raise KitError(f"{kit.path / 'challenge.yml'}: key 'cv': {kit.cv.type} does not "
                       f"accept {kit.cv.params}: {e}") from None


def _groups(kit: Task, X: pd.DataFrame):
    if kit.cv.groups is None:
        return None
    if kit.cv.groups not in X.columns:
        raise KitError(f"{kit.path / 'challenge.yml'}: key 'cv.groups': found "
                       f"{kit.cv.groups!r}; expected a column of the training data")
    return X[kit.cv.groups].to_numpy()
