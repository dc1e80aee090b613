"""Writes what the submission's process may see: training data with labels, test
features only, the folds and the class labels (the layout scorer/ingest.py reads).
Test labels are never written here: they stay in the scorer's memory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from scorer.data import Dataset


def write_inputs(ds: Dataset, folds, labels: tuple[str, ...], inputs: Path) -> Path:
    inputs.mkdir(parents=True, exist_ok=True)
    ds.X_train.to_pickle(inputs / "X_train.pkl")
    ds.X_test.to_pickle(inputs / "X_test.pkl")
    np.save(inputs / "y_train.npy", ds.y_train, allow_pickle=False)
    arrays = {}
    for i, (tr, va) in enumerate(folds):
        arrays[f"train_{i}"], arrays[f"valid_{i}"] = tr, va
    np.savez(inputs / "folds.npz", **arrays)
    (inputs / "labels.json").write_text(json.dumps(list(labels)))
    for f in inputs.iterdir():
        f.chmod(0o444)
    inputs.chmod(0o555)
    return inputs
