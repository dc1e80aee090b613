"""`classifier.py` defines `class Classifier` with `fit(X, y)` and `predict_proba(X)`."""

from scorer.workflows import WorkflowTask, class_probabilities, element

ELEMENTS = ("classifier.py",)


def fit(modules, X, y, task: WorkflowTask):
    model = element(modules, "classifier.py", "Classifier")()
    model.fit(X, y)
    return model


def predict(model, X, task: WorkflowTask):
    return class_probabilities(model, model.predict_proba(X), task)
