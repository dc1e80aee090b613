"""Folds in time: `cv: {type: time_series, n_splits, burn_in, gap, test_size}`.

The rows of the training data are one series in time order. The first `burn_in` rows
are history only: never trained on, never validated (a feature extractor needs some
past before its first prediction, RAMP's `n_burn_in`). Of the rows after them, each fold
trains on every row from `burn_in` up to its cut-off and validates on the block of
`test_size` rows that starts `gap` rows after it; the blocks follow each other up to the
end of the series, as scikit-learn's TimeSeriesSplit lays them out (expanding window).

RAMP's `TimeSeries` cv (rampwf.cvs) is the same layout with two more keys: `period`
and `block_fraction` size the blocks as RAMP does from the rows after the burn-in
(`int(rows * block_fraction / n_splits / period) * period`, its `cv_block_size` and
`period`), and `to_end: true` validates each fold from its cut-off to the end of the
series instead of on one block. `RampTimeSeries` is that class for a kept `get_cv` hook.

What the folds promise is kept by the scorer, not by the submission: for a time-series
workflow, the data a fold's process receives ends with its validation block (see
scorer/series.py), so no fold can read a row after its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scorer.errors import KitError
from scorer.workflows import get_workflow

KIND = "time_series"
PARAMS = ("n_splits", "burn_in", "gap", "test_size", "block_fraction", "period",
          "to_end")


def is_series(workflow: str) -> bool:
    """Whether a workflow's folds are cut in time (its module sets SERIES)."""
    return bool(getattr(get_workflow(workflow), "SERIES", False))


def time_series_folds(n_rows: int, params: dict[str, Any], where: str
                      ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, valid) row indices of each fold; `where` names the key in errors."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise KitError(f"{where}: cv type {KIND} does not take {unknown}; it takes "
                       + ", ".join(PARAMS))
    values = {}
    for key, default, least in (("n_splits", 5, 1), ("burn_in", 0, 0), ("gap", 0, 0),
                                ("test_size", None, 1)):
        value = params.get(key, default)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < least):
            raise KitError(f"{where}: key 'cv.{key}': found {value!r}; expected an integer "
                           f">= {least}")
        values[key] = value
    k, burn, gap = values["n_splits"], values["burn_in"], values["gap"]
    usable = n_rows - burn
    size = values["test_size"] or usable // (k + 1)
    fraction, period, to_end = (params.get(key) for key in ("block_fraction", "period",
                                                              "to_end"))
    if fraction is not None or period is not None:
        if values["test_size"] is not None:
            raise KitError(f"{where}: key 'cv': test_size, or block_fraction and period; "
                           "not both")
        fraction = 0.5 if fraction is None else fraction
        period = 1 if period is None else period
        if not isinstance(fraction, int | float) or isinstance(fraction, bool) \
                or not 0 < fraction <= 1:
            raise KitError(f"{where}: key 'cv.block_fraction': found {fraction!r}; expected "
                           "a number in (0, 1]")
        if not isinstance(period, int) or isinstance(period, bool) or period < 1:
            raise KitError(f"{where}: key 'cv.period': found {period!r}; expected an "
                           "integer >= 1")
        size = int(usable * fraction / k / period) * period
    if to_end is not None and not isinstance(to_end, bool):
        raise KitError(f"{where}: key 'cv.to_end': found {to_end!r}; expected true or false")
    first_cut = burn + usable - k * size  # where fold 0's validation block starts
    if size < 1 or first_cut - gap <= burn:
        raise KitError(f"{where}: {n_rows} rows cannot make {k} time-series folds with "
                       f"burn_in {burn}, gap {gap} and validation blocks of {size} rows; "
                       "lower n_splits, burn_in, gap or test_size")
    folds = []
    for i in range(k):
        start = first_cut + i * size
        folds.append((np.arange(burn, start - gap, dtype=np.int64),
                      np.arange(start, n_rows if to_end else start + size, dtype=np.int64)))
    return folds


class RampTimeSeries:
    """RAMP's `rw.cvs.TimeSeries` for a kit's `get_cv` hook (its arguments), on the
    rows of a gitramp kit: the first `burn_in` rows are history, as the kit's cv says."""

    def __init__(self, n_cv=8, cv_block_size=0.5, period=12, unit="", unit_2=None, *,
                 burn_in: int = 0):
        self.params = {"n_splits": n_cv, "block_fraction": cv_block_size, "period": period,
                       "burn_in": burn_in, "to_end": True}

    def get_cv(self, X, y):
        yield from time_series_folds(len(y), self.params, "get_cv (RAMP's TimeSeries)")


def check_series_folds(folds, n_rows: int, where: str) -> None:
    """Folds of a time-series workflow (from the cv key or problem.py's get_cv): each
    trains on consecutive rows and validates on rows after them."""
    for i, (tr, va) in enumerate(folds):
        tr, va = np.asarray(tr), np.asarray(va)
        if len(tr) == 0 or len(va) == 0:
            raise KitError(f"{where}: fold {i} has no training or no validation row")
        if not np.array_equal(tr, np.arange(tr[0], tr[0] + len(tr))):
            raise KitError(f"{where}: fold {i} of a time-series workflow must train on "
                           "consecutive rows (from the end of the burn-in on)")
        if va.min() <= tr[-1] or va.max() >= n_rows:
            raise KitError(f"{where}: fold {i} of a time-series workflow must validate on "
                           "rows after its training rows")
