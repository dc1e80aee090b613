"""`object_detector.py` defines `class ObjectDetector` with `fit(X, y)` and `predict(X)`
(RAMP's object detection workflow, the Mars craters shape).

`X` is an array of images, one row per image (n, height, width[, channels]). `y` holds,
for each image, a list of the objects in it as `(x, y, radius)` tuples, and `predict`
returns, for each image, a list of detections as `(confidence, x, y, radius)` tuples, in
RAMP's order: `x` is the row and `y` the column of the centre, in pixels. An image
without objects has an empty list.

Between processes both travel as long tables of floats, one row per object, never as
pickles: the labels of a fold's training images as (image_index, x, y, radius), the
predictions as (image_index, confidence, x, y, radius). The scorer reads the
predictions back strictly (scorer/detection.py).
"""

from __future__ import annotations

import numpy as np

from scorer.workflows import WorkflowTask, element

ELEMENTS = ("object_detector.py",)
TRUTH_COLUMNS = ("image_index", "x", "y", "radius")
PREDICTION_COLUMNS = ("image_index", "confidence", "x", "y", "radius")


def fit(modules, X, y, task: WorkflowTask):
    model = element(modules, "object_detector.py", "ObjectDetector")()
    model.fit(X, objects_of(y, len(X)))
    return model


def predict(model, X, task: WorkflowTask):
    return detection_table(model.predict(X), len(X))


def objects_of(table, n_images: int) -> np.ndarray:
    """A long table (image_index, values...) as RAMP hands labels to a submission: an
    object array of `n_images` lists of tuples of floats, in the table's row order."""
    out = np.empty(n_images, dtype=object)
    for i in range(n_images):
        out[i] = []
    for row in np.asarray(table, dtype=float).reshape(-1, len(TRUTH_COLUMNS)):
        out[int(row[0])].append(tuple(float(v) for v in row[1:]))
    return out


def table_of(objects, width: int) -> np.ndarray:
    """Per-image arrays of `width` values each as one long table with the image index
    first (the inverse of `objects_of` for labels, width 3; detections, width 4)."""
    parts = [np.column_stack([np.full(len(a), i, dtype=float), np.asarray(a, dtype=float)])
             for i, a in enumerate(objects) if len(a)]
    return np.concatenate(parts) if parts else np.empty((0, width + 1))


def detection_table(pred, n_images: int) -> np.ndarray:
    """What `ObjectDetector.predict` returned, checked for shape: one list of
    (confidence, x, y, radius) per image, as one float table with the image index
    first. The values themselves are checked by the scorer."""
    try:
        n = len(pred)
    except TypeError:
        raise TypeError(f"ObjectDetector.predict returned {type(pred).__name__}; expected "
                        f"one list of (confidence, x, y, radius) tuples per image") from None
    if n != n_images:
        raise ValueError(f"ObjectDetector.predict returned {n} lists of detections for "
                         f"{n_images} images; expected one list per image")
    checked = []
    for i in range(n_images):
        objs = pred[i]
        try:
            arr = np.asarray([] if objs is None else objs, dtype=float)
        except (TypeError, ValueError) as e:
            raise ValueError(f"ObjectDetector.predict: the detections of image {i} are not "
                             f"(confidence, x, y, radius) tuples of numbers: {e}") from None
        if arr.size and (arr.ndim != 2 or arr.shape[1] != 4):
            raise ValueError(f"ObjectDetector.predict: the detections of image {i} have shape "
                             f"{arr.shape}; expected a list of (confidence, x, y, radius) "
                             "tuples")
        checked.append(arr if arr.size else np.empty((0, 4)))
    return table_of(checked, len(PREDICTION_COLUMNS) - 1)
