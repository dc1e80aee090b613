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
requires the features before that point unchanged. RAMP checks one point, the middle of
the block; a look-ahead confined to rows after it (the end of a series, where the test
process holds every row) would pass there, so `predict` checks several points of the
block predicted (`check_points`): its first row, a quarter, half and three quarters of
the way in, its last row, and one row drawn at random with a seed the scorer gives
(the fold's number), so that a verdict can be reproduced. Each check costs one more
`transform` of the series.
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


SPREAD = (0.0, 0.25, 0.5, 0.75, 1.0)  # where in the block the fixed check points are


def predict(model, X, rows: np.ndarray, task: WorkflowTask, n_burn_in: int,
            check_block: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Predictions of `rows` (indices of X, after the burn-in) from X; the look-ahead
    check runs at the `check_points` of `check_block` (None: no check)."""
    extractor, regressor = model
    feats = features(extractor, X, n_burn_in)
    if check_block is not None:
        rng = np.random.default_rng(seed)
        for point, drawn in check_points(check_block, rng):
            check_causal(extractor, X, feats, point, n_burn_in, rng,
                         f" (a point drawn at random with seed {seed})" if drawn else "")
    return np.asarray(regressor.predict(feats[rows]))


def check_points(block, rng: np.random.Generator) -> list[tuple[int, bool]]:
    """(row, drawn at random) of each point where the look-ahead check changes the
    series: spread over `block` (the rows predicted, in time order) at SPREAD, then one
    row of it drawn with `rng`; each row once."""
    block = np.asarray(block, dtype=np.int64)
    if not len(block):
        return []
    spread = [int(block[round(f * (len(block) - 1))]) for f in SPREAD]
    drawn = int(block[int(rng.integers(len(block)))])
    points = [(p, False) for p in dict.fromkeys(spread)]
    return points + ([] if drawn in spread else [(drawn, True)])


def check_causal(extractor, X, feats: np.ndarray, point: int, n_burn_in: int,
                 rng: np.random.Generator, how: str = "") -> None:
    """RAMP's check at one point: every number of every row from `point` on is
    shifted (by a number drawn from `rng`), and no feature of an earlier row may
    change."""
    if not n_burn_in < point < len(X):
        return
    changed = X.copy()
    numeric = [c for c in changed.columns if changed[c].dtype.kind in "fiu"]
    if not numeric:
        return
    shift = float(rng.normal(3.0, 1.0))
    for c in numeric:  # whole columns set at once: a check costs little beside transform
        values = changed[c].to_numpy(dtype=float, copy=True)
        values[point:] += shift
        changed[c] = values
    again = features(extractor, changed, n_burn_in)
    before = slice(0, point)
    same = np.isclose(feats[before], again[before], rtol=0, atol=0, equal_nan=True).all(axis=1)
    if not same.all():
        first = int(np.flatnonzero(~same)[0])
        raise LooksAhead(f"the feature extractor looks ahead: the features of time step {first}"
                         f" changed when only the time steps from {point}{how} on were "
                         "changed")
