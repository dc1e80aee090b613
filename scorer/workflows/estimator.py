"""`estimator.py` defines `get_estimator()` returning a scikit-learn estimator
(often a Pipeline); classifiers are asked for `predict_proba`, regressors `predict`."""

from scorer.workflows import WorkflowTask, class_probabilities, element

ELEMENTS = ("estimator.py",)


def fit(modules, X, y, task: WorkflowTask):
    model = element(modules, "estimator.py", "get_estimator")()
    model.fit(X, y)
    return model


def predict(model, X, task: WorkflowTask):
    if task.is_classification:
        return class_probabilities(model, model.predict_proba(X), task)
    return model.predict(X)
