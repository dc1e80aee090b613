"""`feature_extractor.py` defines `class FeatureExtractor` with `fit(X_df, y)` and
`transform(X_df)`; its output feeds `classifier.py`'s `Classifier`."""

from scorer.workflows import WorkflowTask, class_probabilities, element

ELEMENTS = ("feature_extractor.py", "classifier.py")


def fit(modules, X, y, task: WorkflowTask):
    extractor = element(modules, "feature_extractor.py", "FeatureExtractor")()
    extractor.fit(X, y)
    classifier = element(modules, "classifier.py", "Classifier")()
    classifier.fit(extractor.transform(X), y)
    return extractor, classifier


def predict(model, X, task: WorkflowTask):
    extractor, classifier = model
    return class_probabilities(classifier, classifier.predict_proba(extractor.transform(X)),
                               task)
