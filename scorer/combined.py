"""Combined predictions (RAMP's drug-spectra shape): a class and a quantity per row.

A kit with `prediction: {type: combined, labels: [...], quantity: <column>}` has two
target columns: `target` holds the class, `prediction.quantity` the quantity. The
scorer holds

- the truth as floats of shape (n, 2): the class index in `prediction.labels` order,
  then the quantity;
- predictions of shape (n, k + 1): the k class probabilities, then the quantity
  (RAMP's layout of `make_combined([make_multiclass(...), make_regression()])`).

A score type reads its part: a classification type (accuracy, classification_error,
...) the class probabilities against the class, a regression type (rmse, mare, ...)
the quantity against the quantity; a kit's own type receives both arrays whole.
The score type `combined` is RAMP's `Combined`: the weighted sum of other scores of
the kit, named in its params (`{scores: [err, mare], weights: [0.6667, 0.3333]}`), each
of which is also reported as its own column. Folds are bagged as RAMP bags combined
predictions: the plain mean of every column, probabilities not clipped.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from scorer.errors import KitError
from scorer.outputs import PROBA_TOLERANCE, FoldOutput, InvalidOutput, read_folds

COMBINED = "combined"  # the prediction type, and the score type


# ------------------------------------------------------------------------- the data
def read_target(kit, df: pd.DataFrame, file: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Features and the (n, 2) target of a combined kit's CSV: class, quantity."""
    column = kit.prediction.quantity
    if column not in df.columns:
        raise ValueError(f"{file}: no column {column!r} (prediction.quantity of "
                         f"challenge.yml); columns are {', '.join(map(str, df.columns[:20]))}")
    y = np.column_stack([df[kit.target].to_numpy(dtype=object),
                         df[column].to_numpy(dtype=object)])
    return df.drop(columns=[kit.target, column, *kit.data.drop]), y


def check_target(kit, y: np.ndarray, where: str, label_codes) -> np.ndarray:
    """The (n, 2) target as plain strings (a fold's label file is a plain array):
    labels among prediction.labels (`label_codes`: scorer.data's), quantities finite
    numbers."""
    y = np.asarray(y)
    if y.ndim != 2 or y.shape[1] != 2:
        raise ValueError(f"{where}: a combined target has two columns (class, quantity); "
                         f"found shape {y.shape}")
    labels = y[:, 0]
    if labels.dtype.kind not in "biuf":
        labels = labels.astype(str)
    codes = label_codes(kit.labels, labels)
    if (codes < 0).any():
        unknown = sorted({str(v) for v in labels[codes < 0]})
        raise ValueError(f"{where}: labels {unknown[:5]} are not among prediction.labels "
                         f"{list(kit.labels)} of challenge.yml")
    try:
        values = y[:, 1].astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: the quantity column must hold numbers") from None
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{where}: row {int(np.argmax(bad))} has quantity {y[bad][0, 1]!r}; "
                         "expected a finite number")
    return np.column_stack([np.asarray(kit.labels)[codes], values.astype(str)])


def encode(kit, y: np.ndarray, label_codes) -> np.ndarray:
    y = np.asarray(y)
    return np.column_stack([label_codes(kit.labels, y[:, 0]).astype(float),
                            y[:, 1].astype(float)])


# ------------------------------------------------------------------ the predictions
def parse_outputs(files: dict[str, bytes], n_folds: int, n_train: int, n_test: int,
                  n_classes: int) -> list[FoldOutput]:
    """Every fold's (n, k + 1) predictions, checked as scorer.outputs checks others."""
    return read_folds(files, n_folds, n_train, n_test,
                      lambda arr, name, n_rows: check_predictions(arr, name, n_rows, n_classes))


def check_predictions(arr, name: str, n_rows: int, k: int) -> np.ndarray:
    """k class probabilities then the quantity, per row."""
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise InvalidOutput(f"{name}: predictions of dtype {getattr(arr, 'dtype', '?')}; "
                            "expected numbers")
    if arr.shape != (n_rows, k + 1):
        raise InvalidOutput(f"{name}: predictions of shape {arr.shape}; expected "
                            f"{(n_rows, k + 1)} ({n_rows} rows of {k} class probabilities "
                            "then the quantity)")
    arr = arr.astype(np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        row = int(np.argwhere(~finite)[0][0])
        raise InvalidOutput(f"{name}: row {row} holds {arr[row]!r}; predictions must be "
                            "finite numbers (no NaN or infinity)")
    proba = arr[:, :k]
    outside = (proba < -PROBA_TOLERANCE) | (proba > 1 + PROBA_TOLERANCE)
    if outside.any():
        row = int(np.argwhere(outside)[0][0])
        raise InvalidOutput(f"{name}: row {row} has probabilities {proba[row]!r} outside "
                            "[0, 1] (columns 0 to {k - 1})".replace("{k - 1}", str(k - 1)))
    off = np.abs(proba.sum(axis=1) - 1) > 1e-3
    if off.any():
        row = int(np.argmax(off))
        raise InvalidOutput(f"{name}: row {row} has class probabilities summing to "
                            f"{proba[row].sum():.4f}; the first {k} columns of each row "
                            "must sum to 1")
    return arr


def combine(pred: np.ndarray) -> np.ndarray:
    """What bagging averages: the predictions as they are (RAMP's mean of every column)."""
    return np.asarray(pred, dtype=float)


# ----------------------------------------------------------------------- the scores
def _part(fn, needs: str, k: int):
    def part(y_true, y_pred, **params):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if needs == "proba":
            return fn(y_true[:, 0].astype(np.int64), y_pred[:, :k], **params)
        return fn(y_true[:, 1], y_pred[:, k], **params)
    return part


def _weighted(parts, weights):
    def fn(y_true, y_pred):
        return float(sum(w * p(y_true, y_pred) for w, p in zip(weights, parts, strict=True)))
    return fn


def bind_combined(task, bound: list) -> list:
    """The bound scores of a task (scorer.score_types.bind_scores), each reading its
    part of combined predictions, and every `combined` score bound to its parts."""
    where = f"{Path(task.path) / 'challenge.yml'}: key 'scores"
    if task.prediction_type == COMBINED:
        k = len(task.labels)
        bound = [b if b.type.needs not in ("proba", "value") else
                 replace(b, type=replace(b.type, fn=_part(b.type.fn, b.type.needs, k)))
                 for b in bound]
    by_name = {b.name: b for b in bound}
    out = []
    for i, (spec, b) in enumerate(zip(task.scores, bound, strict=True)):
        if b.type.needs != COMBINED:
            out.append(b)
            continue
        names, weights = b.params.get("scores"), b.params.get("weights")
        if set(b.params) - {"scores", "weights"}:
            raise KitError(f"{where}[{i}].params': a combined score takes scores and weights; "
                           f"found {sorted(b.params)}")
        if (not isinstance(names, list) or not names
                or not all(isinstance(n, str) for n in names)):
            raise KitError(f"{where}[{i}].params.scores': found {names!r}; expected a list "
                           "of the names of other scores of the kit")
        if (not isinstance(weights, list) or len(weights) != len(names)
                or not all(isinstance(w, int | float) and not isinstance(w, bool)
                           for w in weights)):
            raise KitError(f"{where}[{i}].params.weights': found {weights!r}; expected "
                           f"{len(names)} numbers, one per score")
        parts = []
        for name in names:
            part = by_name.get(name)
            if part is None or part.name == b.name or part.type.needs == COMBINED:
                raise KitError(f"{where}[{i}].params.scores': found {name!r}; expected the "
                               "name of another, not combined, score of the kit: "
                               + ", ".join(n for n in by_name if n != b.name))
            parts.append(part)
        directions = {p.lower_is_better for p in parts}
        if len(directions) > 1:
            raise KitError(f"{where}[{i}].params.scores': {names} mix lower-is-better and "
                           "higher-is-better scores, which cannot be combined")
        lower = directions.pop() if spec.lower_is_better is None else spec.lower_is_better
        stype = replace(b.type, fn=_weighted(parts, [float(w) for w in weights]),
                        lower_is_better=lower, needs="any")
        out.append(replace(b, type=stype, lower_is_better=lower, params={}))
    return out


def parts_of(task) -> dict[str, list[tuple[str, float]]]:
    """{combined score's name: [(part's name, weight), ...]}, for display."""
    out = {}
    for spec in task.scores:
        if spec.type == COMBINED and isinstance(spec.params.get("scores"), list):
            out[spec.name] = list(zip(spec.params.get("scores", []),
                                      spec.params.get("weights", []), strict=False))
    return out
