# Tries mount(2) directly: a tmpfs over /, and a remount of the data read-write.
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
MS_REMOUNT, MS_BIND = 32, 4096


class Classifier:
    def fit(self, X, y):
        errors = []
        for src, target, fstype, flags in ((b"none", b"/tmp", b"tmpfs", 0),
                                           (b"/inputs", b"/inputs", None, MS_REMOUNT | MS_BIND),
                                           (b"proc", b"/tmp", b"proc", 0)):
            if libc.mount(src, target, fstype, flags, None) == 0:
                raise RuntimeError(f"MOUNTED {target!r}")
            errors.append(f"{target.decode()}: {os.strerror(ctypes.get_errno())}")
        raise RuntimeError("mount refused: " + "; ".join(errors))

    def predict_proba(self, X):
        raise AssertionError("never reached")
