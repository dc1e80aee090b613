"""The data a kit is scored on: public copies in the kit, hidden copies on runners.

A data folder has the kit's layout (`data.train`, `data.test` of challenge.yml). On
a runner it is the hidden folder it was given; elsewhere the kit's own public
copies serve. `problem.py` may replace the CSV reading with `get_train_data(path)`
and `get_test_data(path)`, each returning `(X, y)`.

The target keeps the type the data gives it (integers stay integers, as in RAMP):
class labels of challenge.yml are matched to it by value (`label_codes`).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scorer import clustering, combined
from scorer.cv_time import is_series
from scorer.detection import truth
from scorer.errors import GitrampError
from scorer.images import image_set
from scorer.task import Task


@dataclass
class Dataset:
    X_train: pd.DataFrame  # or an array of images (n, height, width[, channels]),
    # or the ids of image files (scorer/images.py)
    y_train: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray
    source: Path  # the data folder it came from


class DataError(GitrampError):
    pass


def load_data(kit: Task, data_dir: Path | None = None, *, quick: bool = False) -> Dataset:
    """`quick`: for --quick-test, hooks run with RAMP_TEST_MODE=1, as ramp-test's quick
    test runs them (a RAMP kit's loaders may then read a small public copy)."""
    root = Path(data_dir) if data_dir else kit.path
    problem = kit.problem()
    parts = []
    for split in ("train", "test"):
        hook = getattr(problem, f"get_{split}_data", None) if problem else None
        if hook is not None:
            with _ramp_test_mode(quick):
                X, y = hook(root)
        else:
            X, y = _read_csv(kit, root / kit.data[split], split)
        X = _frame(X)
        if kit.data.images is not None:  # image files: a row's features are its id
            X = image_set(X, root / kit.data.images, f"{root / kit.data[split]}")
        if kit.prediction_type == "clustering":  # (event, cluster) per point
            try:
                parts.append((X, clustering.truth(X, y, f"{root / kit.data[split]}")))
            except ValueError as e:
                raise DataError(str(e)) from None
            continue
        parts.append((X, _target(kit, np.asarray(y), split, root)))
    (X_train, y_train), (X_test, y_test) = parts
    return Dataset(X_train, y_train, X_test, y_test, root)


@contextmanager
def _ramp_test_mode(on: bool):
    before = os.environ.get("RAMP_TEST_MODE")
    if on:
        os.environ["RAMP_TEST_MODE"] = "1"
    try:
        yield
    finally:
        if on and before is None:
            del os.environ["RAMP_TEST_MODE"]
        elif on:
            os.environ["RAMP_TEST_MODE"] = before


def _read_csv(kit: Task, file: Path, split: str) -> tuple[pd.DataFrame, np.ndarray]:
    if not file.is_file():
        hint = ("run `make data` (or `python -m kits.make_data`) to generate the example "
                "kits' data" if "kits" in file.parts else f"check data.{split} in challenge.yml")
        raise DataError(f"{file}: {split} data not found; {hint}.")
    df = pd.read_csv(file)
    if kit.target not in df.columns:
        raise DataError(f"{file}: no column {kit.target!r} (the target of challenge.yml); "
                        f"columns are {', '.join(map(str, df.columns[:20]))}")
    missing = [c for c in kit.data.drop if c not in df.columns]
    if missing:
        raise DataError(f"{file}: no column {missing[0]!r} (data.drop of challenge.yml); "
                        f"columns are {', '.join(map(str, df.columns[:20]))}")
    if kit.prediction_type == "combined":  # two targets: the class and the quantity
        try:
            return combined.read_target(kit, df, file)
        except ValueError as e:
            raise DataError(str(e)) from None
    return df.drop(columns=[kit.target, *kit.data.drop]), df[kit.target].to_numpy()


def _frame(X) -> pd.DataFrame:
    if isinstance(X, np.ndarray) and X.ndim > 2:
        return X  # images, one per row: given to the submission as they are
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))


def _target(kit: Task, y: np.ndarray, split: str, root: Path) -> np.ndarray:
    if kit.prediction_type == "detection":
        try:
            return truth(y, f"{root}: {split} labels")
        except ValueError as e:
            raise DataError(str(e)) from None
    if kit.prediction_type == "combined":
        try:
            return combined.check_target(kit, y, f"{root}: {split} data", label_codes)
        except ValueError as e:
            raise DataError(str(e)) from None
    if kit.is_classification:
        if y.dtype.kind not in "biuf":
            y = y.astype(str)  # objects (pandas strings) as plain strings
        codes = label_codes(kit.labels, y)
        if (codes < 0).any():
            unknown = sorted({str(v) for v in y[codes < 0]})
            raise DataError(f"{root}: {split} labels {unknown[:5]} are not among "
                            f"prediction.labels {list(kit.labels)} of challenge.yml")
        return y
    try:
        return y.astype(float)
    except ValueError:
        raise DataError(
            f"{root}: the {split} target of a regression kit must be numeric") from None


def label_codes(labels: tuple[str, ...], y: np.ndarray) -> np.ndarray:
    """Each value of `y` as the index of its label in `labels`, -1 when it has none.

    Labels are compared by value: numbers with numbers (the label `1` of challenge.yml
    matches 1 and 1.0 in the data), anything else as text."""
    y = np.asarray(y)
    if y.dtype.kind in "iuf":
        index: dict = {}
        for i, label in enumerate(labels):
            try:
                index.setdefault(float(label), i)
            except ValueError:
                continue
        keys = y.astype(float)
    else:
        index = {label: i for i, label in enumerate(labels)}
        keys = y.astype(str)
    uniques, inverse = np.unique(keys, return_inverse=True)
    return np.array([index.get(u, -1) for u in uniques.tolist()],
                    dtype=np.int64)[inverse.reshape(-1)]


def subsample(ds: Dataset, kit: Task, n_train: int = 200, n_test: int = 100,
              seed: int = 0) -> Dataset:
    """A small, stratified where it can be, slice of the data for --quick-test."""
    rng = np.random.default_rng(seed)

    def pick(y: np.ndarray, n: int) -> np.ndarray:
        if len(y) <= n:
            return np.arange(len(y))
        if not kit.is_classification:
            return np.sort(rng.choice(len(y), n, replace=False))
        # Round-robin over classes so that each class keeps some rows.
        by_class = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
        order = [i for group in zip(*_pad(by_class), strict=False) for i in group if i >= 0]
        return np.sort(np.asarray(order[:n]))

    tr, te = pick(ds.y_train, n_train), pick(ds.y_test, n_test)
    if kit.prediction_type == "clustering":  # whole events: each is scored as one
        tr, te = clustering.first_events(ds.y_train, n_train), clustering.first_events(
            ds.y_test, n_test)
    if is_series(kit.workflow):  # one series: the latest training rows, then the test's first
        tr = np.arange(max(0, len(ds.y_train) - n_train), len(ds.y_train))
        te = np.arange(min(n_test, len(ds.y_test)))
    return Dataset(_rows(ds.X_train, tr), ds.y_train[tr], _rows(ds.X_test, te), ds.y_test[te],
                   ds.source)


def _rows(X, idx: np.ndarray):
    return X.iloc[idx].reset_index(drop=True) if isinstance(X, pd.DataFrame) else X[idx]


def _pad(groups: list[np.ndarray]) -> list[np.ndarray]:
    n = max(len(g) for g in groups)
    return [np.concatenate([g, -np.ones(n - len(g), dtype=int)]) for g in groups]
