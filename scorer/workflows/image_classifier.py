"""RAMP's image classification workflow: `image_classifier.py` defines `class
ImageClassifier` with `fit(img_loader)` and `predict_proba(img_loader)`.

Images are files, read lazily: the submission never receives an array of every image,
but an `ImageLoader` over the ids of the images it may use, which reads an image from
its file when asked (`load(i)`, one image; `parallel_load(indexes)`, a batch read by a
few threads; iterating, one after the other). So a data set larger than memory works:
a submission reads batch after batch, as RAMP's batch generators do.

For `fit`, the loader holds the fold's training images and their labels (`load(i)`
returns `(image, label)`, `parallel_load` `(images, labels)`); for `predict_proba`,
the images to predict and no label (`load(i)` returns the image). `predict_proba`
returns class probabilities (n, k) in the kit's label order, one row per image of its
loader, in the loader's order. The attributes are RAMP's: `X_array` (the ids, file
names inside `folder`), `y_array` (labels, or None), `folder`, `n_classes`,
`nb_examples`; gitramp adds `labels`, the kit's labels in the order of the columns.

An image file is a `.npy` array (read with allow_pickle=False); other formats are read
with Pillow when the kit's image has it. The scorer checks the files and gives the fold
processes a folder of the kit's images (scorer/images.py): features only, as the
tables of the other workflows, never a file of labels.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from scorer.workflows import WorkflowTask, class_probabilities, element

ELEMENTS = ("image_classifier.py",)
FOLDER = "images"  # in the fold processes' inputs: the image files (scorer/images.py)


class ImageSet:
    """The features of an image workflow: the ids (file names) of its images, in row
    order, and the folder they are in. Indexing with an array of row numbers gives
    those rows, as a frame's `iloc` would; the scorer splits folds with it."""

    def __init__(self, ids, folder: str | Path | None = None):
        self.ids = np.asarray(ids, dtype=str)
        self.folder = None if folder is None else str(folder)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, idx) -> ImageSet:
        return ImageSet(self.ids[idx], self.folder)

    def at(self, folder: str | Path) -> ImageSet:
        return ImageSet(self.ids, folder)

    def __repr__(self) -> str:
        return f"ImageSet({len(self)} images in {self.folder})"


def read_image(path: str | Path) -> np.ndarray:
    """One image file as an array: a .npy file as numpy saved it, another format with
    Pillow, when installed."""
    path = str(path)
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    try:
        from PIL import Image
    except ImportError:
        raise ValueError(f"{os.path.basename(path)}: only .npy images can be read without "
                         "Pillow; add pillow to the kit's requirements") from None
    with Image.open(path) as img:
        return np.asarray(img)


def _threads() -> int:
    """Reader threads: the CPUs this process may use (the limits' thread count)."""
    n = os.environ.get("OMP_NUM_THREADS", "")
    if n.isdigit() and int(n) > 0:
        return int(n)
    return max(1, len(os.sched_getaffinity(0)))


class ImageLoader:
    """What `ImageClassifier.fit` and `predict_proba` receive (RAMP's ImageLoader):
    the ids of the images they may read and, for `fit`, their labels."""

    def __init__(self, X_array, y_array, folder: str, n_classes: int,
                 labels: tuple[str, ...] = ()):
        self.X_array = np.asarray(X_array, dtype=str)
        self.y_array = None if y_array is None else np.asarray(y_array)
        self.folder = str(folder)
        self.n_classes = int(n_classes)
        self.labels = tuple(labels)
        self.nb_examples = len(self.X_array)

    def _path(self, index) -> str:
        index = int(index)
        if not 0 <= index < self.nb_examples:
            raise IndexError(f"image index {index} out of range: this loader has "
                             f"{self.nb_examples} images")
        return os.path.join(self.folder, self.X_array[index])

    def load(self, index):
        """Image `index` (0 to nb_examples - 1), with its label when fitting."""
        x = read_image(self._path(index))
        return x if self.y_array is None else (x, self.y_array[int(index)])

    def parallel_load(self, indexes, transforms=None):
        """The images of `indexes`, read by a few threads, as a list of arrays; with
        their labels (a list) when fitting. `transforms` is RAMP's argument; gitramp
        applies none (transform the arrays in the submission)."""
        paths = [self._path(i) for i in indexes]
        if len(paths) > 1:
            with ThreadPoolExecutor(min(_threads(), len(paths))) as pool:
                xs = list(pool.map(read_image, paths))
        else:
            xs = [read_image(p) for p in paths]
        if self.y_array is None:
            return xs
        return xs, [self.y_array[int(i)] for i in indexes]

    def __iter__(self):
        for i in range(self.nb_examples):
            yield self.load(i)

    def __len__(self) -> int:
        return self.nb_examples


def loader(X: ImageSet, y, task: WorkflowTask) -> ImageLoader:
    if X.folder is None:
        raise ValueError("the images' folder is unknown (scorer/ingest.py binds it)")
    return ImageLoader(X.ids, y, X.folder, len(task.labels), task.labels)


def fit(modules, X: ImageSet, y, task: WorkflowTask):
    model = element(modules, "image_classifier.py", "ImageClassifier")()
    model.fit(loader(X, y, task))
    return model


def predict(model, X: ImageSet, task: WorkflowTask):
    proba = class_probabilities(model, model.predict_proba(loader(X, None, task)), task)
    if proba.ndim != 2 or len(proba) != len(X):
        raise ValueError(f"ImageClassifier.predict_proba returned an array of shape "
                         f"{proba.shape} for {len(X)} images; expected ({len(X)}, "
                         f"{len(task.labels)}): one row of class probabilities per image")
    return proba
