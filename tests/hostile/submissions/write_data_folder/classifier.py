# Tries to change the training data and plant a file among the inputs.
import os
import sys

INPUTS = sys.argv[sys.argv.index("--inputs") + 1]


class Classifier:
    def fit(self, X, y):
        errors = []
        for action in (lambda: open(os.path.join(INPUTS, "X_train.pkl"), "r+b"),
                       lambda: open(os.path.join(INPUTS, "planted"), "w"),
                       lambda: os.remove(os.path.join(INPUTS, "folds.npz"))):
            try:
                action()
            except OSError as e:
                errors.append(str(e))
                continue
            raise RuntimeError("WROTE to the data folder")
        raise RuntimeError("data folder is read-only: " + "; ".join(errors))

    def predict_proba(self, X):
        raise AssertionError("never reached")
