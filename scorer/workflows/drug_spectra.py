"""RAMP's drug-spectra workflow: one submission predicts a class and a quantity.

`feature_extractor_clf.py` (`FeatureExtractor`: `fit(X_df, y)`, `transform(X_df)`)
feeds `classifier.py`'s `Classifier` (`fit(X, y)`, `predict_proba(X)`), which predicts
the class; `feature_extractor_reg.py` feeds `regressor.py`'s `Regressor`, which predicts
the quantity. As in RAMP, the regression part sees the class too: one column per label
(named by the label) added to `X_df`, holding the true class (0 or 1) when fitting and
the classifier's probabilities when predicting.

`y` holds two columns, the label and the quantity, as strings (the fold's label file is
a plain array); the classifier receives the labels, the regressor the quantities as
floats. Predictions are the class probabilities in the kit's label order followed by
the quantity: shape (n, k + 1), RAMP's layout of combined predictions.
"""

from __future__ import annotations

import numpy as np

from scorer.workflows import WorkflowTask, class_probabilities, element

ELEMENTS = ("feature_extractor_clf.py", "classifier.py", "feature_extractor_reg.py",
            "regressor.py")


def split_target(y) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    if y.ndim != 2 or y.shape[1] != 2:
        raise ValueError(f"expected labels and quantities in two columns, found shape {y.shape}")
    return y[:, 0], y[:, 1].astype(float)


def _with_classes(X, labels: tuple[str, ...], columns: np.ndarray):
    X = X.copy()
    for j, label in enumerate(labels):
        X[label] = columns[:, j]
    return X


def fit(modules, X, y, task: WorkflowTask):
    y_clf, y_reg = split_target(y)
    fe_clf = element(modules, "feature_extractor_clf.py", "FeatureExtractor")()
    fe_clf.fit(X, y_clf)
    clf = element(modules, "classifier.py", "Classifier")()
    clf.fit(fe_clf.transform(X), y_clf)
    truth = np.column_stack([y_clf == label for label in task.labels])
    X_reg = _with_classes(X, task.labels, truth)
    fe_reg = element(modules, "feature_extractor_reg.py", "FeatureExtractor")()
    fe_reg.fit(X_reg, y_reg)
    reg = element(modules, "regressor.py", "Regressor")()
    reg.fit(fe_reg.transform(X_reg), y_reg)
    return fe_clf, clf, fe_reg, reg


def predict(model, X, task: WorkflowTask):
    fe_clf, clf, fe_reg, reg = model
    proba = class_probabilities(clf, clf.predict_proba(fe_clf.transform(X)), task)
    X_reg = _with_classes(X, task.labels, proba)
    value = np.asarray(reg.predict(fe_reg.transform(X_reg)), dtype=float).reshape(-1, 1)
    return np.hstack([proba, value])
