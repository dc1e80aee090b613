# Tries to get new namespaces (a user namespace would give it root inside it).
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
FLAGS = {"user": 0x10000000, "mount": 0x00020000, "net": 0x40000000, "pid": 0x20000000}


class Classifier:
    def fit(self, X, y):
        errors = []
        for name, flag in FLAGS.items():
            if libc.unshare(flag) == 0:
                raise RuntimeError(f"UNSHARED a {name} namespace")
            errors.append(f"{name}: {os.strerror(ctypes.get_errno())}")
        raise RuntimeError("unshare refused: " + "; ".join(errors))

    def predict_proba(self, X):
        raise AssertionError("never reached")
