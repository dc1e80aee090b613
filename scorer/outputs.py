"""Reads what a submission wrote, as untrusted data.

Backends hand over raw bytes by file name (the Docker backend from the container's
archive stream, the local one from files opened without following links); this
module accepts only names on the allowlist, parses them without pickle and checks
shape, dtype, finiteness and probability rows. Any failure raises InvalidOutput
with a reason that says which file, which row and what was expected.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scorer.result import INGEST_STAGES
from scorer.run_files import OUTPUT_ALLOWLIST
from scorer.untrusted import (
    FILE_CHARS,
    MESSAGE_CHARS,
    TRACEBACK_CHARS,
    clean_identifier,
    clean_int,
    clean_text,
)

MAX_JSON_BYTES = 64_000
PROBA_TOLERANCE = 1e-4
TIME_DIGITS = 2  # times are published to 0.01 s: finer is noise, and a side channel


class InvalidOutput(ValueError):
    pass


@dataclass
class FoldOutput:
    train: np.ndarray
    test: np.ndarray
    fit_time: float  # seconds, rounded to TIME_DIGITS; see scorer.ingest._times
    predict_time: float
    wall_time: float | None = None  # measured outside the submission's process
    cpu_time: float | None = None


def parse_error(files: dict[str, bytes]) -> dict | None:
    """The submission's own account of its failure (error.json), if readable.

    The file is written inside the submission's process, so every field is the
    submission's word: the stage must be one the ingestion names (else None), the line
    a number, and the texts are cleaned and bounded (scorer.untrusted) before anything
    quotes them."""
    raw = files.get("error.json")
    if raw is None or len(raw) > MAX_JSON_BYTES:
        return None
    try:
        d = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(d, dict):
        return None
    return {"stage": clean_identifier(d.get("stage"), INGEST_STAGES),
            "file": clean_text(d.get("file"), FILE_CHARS) or None,
            "line": clean_int(d.get("line")),
            "message": clean_text(d.get("message"), MESSAGE_CHARS) or None,
            "traceback": clean_text(d.get("traceback"), TRACEBACK_CHARS, lines=True,
                                    tail=True) or None}


def read_folds(files: dict[str, bytes], n_folds: int, n_train: int, n_test: int,
               check: Callable[[np.ndarray, str, int], np.ndarray]) -> list[FoldOutput]:
    """Every fold's predictions on its training and test rows, each file loaded without
    pickle and passed to the prediction type's `check(array, file name, n_rows)`, which
    returns it checked or raises InvalidOutput; with the fold's times. Only names on the
    allowlist are accepted."""
    bad = sorted(n for n in files if not OUTPUT_ALLOWLIST.match(n))
    if bad:
        raise InvalidOutput(f"unexpected output files {bad[:5]}; a submission writes only "
                            "predictions through the workflow")
    out = []
    for i in range(n_folds):
        train = check(load_npy(files, f"fold_{i}_train.npy"), f"fold_{i}_train.npy", n_train)
        test = check(load_npy(files, f"fold_{i}_test.npy"), f"fold_{i}_test.npy", n_test)
        out.append(FoldOutput(train, test, *_times(files, f"fold_{i}.json")))
    return out


def load_npy(files: dict[str, bytes], name: str) -> np.ndarray:
    """The array a submission wrote to `name`: a plain .npy file, never a pickle."""
    if name not in files:
        raise InvalidOutput(f"{name} is missing: the submission stopped before writing it")
    try:
        return np.load(io.BytesIO(files[name]), allow_pickle=False)
    except ValueError as e:
        raise InvalidOutput(f"{name} is not a plain numeric .npy array ({e}); pickled "
                            "objects are refused") from None
    except Exception as e:  # a malformed header or truncated file
        raise InvalidOutput(f"{name} is not a readable .npy file: {e}") from None


def parse_outputs(files: dict[str, bytes], n_folds: int, n_train: int, n_test: int,
                  n_classes: int) -> list[FoldOutput]:
    """Every fold's predictions, checked; n_classes is 0 for regression."""
    return read_folds(files, n_folds, n_train, n_test,
                      lambda arr, name, n_rows: check_predictions(arr, name, n_rows, n_classes))


def check_predictions(arr, name: str, n_rows: int, n_classes: int) -> np.ndarray:
    """Class probabilities (n_rows, n_classes), or values (n_rows,) when n_classes is 0."""
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise InvalidOutput(f"{name}: predictions of dtype {getattr(arr, 'dtype', '?')}; "
                            "expected numbers")
    what = "rows of class probabilities" if n_classes else "values"
    expected = (n_rows, n_classes) if n_classes else (n_rows,)
    if n_classes == 0 and arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.shape != expected:
        raise InvalidOutput(f"{name}: predictions of shape {arr.shape}; expected {expected} "
                            f"({n_rows} {what}" + (f" over {n_classes} classes)" if n_classes
                                                  else ")"))
    arr = arr.astype(np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        row = int(np.argwhere(~finite)[0][0])
        raise InvalidOutput(f"{name}: row {row} holds {arr[row]!r}; predictions must be "
                            "finite numbers (no NaN or infinity)")
    if n_classes:
        if (arr < -PROBA_TOLERANCE).any() or (arr > 1 + PROBA_TOLERANCE).any():
            row = int(np.argwhere((arr < 0) | (arr > 1))[0][0])
            raise InvalidOutput(f"{name}: row {row} has probabilities {arr[row]!r} outside "
                                "[0, 1]")
        sums = arr.sum(axis=1)
        off = np.abs(sums - 1) > 1e-3
        if off.any():
            row = int(np.argmax(off))
            raise InvalidOutput(f"{name}: row {row} has probabilities summing to "
                                f"{sums[row]:.4f}; each row must sum to 1")
    return arr


def _times(files: dict[str, bytes], name: str) -> tuple[float, ...]:
    """fit, predict (required), wall and CPU time (None where absent), rounded. The
    record is written by the supervisor, outside the submission's process."""
    raw = files.get(name)
    if raw is None:
        raise InvalidOutput(f"{name} is missing: the submission stopped before writing it")
    try:
        d = json.loads(raw[:MAX_JSON_BYTES])
        t = [float(d["fit_time"]), float(d["predict_time"])]
        t += [None if d.get(k) is None else float(d[k]) for k in ("wall_time", "cpu_time")]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidOutput(f"{name} is not the expected timing record") from None
    if not all(x is None or (math.isfinite(x) and x >= 0) for x in t):
        raise InvalidOutput(f"{name}: times {t} are not non-negative numbers")
    return tuple(None if x is None else round(x, TIME_DIGITS) for x in t)
