# A clusterer that hunts for the test labels (the tables of hits and their particles)
# everywhere it can read: files, the scorer's label files, other processes' memory and
# environment. Found: it fails loudly with what it found. Nothing: it puts every hit in
# no cluster, which scores 0.
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


MARKS = [b"x,y,cluster_id"]  # the header of the hit tables


def hunt_or_fail():
    found = hunt(MARKS)
    if found:
        raise RuntimeError("LABELS FOUND: " + "; ".join(found[:8]))


class Clusterer:
    """Hunts when it trains, and once more when first asked for an event (the test
    events among those it is given are in hand then)."""

    def fit(self, X, y):
        hunt_or_fail()
        self.hunted = False

    def predict_single_event(self, X_event):
        if not self.hunted:
            hunt_or_fail()
            self.hunted = True
        return [-1] * len(X_event)
