# Allocates (and touches) memory until something gives.
class Classifier:
    def fit(self, X, y):
        hoard = []
        while True:
            hoard.append(bytearray(b"x") * 50_000_000)

    def predict_proba(self, X):
        raise AssertionError("never reached")
