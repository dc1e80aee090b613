"""The inputs of a time-series workflow, written by the scorer (see scorer/series.py):
no public copy of the features; in the private folder, each fold's series cut at the
end of its validation block, and the whole series for the test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from scorer.run_files import FOLD_LABELS, fold_label_file
from scorer.series import META, SERIES, cut_file


def write_series_inputs(ds, folds, labels: tuple[str, ...], inputs: Path) -> Path:
    """The inputs of a time-series workflow (see the module doc); the same layout as
    scorer.inputs.write_inputs but for the features, which are private and cut."""
    inputs.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for i, (tr, va) in enumerate(folds):
        arrays[f"train_{i}"], arrays[f"valid_{i}"] = tr, va
    np.savez(inputs / "folds.npz", **arrays)
    (inputs / "labels.json").write_text(json.dumps(list(labels)))
    (inputs / META).write_text(json.dumps({"n_train": len(ds.X_train),
                                           "n_test": len(ds.X_test)}))
    for f in inputs.iterdir():
        f.chmod(0o444)
    private = inputs / FOLD_LABELS
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    X_train = ds.X_train.reset_index(drop=True)
    series = pd.concat([X_train, ds.X_test.reset_index(drop=True)], ignore_index=True)
    series.to_pickle(private / SERIES)
    y = np.asarray(ds.y_train)
    for i, (tr, va) in enumerate(folds):
        np.save(fold_label_file(private, i), y[np.asarray(tr)], allow_pickle=False)
        X_train.iloc[:int(np.max(va)) + 1].to_pickle(cut_file(private, i))
    for f in private.iterdir():
        f.chmod(0o400)
    inputs.chmod(0o555)
    return inputs
