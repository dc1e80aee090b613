# A drug-spectra submission that hunts for the test concentrations everywhere it can
# read: files, the scorer's label files, other processes' memory and environment.
# Found: it fails loudly with what it found. Nothing: it predicts the same class
# probabilities and one concentration for every row, which scores badly.
import glob
import os

# The image's own folders hold no data (it is built before any kit exists); every
# other folder is walked, /dev/shm included.
SKIP = ("/proc", "/sys", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/submission")


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
                try:
                    mem.seek(int(line.split("-", 1)[0], 16))
                    data = mem.read(64)
                except (OSError, ValueError, OverflowError):
                    continue
                if data:
                    return data
    except OSError:
        return None
    return None


def hunt(marks):
    """What this process can read that it should not: files holding any of `marks`
    (the label table's header, the hidden column's name), the scorer's label files,
    other processes' memory and environment."""
    found = []
    for path in _files():
        try:
            if os.path.getsize(path) > 20_000_000:
                continue
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        for mark in marks:
            if mark in data:
                found.append(f"{mark!r} in {path}")
    for path in [*glob.glob("/start/labels/*"), *glob.glob("/inputs/fold_labels/*")]:
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
        if any(m.lower() in env for m in (b"hidden", b"label", *marks)):
            found.append(f"/proc/{pid}/environ")
    return found


MARKS = [b"concentration"]  # the hidden quantity's column


def hunt_or_fail():
    found = hunt(MARKS)
    if found:
        raise RuntimeError("CONCENTRATIONS FOUND: " + "; ".join(found[:8]))


class FeatureExtractor:
    """Hunts when it trains, and once more when it transforms after training (the
    rows to predict, the test rows among them, are in hand then)."""

    def fit(self, X_df, y):
        hunt_or_fail()
        self.calls = 0

    def transform(self, X_df):
        self.calls += 1
        if self.calls == 2:  # the first call is fit's own; the second, a prediction's
            hunt_or_fail()
        return X_df.iloc[:, :2].to_numpy()
