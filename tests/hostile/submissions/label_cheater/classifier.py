# A cheater that scores 1.000 on the rows it must predict if it finds their labels.
#
# fit() gets the labels of this fold's training rows. Every fold it (1) plants those
# rows' labels in every channel it can think of, for the folds that come after it,
# and (2) hunts: it reads every file of every mount but the image's own root, every
# writable place, the environment, /proc, the label files of the other folds, the
# labels planted by earlier folds (files, System V shared memory and message queues,
# POSIX message queues, a daemon on the loopback and on an abstract socket), and the
# memory of every process it can open. With K folds every row is a training row
# somewhere, so one working channel gives it every held-out label. A row whose
# label it knows gets probability 1; any other row, uniform probabilities (chance).
# Each fold prints one line, CHEATER {...}, saying what it found and where.
import ctypes
import io
import json
import os
import re
import socket
import stat
import sys
import time

import numpy as np
import pandas as pd

ARGS = dict(zip(sys.argv[1::2], sys.argv[2::2], strict=False))
INPUTS, OUT, FOLD = ARGS.get("--inputs", ""), ARGS.get("--out", ""), ARGS.get("--fold", "?")
# Only in gitramp's sandbox (a fold's own user, the supervisor's /start) does it plant
# and hunt everywhere; anywhere else (the local backend, on a real machine) it stays
# inside the run's own temporary folders.
IN_CONTAINER = os.getuid() >= 10001 and os.path.isdir("/start") and OUT.startswith("/out/")
PLANT = ".cheat_labels_fold_"
SHM_KEY, MSG_KEY, MQ_NAME = 0x5EED, 0x5EEE, b"/cheat_labels"
ABSTRACT, TCP_PORT = "\0cheat_labels", 47123
SKIP_TREES = ("/proc", "/sys")
BUDGET = 6.0  # seconds of hunting per fold
libc = ctypes.CDLL(None, use_errno=True)


def key(row):
    return tuple(round(float(v), 6) for v in row)


class Report:
    def __init__(self):
        self.found, self.sources, self.breaches, self.tried = {}, set(), [], 0

    def add(self, rows, labels, source):
        new = 0
        for r, y in zip(rows, labels, strict=False):
            k = key(r)
            if k not in self.found:
                self.found[k] = str(y)
                new += 1
        if new:
            self.sources.add(source)


# ------------------------------------------------------------------ what it knows
def public_inputs():
    X = pd.read_pickle(os.path.join(INPUTS, "X_train.pkl")).to_numpy()
    with np.load(os.path.join(INPUTS, "folds.npz")) as z:
        trains = [z[f"train_{i}"] for i in range(len([k for k in z.files if "train" in k]))]
    with open(os.path.join(INPUTS, "labels.json")) as f:
        labels = json.load(f)
    return X, trains, labels


def label_array(arr, labels):
    arr = np.asarray(arr)
    if arr.ndim != 1 or arr.dtype.kind not in "USO" or not len(arr):
        return False
    return set(map(str, np.unique(arr.astype(str)))) <= set(labels)


def align(arr, X, trains, report, source):
    """A label array is useful if it lines up with the training rows, or with a fold's
    (named in its file name, or the only fold of that length)."""
    if len(arr) == len(X):
        report.add(X, arr, source)
        return
    named = re.search(r"fold_(\d+)\.npy$", source)
    if named and int(named.group(1)) < len(trains):
        candidates = [trains[int(named.group(1))]]
    else:
        candidates = [tr for tr in trains if len(tr) == len(arr)]
    if len(candidates) == 1 and len(candidates[0]) == len(arr):
        report.add(X[candidates[0]], arr, source)


# ------------------------------------------------------------------ hunting
def read_file(path, X, trains, labels, report):
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > 5_000_000:  # no /dev/zero
            return
        report.tried += 1
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return
    if os.path.basename(path).startswith(PLANT):
        try:
            record = json.loads(data)
            report.add(record["rows"], record["labels"], f"planted file {path}")
        except (ValueError, KeyError):
            pass
        return
    if data.startswith(b"\x93NUMPY"):
        try:
            arr = np.load(io.BytesIO(data), allow_pickle=False)
        except Exception:
            return
        if label_array(arr, labels):
            align(arr, X, trains, report, f"label file {path}")
    elif b"species" in data[:4096]:
        try:
            df = pd.read_csv(io.BytesIO(data))
            y = df.pop("species").astype(str).to_numpy()
            report.add(df.to_numpy(), y, f"csv {path}")
        except Exception:
            pass


def mount_points():
    points = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split()[4]
                if point != "/" and not point.startswith(SKIP_TREES):
                    points.append(point)
    except OSError:
        pass
    return points


def hunt_files(X, trains, labels, report, deadline):
    if IN_CONTAINER:
        roots = ["/start", "/inputs", "/out", "/tmp", "/dev/shm", "/dev/mqueue",
                 *mount_points(), os.getcwd(), os.path.expanduser("~")]
    else:  # on a participant's machine: its own inputs and the run's temporary folder
        roots = [INPUTS, os.path.dirname(os.path.dirname(OUT))]
    seen = set()
    for root in roots:
        for top, dirs, files in os.walk(root):
            if top.startswith(SKIP_TREES) or time.monotonic() > deadline:
                dirs[:] = []
                continue
            for name in files:
                path = os.path.join(top, name)
                if path not in seen:
                    seen.add(path)
                    read_file(path, X, trains, labels, report)


def writable_places():
    if not IN_CONTAINER:  # the local backend's temporary folder of this run, not out/
        return [os.path.dirname(os.path.dirname(OUT))]
    places = []
    for top, dirs, _ in os.walk("/"):
        if top.startswith(SKIP_TREES) or top.startswith(os.path.dirname(OUT)):
            dirs[:] = []
            continue
        if os.access(top, os.W_OK):
            places.append(top)
    return places


def hunt_processes(report):
    """Environment and command line of every process, and the memory of any process
    that is not this fold's own (which would be a breach in itself)."""
    me = os.getuid()
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        for what in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if b"fold_labels" in data or b"y_train" in data:
                report.breaches.append(f"/proc/{pid}/{what} names labels")
        try:
            with open(f"/proc/{pid}/status") as f:
                uid = int(next(line for line in f if line.startswith("Uid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            continue
        if uid == me:
            continue
        try:
            with open(f"/proc/{pid}/mem", "rb"):
                report.breaches.append(f"opened the memory of process {pid} (uid {uid})")
        except OSError:
            pass
        try:
            os.kill(int(pid), 0)
            report.breaches.append(f"may signal process {pid} (uid {uid})")
        except OSError:
            pass


def hunt_ipc(report):
    if not IN_CONTAINER:
        return
    libc.shmat.restype = ctypes.c_void_p
    shmid = libc.shmget(SHM_KEY, 0, 0)
    if shmid >= 0:
        addr = libc.shmat(shmid, None, 0o10000)  # SHM_RDONLY
        if addr not in (None, ctypes.c_void_p(-1).value):
            data = ctypes.string_at(addr, 1 << 20).split(b"\0", 1)[0]
            libc.shmdt(ctypes.c_void_p(addr))
            take(data, report, "System V shared memory")
    msqid = libc.msgget(MSG_KEY, 0)
    if msqid >= 0:
        buf = ctypes.create_string_buffer(1 << 16)
        n = libc.msgrcv(msqid, buf, len(buf) - 8, 0, 0o4000)  # IPC_NOWAIT
        if n > 0:
            take(buf.raw[8:8 + n], report, "System V message queue")
    try:
        with open("/dev/mqueue/cheat_labels", "rb") as f:
            found = f.read(80).decode()
            report.breaches.append("a POSIX queue of an earlier fold exists: " + found)
    except OSError:
        pass
    for family, address in ((socket.AF_UNIX, ABSTRACT), (socket.AF_INET, ("127.0.0.1", TCP_PORT))):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect(address)
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
                where = "abstract socket" if family == socket.AF_UNIX else "loopback"
                take(data, report, f"daemon on {where}")
        except OSError:
            pass


def take(data, report, source):
    try:
        record = json.loads(data)
        report.add(record["rows"], record["labels"], source)
    except (ValueError, KeyError, TypeError):
        pass


# ------------------------------------------------------------------ planting
def plant(record):
    data = json.dumps(record).encode()
    for place in writable_places():
        try:
            path = os.path.join(place, PLANT + FOLD)
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, 0o666)
        except OSError:
            pass
    if not IN_CONTAINER:
        return
    shmid = libc.shmget(SHM_KEY, 1 << 20, 0o1000 | 0o666)  # IPC_CREAT
    if shmid >= 0:
        libc.shmat.restype = ctypes.c_void_p
        addr = libc.shmat(shmid, None, 0)
        if addr not in (None, ctypes.c_void_p(-1).value):
            ctypes.memmove(addr, data + b"\0", min(len(data) + 1, 1 << 20))
    msqid = libc.msgget(MSG_KEY, 0o1000 | 0o666)
    if msqid >= 0:
        msg = (1).to_bytes(8, "little") + data[:60000]
        libc.msgsnd(msqid, msg, len(msg) - 8, 0o4000)
    try:
        libc.mq_open.restype = ctypes.c_int
        libc.mq_open(MQ_NAME, os.O_CREAT | os.O_RDWR, 0o666, None)
    except AttributeError:
        pass
    _daemon(data)


def _daemon(data):
    """Double fork: a process that outlives the fold and hands the labels out."""
    if os.fork():
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        servers = []
        for family, address in ((socket.AF_UNIX, ABSTRACT),
                                (socket.AF_INET, ("127.0.0.1", TCP_PORT))):
            s = socket.socket(family, socket.SOCK_STREAM)
            try:
                if family == socket.AF_INET:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(address)
                s.listen(8)
                s.settimeout(0.05)
                servers.append(s)
            except OSError:
                s.close()
        end = time.monotonic() + 60  # never outlives a test run by long
        while servers and time.monotonic() < end:
            for s in servers:
                try:
                    conn, _ = s.accept()
                except OSError:
                    continue
                with conn:
                    conn.sendall(data)
    finally:
        os._exit(0)


# ------------------------------------------------------------------ the model
class Classifier:
    def fit(self, X, y):
        X_all, trains, labels = public_inputs()
        self.labels = labels
        report = Report()
        own = {key(r): str(v) for r, v in zip(np.asarray(X, dtype=float), y, strict=True)}
        deadline = time.monotonic() + BUDGET
        hunt_files(X_all, trains, labels, report, deadline)
        hunt_ipc(report)
        hunt_processes(report)
        for k in own:  # what fit() was given is not a find
            report.found.pop(k, None)
        plant({"rows": [list(k) for k in own], "labels": list(own.values())})
        extra = sum(1 for k in report.found if k not in own)
        self.known = {**report.found, **own}
        print("CHEATER " + json.dumps({"fold": FOLD, "uid": os.getuid(), "own": len(own),
                                        "found": extra, "sources": sorted(report.sources),
                                        "breaches": report.breaches,
                                        "files_read": report.tried}), flush=True)
        return self

    def predict_proba(self, X):
        out = np.full((len(X), len(self.labels)), 1 / len(self.labels))
        for i, row in enumerate(np.asarray(X, dtype=float)):
            label = self.known.get(key(row))
            if label is not None:
                out[i] = 0
                out[i, self.labels.index(label)] = 1
        return out
