"""`feature_extractor.py` defines `class FeatureExtractor` with `fit(X_df, y)` and
`transform(X_df)`; its output feeds `regressor.py`'s `Regressor`."""

from scorer.workflows import WorkflowTask, element

ELEMENTS = ("feature_extractor.py", "regressor.py")


def fit(modules, X, y, task: WorkflowTask):
    extractor = element(modules, "feature_extractor.py", "FeatureExtractor")()
    extractor.fit(X, y)
    regressor = element(modules, "regressor.py", "Regressor")()
    regressor.fit(extractor.transform(X), y)
    return extractor, regressor


def predict(model, X, task: WorkflowTask):
    extractor, regressor = model
    return regressor.predict(extractor.transform(X))
