"""Workflows: how a submission's elements are trained and asked for predictions.

One module per workflow, each with `ELEMENTS` (the files a submission provides),
`fit(elements, X, y, task)` returning a fitted model and `predict(model, X, task)`
returning predictions: class probabilities (n, k) in the kit's label order for
classification, values (n,) for regression. The element names and method
signatures are RAMP's, so a RAMP submission runs unchanged.

These modules run in the submission's process (see scorer/ingest.py): they import
only numpy, pandas and scikit-learn.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

NAMES = ("estimator", "classifier", "regressor",
         "feature_extractor_classifier", "feature_extractor_regressor", "object_detector",
         "ts_feature_extractor_regressor", "drug_spectra", "image_classifier", "clusterer")


@dataclass(frozen=True)
class WorkflowTask:
    """What a workflow knows of the task, in the submission's process (which has no
    pydantic, nor the kit): the class labels in the kit's order."""

    labels: tuple[str, ...]  # empty for regression

    @property
    def is_classification(self) -> bool:
        return bool(self.labels)


def get_workflow(name: str) -> ModuleType:
    if name not in NAMES:
        raise ValueError(f"unknown workflow {name!r}; expected one of {', '.join(NAMES)}")
    return importlib.import_module(f"scorer.workflows.{name}")


def elements(name: str) -> tuple[str, ...]:
    return get_workflow(name).ELEMENTS


# What each element file must define, the same in every workflow (RAMP's names).
DEFINES = {"estimator.py": "get_estimator", "classifier.py": "Classifier",
           "regressor.py": "Regressor", "feature_extractor.py": "FeatureExtractor",
           "object_detector.py": "ObjectDetector",
           "ts_feature_extractor.py": "FeatureExtractor",
           "feature_extractor_clf.py": "FeatureExtractor",
           "feature_extractor_reg.py": "FeatureExtractor",
           "image_classifier.py": "ImageClassifier", "clusterer.py": "Clusterer"}


class MissingElement(AttributeError):
    """A submission's file lacks the class or function its workflow calls: an error of
    that file (`file`), found when the files are loaded."""

    def __init__(self, file: str, attr: str, module: ModuleType):
        names = [n for n in vars(module) if not n.startswith("_")]
        guess = difflib.get_close_matches(attr, names, n=1)
        hint = f"; did you mean {guess[0]}?" if guess else ""
        super().__init__(f"{file} must define {attr}{hint} (see the kit's starting_kit)")
        self.file = file


def check_elements(modules: dict[str, ModuleType]) -> None:
    """Raise MissingElement when a loaded file lacks what its workflow needs from it."""
    for file, module in modules.items():
        attr = DEFINES.get(file)
        if attr is not None and not hasattr(module, attr):
            raise MissingElement(file, attr, module)


def element(modules: dict[str, ModuleType], file: str, attr: str):
    """The class or function `attr` that the submission's `file` must define."""
    module = modules[file]
    if not hasattr(module, attr):
        raise MissingElement(file, attr, module)
    return getattr(module, attr)


def class_probabilities(model, proba, task: WorkflowTask) -> np.ndarray:
    """`predict_proba` output as (n, k) floats in the kit's label order.

    Columns follow the model's `classes_` when it has them (scikit-learn's
    convention); a class absent from a fold's training part gets probability 0.
    """
    import numpy as np  # on use: the kit loader reads NAMES, and starts faster without it

    proba = np.asarray(proba, dtype=float)
    classes = getattr(model, "classes_", None)
    k = len(task.labels)
    if classes is None:
        return proba
    classes = [str(c) for c in classes]
    if classes == list(task.labels) or proba.ndim != 2 or proba.shape[1] != len(classes):
        return proba
    out = np.zeros((proba.shape[0], k))
    for j, c in enumerate(model.classes_):
        i = _label_position(task.labels, c)
        if i is not None:
            out[:, i] = proba[:, j]
    return out


def _label_position(labels: tuple[str, ...], value) -> int | None:
    """Where a model's class is among the kit's labels, compared as the data's target
    is (scorer.data.label_codes): as text, else numbers by value (the label `1.0` of a
    kit is the class 1 of a model fitted on integers)."""
    text = str(value)
    if text in labels:
        return labels.index(text)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    for i, label in enumerate(labels):
        try:
            if float(label) == number:
                return i
        except ValueError:
            continue
    return None
