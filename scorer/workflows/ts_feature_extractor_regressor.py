"""RAMP's El Nino workflow: `ts_feature_extractor.py` defines `class FeatureExtractor`
with `fit(X_ds, y)` and `transform(X_ds)`; its output feeds `regressor.py`'s
`Regressor` (`fit(X, y)`, `predict(X)`).

`X_ds` is the series as a pandas DataFrame, one row per time step in time order, from
the first row of the series up to the last row the call may know of;
`X_ds.attrs["n_burn_in"]` is the number of rows of history before the first row with a
target (RAMP's `n_burn_in`). `fit` receives the targets of the rows after the burn-in,
so `X_ds` is `n_burn_in` rows longer than `y`, as in RAMP. `transform` returns one row
of features per row of `X_ds` (rows of the burn-in may hold NaN), or, as in RAMP, one
per row after the burn-in.

The scorer cuts the data (scorer/series.py): a fold's process never holds a row after
its validation block. Within what it holds, `predict` checks that the features of a row
do not depend on later rows, as RAMP does: it changes every row from a point on and
requires the features before that point unchanged.
"""

from __future__ import annotations

import numpy as np

from scorer.workflows import WorkflowTask, element

ELEMENTS = ("ts_feature_extractor.py", "regressor.py")
SERIES = True  # folds are cut in time: scorer/series.py runs them
BURN_IN = "n_burn_in"


class LooksAhead(AssertionError):
    pass


def with_burn_in(X, n_burn_in: int):
    X = X.copy()
    X.attrs[BURN_IN] = int(n_burn_in)
    return X


def features(extractor, X, n_burn_in: int) -> np.ndarray:
    """The extractor's features of every row of X, as floats; RAMP's shorter output
    (rows after the burn-in only) is aligned to the end of X."""
    out = np.asarray(extractor.transform(with_burn_in(X, n_burn_in)), dtype=float)
    if out.ndim == 1:
        out = out.reshape(-1, 1)
    if out.ndim != 2:
        raise ValueError(f"FeatureExtractor.transform returned an array of shape {out.shape};"
                         " expected one row of features per time step")
    if len(out) == len(X) - n_burn_in and n_burn_in:
        out = np.vstack([np.full((n_burn_in, out.shape[1]), np.nan), out])
    if len(out) != len(X):
        raise ValueError(f"FeatureExtractor.transform returned {len(out)} rows for {len(X)} "
                         f"time steps; expected {len(X)} (or {len(X) - n_burn_in}, the rows "
                         "after the burn-in)")
    return out


def fit(modules, X, y, task: WorkflowTask, n_burn_in: int):
    """X: the series from its start to the last training row; y: the targets of the
    rows after the burn-in."""
    extractor = element(modules, "ts_feature_extractor.py", "FeatureExtractor")()
    if hasattr(extractor, "fit"):
        extractor.fit(with_burn_in(X, n_burn_in), y)
    regressor = element(modules, "regressor.py", "Regressor")()
    regressor.fit(features(extractor, X, n_burn_in)[n_burn_in:], y)
    return extractor, regressor


def predict(model, X, rows: np.ndarray, task: WorkflowTask, n_burn_in: int,
            check_at: int | None = None, seed: int = 0) -> np.ndarray:
    """Predictions of `rows` (indices of X, after the burn-in) from X; the look-ahead
    check changes the rows from `check_at` on (None: no check)."""
    extractor, regressor = model
    feats = features(extractor, X, n_burn_in)
    if check_at is not None:
        check_causal(extractor, X, feats, check_at, n_burn_in, seed)
    return np.asarray(regressor.predict(feats[rows]))


def check_causal(extractor, X, feats: np.ndarray, point: int, n_burn_in: int,
                 seed: int) -> None:
    """RAMP's check at one point: every number of every row from `point` on is
    shifted, and no feature of an earlier row may change."""
    if not n_burn_in < point < len(X):
        return
    changed = X.copy()
    numeric = [c for c in changed.columns if changed[c].dtype.kind in "fiu"]
    if not numeric:
        return
    shift = float(np.random.default_rng(seed).normal(3.0, 1.0))
    for c in numeric:
        changed[c] = changed[c].astype(float)
        changed.loc[changed.index[point:], c] += shift
    again = features(extractor, changed, n_burn_in)
    before = slice(0, point)
    same = np.isclose(feats[before], again[before], rtol=0, atol=0, equal_nan=True).all(axis=1)
    if not same.all():
        first = int(np.flatnonzero(~same)[0])
        raise LooksAhead(f"the feature extractor looks ahead: the features of time step {first}"
                         f" changed when only the time steps from {point} on were changed")
