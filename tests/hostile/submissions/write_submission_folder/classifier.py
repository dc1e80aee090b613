# Tries to change its own files and add one, so a later run would see them.
import os

HERE = os.path.dirname(os.path.abspath(__file__))


class Classifier:
    def fit(self, X, y):
        errors = []
        for action in (lambda: open(os.path.join(HERE, "planted.py"), "w"),
                       lambda: open(__file__, "a"),
                       lambda: os.chmod(__file__, 0o777)):
            try:
                action()
            except OSError as e:
                errors.append(str(e))
                continue
            raise RuntimeError("WROTE to the submission folder")
        raise RuntimeError("submission folder is read-only: " + "; ".join(errors))

    def predict_proba(self, X):
        raise AssertionError("never reached")
