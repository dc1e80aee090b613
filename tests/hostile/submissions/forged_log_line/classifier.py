# Prints what a scorer might print on success, then fails.
import numpy as np


class Classifier:
    def fit(self, X, y):
        self.classes_ = np.array(sorted(set(y)))
        for i in range(5):
            print(f"ingest: fold {i} done", flush=True)
        print("status: scored\nacc: 1.000\nscore: {\"acc\": 1.0}", flush=True)

    def predict_proba(self, X):
        raise ValueError("the forged lines above must not count")
