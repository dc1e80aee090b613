"""Reads the Mars craters kit's data (kits/craters.py makes it): the images of a split
from `data/<split>.npy`, its labels from `data/<split>.csv` (image_index, x, y, radius),
as RAMP's object detection workflow hands them to a submission: an array of images
and, per image, a list of (x, y, radius) tuples."""

from pathlib import Path

import numpy as np
import pandas as pd


def _read(path, split: str):
    folder = Path(path) / "data"
    images = np.load(folder / f"{split}.npy", allow_pickle=False)
    labels = pd.read_csv(folder / f"{split}.csv")
    craters = np.empty(len(images), dtype=object)
    for i in range(len(images)):
        craters[i] = []
    for row in labels.itertuples(index=False):
        craters[int(row.image_index)].append((float(row.x), float(row.y), float(row.radius)))
    return images, craters


def get_train_data(path):
    return _read(path, "train")


def get_test_data(path):
    return _read(path, "test")
