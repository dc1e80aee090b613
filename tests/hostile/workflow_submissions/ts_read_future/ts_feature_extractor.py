# A time-series feature extractor that tries to read past its cut-off: every file it
# can open (a longer series, a data CSV), the whole series where the scorer keeps it,
# other processes' environment and memory (the supervisor's first), and its own heap.
# If it finds anything it fails loudly with what it found; otherwise its regressor
# predicts, for every row, how many rows of the series this process held, so the
# scorer's own predictions say what each process could reach (and score badly).
import gc
import glob
import os

import numpy as np
import pandas as pd

TARGET = "sst_in_3_months"
# The image's own folders hold no data (it is built before any kit exists); every
# other folder is walked, /dev/shm included.
SKIP = ("/proc", "/sys", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/submission")
HELD = [0]  # rows of the series this process holds
FITTED = [False]  # set by the regressor's fit


def _rows(obj):
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return len(obj)
    if isinstance(obj, np.ndarray) and obj.ndim >= 1:
        return obj.shape[0]
    return 0


def _files():
    for top, dirs, files in os.walk("/"):
        if top.startswith(SKIP) or (top.startswith("/dev") and not top.startswith("/dev/shm")):
            dirs[:] = []
            continue
        for f in files:
            yield os.path.join(top, f)


def _other_memory(pid):
    """A few bytes of another process's memory, or None (what ptrace rules refuse)."""
    try:
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
            for line in maps:
                start = int(line.split("-", 1)[0], 16)
                try:
                    mem.seek(start)
                    data = mem.read(64)
                except (OSError, ValueError, OverflowError):
                    continue
                if data:
                    return data
    except OSError:
        return None
    return None


def hunt(held):
    found = []
    for path in _files():
        try:
            if os.path.getsize(path) > 20_000_000:
                continue
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        if TARGET.encode() in data:
            found.append(f"a file naming the target: {path}")
        try:
            n = _rows(pd.read_pickle(path))
        except Exception:
            continue
        if n > held:
            found.append(f"{n} rows in {path}")
    # where the scorer keeps the whole series and every fold's labels
    for path in ["/start/labels/series.pkl", "/inputs/fold_labels/series.pkl",
                 *glob.glob("/start/labels/*"), *glob.glob("/inputs/fold_labels/*")]:
        try:
            with open(path, "rb") as f:
                found.append(f"{len(f.read())} bytes of {path}")
        except OSError:
            pass
    me = os.getpid()
    for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) != me]:
        if _other_memory(pid) is not None:
            found.append(f"the memory of process {pid}")
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().lower()
        except OSError:
            continue
        if any(w in env for w in (b"hidden", b"label", TARGET.encode())):
            found.append(f"/proc/{pid}/environ")
    most = max((_rows(o) for o in gc.get_objects()), default=0)
    if most > held:
        found.append(f"{most} rows in its own memory")
    return found


class FeatureExtractor:
    """Hunts once per process, when asked for the features it predicts from: then
    X_ds is all of the series the process was given."""

    def fit(self, X_ds, y):
        pass

    def transform(self, X_ds):
        if FITTED[0] and not HELD[0]:
            HELD[0] = len(X_ds)
            found = hunt(HELD[0])
            if found:
                raise RuntimeError("FUTURE FOUND: " + "; ".join(found[:8]))
        return np.zeros((len(X_ds), 1))
