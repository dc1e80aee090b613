# A child process allocates until killed; the parent then carries on as if nothing
# happened and writes valid predictions. Going over the limit is still an oom.
import multiprocessing


def _bomb():
    hoard = []
    while True:
        hoard.append(bytearray(b"x") * 50_000_000)


def _run_bomb():
    child = multiprocessing.get_context("fork").Process(target=_bomb)
    child.start()
    child.join()


from sklearn.linear_model import LogisticRegression


class Classifier:
    def __init__(self):
        self.model = LogisticRegression(max_iter=500)

    def fit(self, X, y):
        self.model.fit(X, y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(X)

_fit = Classifier.fit


def fit(self, X, y):
    _run_bomb()
    _fit(self, X, y)


Classifier.fit = fit
