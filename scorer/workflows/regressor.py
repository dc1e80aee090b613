"""`regressor.py` defines `class Regressor` with `fit(X, y)` and `predict(X)`."""

from scorer.workflows import WorkflowTask, element

ELEMENTS = ("regressor.py",)


def fit(modules, X, y, task: WorkflowTask):
    model = element(modules, "regressor.py", "Regressor")()
    model.fit(X, y)
    return model


def predict(model, X, task: WorkflowTask):
    return model.predict(X)
