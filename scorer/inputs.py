"""Writes what the submission's processes may see, in the layout scorer/ingest.py reads.

    inputs/X_train.pkl, X_test.pkl   features of every training row and test row
    inputs/folds.npz                 train_<i>, valid_<i>: row indices of each fold
    inputs/labels.json               the class labels in the kit's order
    inputs/images/                   image_classifier only: the image files, features
                                     like the two above (scorer/images.py)
    inputs/fold_labels/fold_<i>.npy  the labels of fold i's TRAINING rows only
                                     (y_train[train_<i>]), one file per fold

No file holds the labels of every training row, and none holds a test label: those
stay in the scorer's memory. The features are world-readable; the fold label files
are readable by their owner only (mode 0400 in a 0700 folder). Each fold's process
reads its own file and nothing else: in the Docker sandbox the folder is root's and
a fold's process reads its file before it drops to its own unprivileged user
(scorer/backends/docker_warm.py); with K folds every row is a training row
somewhere, so no fold's process may ever reach another fold's file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from scorer.data import Dataset
from scorer.detection import truth_table
from scorer.images import write_images
from scorer.run_files import FOLD_LABELS, fold_label_file
from scorer.workflows.image_classifier import ImageSet


def write_inputs(ds: Dataset, folds, labels: tuple[str, ...], inputs: Path) -> Path:
    inputs.mkdir(parents=True, exist_ok=True)
    X_train, X_test = ds.X_train, ds.X_test
    if isinstance(X_train, ImageSet):  # image files: inputs/images, and the ids
        X_train, X_test = write_images(X_train, X_test, inputs)
    pd.to_pickle(X_train, inputs / "X_train.pkl")  # a frame, or an array of images
    pd.to_pickle(X_test, inputs / "X_test.pkl")
    arrays = {}
    for i, (tr, va) in enumerate(folds):
        arrays[f"train_{i}"], arrays[f"valid_{i}"] = tr, va
    np.savez(inputs / "folds.npz", **arrays)
    (inputs / "labels.json").write_text(json.dumps(list(labels)))
    for f in inputs.iterdir():
        if f.is_file():
            f.chmod(0o444)
    private = inputs / FOLD_LABELS
    private.mkdir(mode=0o700)
    private.chmod(0o700)  # whatever the umask
    y = np.asarray(ds.y_train)
    for i, (tr, _) in enumerate(folds):
        file = fold_label_file(private, i)
        labels = y[np.asarray(tr)]
        if labels.dtype == object:  # detections: the long table the workflow reads
            labels = truth_table(labels)
        np.save(file, labels, allow_pickle=False)
        file.chmod(0o400)
    inputs.chmod(0o555)
    return inputs
