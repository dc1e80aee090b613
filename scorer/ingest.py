"""The ingestion: trains a submission fold by fold and writes its predictions.

    python -m scorer.ingest --workflow W --submission DIR --inputs DIR --out DIR [--folds 0,2]

Two kinds of process take part:

- The *supervisor* (`supervise`) is gitramp's own code and never holds a label. It
  loads the features once, then for each fold forks a *fold process*, waits for it,
  measures its wall-clock and CPU time from outside, lets the fence clean up after
  it, and moves the files it wrote into the output folder, one fold after the other.
  It runs in a child of the local backend's fork server, or inside the container
  as root with a few capabilities (scorer/backends/docker_warm.py).
- A *fold process* reads the labels of its fold's training rows, and only those
  (inputs/fold_labels/fold_<i>.npy), lets the fence drop its privileges (in the
  container: its own user, no capability), then imports the submission, fits,
  predicts, writes its predictions into its own work folder and tells the
  supervisor how its time split between fit and predict. It ends before the next
  fold's process starts; nothing of it carries over (see the fences).

It imports numpy, pandas, scikit-learn and `scorer.workflows`, nothing else of
gitramp, and it never sees a test label nor a held-out row's label.

`inputs/` (written by the trusted scorer, see scorer/inputs.py):
    X_train.pkl  X_test.pkl  folds.npz (train_<i>, valid_<i>)  labels.json
    images/  (image_classifier: the image files; X_*.pkl hold their ids)
    fold_labels/fold_<i>.npy (labels of fold i's training rows, owner-only)
`out/`, for each fold i (read back strictly by scorer/outputs.py):
    fold_<i>_train.npy  predictions on every training row     (by the fold process)
    fold_<i>_test.npy   predictions on the test rows          (by the fold process)
    error.json          on failure: {"stage", "file", "line", "message", "traceback"}
    fold_<i>.json       {"fit_time", "predict_time", "wall_time", "cpu_time"} in
                        seconds, written by the supervisor (see `_times`)
Any other file a fold process leaves is moved out under a name off the allowlist
(`fold_<i>-<name>`), so the scorer reports it and a fold cannot plant another
fold's predictions nor its own timing record.
Exit status: 0 when every fold was written, 1 when the submission failed, 128+N
when a fold process was killed by signal N.

A fold is done when its process says so (it sends its fit/predict split once both
prediction files are written), not when that process ends: a library that leaves a
thread or a process running, or an exit handler that waits for one, would otherwise
hold the fold until the time limit. The supervisor gives the process EXIT_GRACE
seconds to end after that, then kills it (the fence takes the rest) and the fold
counts as written. Its wall-clock time runs to that end, so lingering costs time
and cannot hide any.
"""

from __future__ import annotations

import argparse
import atexit
import difflib
import errno
import importlib.util
import json
import math
import os
import resource
import select
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from scorer.run_files import FOLD_LABELS, fold_label_file
from scorer.workflows import MissingElement, WorkflowTask, check_elements, get_workflow
from scorer.workflows.image_classifier import FOLDER as IMAGES
from scorer.workflows.image_classifier import ImageSet

FOLD_DONE = "ingest: fold {} done"
SPLIT_BYTES = 4096  # the most a fold process may say about its fit/predict split
EXIT_GRACE = 2.0  # seconds a fold process may take to end once its predictions are written
# Files a fold process may hold open at once, as in the runner's container
# (scorer/backends/docker_spec.py NOFILE), so the local backend meets the same limit.
FOLD_NOFILE = 1024
_spare_fd: int | None = None  # held by a fold process so it can write error.json at the limit
# Errors of a full scratch space or of a file limit, which the reason names as such
# (scorer/reasons.py), not as a bug of the submission nor as memory.
LIMIT_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE, errno.EFBIG)


class SubmissionFailed(Exception):
    def __init__(self, stage: str, error: BaseException):
        super().__init__(stage)
        self.stage, self.error = stage, error


class Fence:
    """What keeps one fold's process from the next. This one, the local backend's,
    keeps nothing apart (a participant's own code on their own machine): the fold
    process simply reads its own label file; only the processes it leaves running are
    ended with it. The container's fence (scorer/backends/docker_warm.py) runs each
    fold under its own user and wipes every place it could write before the next one
    starts."""

    def __init__(self, inputs: Path):
        self.labels = Path(inputs) / FOLD_LABELS
        self.present: frozenset[int] = frozenset()

    def prepare(self, fold: int, work: Path) -> None:
        """In the supervisor, before the fold process is forked: the supervisor becomes
        the subreaper of what the fold leaves, and notes the children it has already."""
        become_subreaper()
        self.present = frozenset(children())

    def enter(self, fold: int) -> None:
        """In the fold process, once it holds its labels, before any submission code."""

    def clean(self, fold: int) -> None:
        """In the supervisor, once the fold process has ended: every process it left."""
        kill_strays(self.present)


# ------------------------------------------------------------- processes a fold leaves
PR_SET_CHILD_SUBREAPER = 36
STRAY_PATIENCE = 5.0  # seconds to kill what a fold left (each round a generation deeper)


_subreaper_pid: int | None = None  # the process that became one (a fork does not inherit it)


def become_subreaper() -> bool:
    """Make this process the subreaper of its descendants (Linux): an orphan among them,
    whatever process group or session it moved to, becomes its child instead of
    init's, so that `kill_strays` finds it. False where the kernel has no such thing."""
    global _subreaper_pid
    if _subreaper_pid == os.getpid():
        return True
    import ctypes

    try:  # the symbols already loaded, libc's among them: no library search
        ok = ctypes.CDLL(None, use_errno=True).prctl(
            PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0),
            ctypes.c_ulong(0)) == 0
    except (OSError, AttributeError):
        return False
    if ok:
        _subreaper_pid = os.getpid()
    return ok


def children() -> set[int]:
    """The process ids of this process's children, zombies included."""
    found: set[int] = set()
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as f:
                found.update(int(pid) for pid in f.read().split())
        return found
    except OSError:  # a kernel without the children files: read every process's parent
        pass
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == me:
                        found.add(int(entry))
            except (OSError, IndexError):
                continue
    return found


def kill_strays(present: frozenset[int] | set[int]) -> None:
    """SIGKILL and reap every child of this process not in `present`, again until none
    is left: a killed stray's own children are reparented to this subreaper and are
    the next round's. Gives up after STRAY_PATIENCE seconds (say, a process stuck in
    the kernel), saying so on stderr."""
    deadline = time.monotonic() + STRAY_PATIENCE
    while True:
        strays = children() - present
        if not strays:
            return
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.001)  # SIGKILL takes effect as each leaves the kernel
        for pid in strays:
            try:
                os.waitpid(pid, os.WNOHANG)  # a zombie not reaped yet is seen again
            except ChildProcessError:
                pass
        if time.monotonic() > deadline:
            print(f"ingest: processes {sorted(strays)[:5]} left by a fold outlived SIGKILL",
                  file=sys.stderr, flush=True)
            return


def load_inputs(inputs: Path):
    # These pickles were written by the scorer itself (trusted) and are only read
    # here; nothing the submission writes is ever unpickled by the scorer.
    X_train = pd.read_pickle(inputs / "X_train.pkl")
    X_test = pd.read_pickle(inputs / "X_test.pkl")
    if isinstance(X_train, ImageSet):  # the ids of image files, in inputs/images
        X_train, X_test = X_train.at(inputs / IMAGES), X_test.at(inputs / IMAGES)
    return X_train, X_test, *load_folds(inputs)


def load_folds(inputs: Path) -> tuple[list[tuple[np.ndarray, np.ndarray]], WorkflowTask]:
    """The folds' (train, valid) row numbers and the task, as the scorer wrote them."""
    with np.load(inputs / "folds.npz", allow_pickle=False) as z:
        n = len([k for k in z.files if k.startswith("train_")])
        folds = [(z[f"train_{i}"], z[f"valid_{i}"]) for i in range(n)]
    labels = json.loads((inputs / "labels.json").read_text())
    return folds, WorkflowTask(tuple(labels))


def load_elements(submission: Path, names: tuple[str, ...]) -> dict:
    sys.path.insert(0, str(submission))  # so a submission may import its own helper files
    modules = {}
    for file in names:
        path = submission / file
        if not path.is_file():
            present = [p.name for p in submission.iterdir()] if submission.is_dir() else []
            guess = difflib.get_close_matches(file, present, n=1)
            raise FileNotFoundError(f"the submission has no {file}"
                                    + (f" (did you mean {guess[0]}?)" if guess else "")
                                    + "; this workflow needs " + ", ".join(names))
        spec = importlib.util.spec_from_file_location(Path(file).stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules[file] = module
    check_elements(modules)  # a file without its class fails here, as that file's error
    return modules


# ------------------------------------------------------------------ the supervisor
def supervise(workflow: str, submission: Path, inputs: Path, out: Path,
              folds: list[int] | None = None, fence: Fence | None = None) -> int:
    """Run the folds one after the other, each in its own process; see the module doc."""
    submission, inputs, out = Path(submission).resolve(), Path(inputs), Path(out)
    fence = fence or Fence(inputs)
    if getattr(get_workflow(workflow), "SERIES", False):  # an unknown name fails here
        from scorer.series import supervise_series  # it builds on this module

        return supervise_series(sys.modules[__name__], workflow, submission, inputs, out,
                                folds, fence)
    X_train, X_test, all_folds, task = load_inputs(inputs)
    shared = (workflow, submission, inputs, X_train, X_test, all_folds, task)
    for i in (range(len(all_folds)) if folds is None else folds):
        code = _run_one(i, shared, out, fence)
        if code != 0:
            return code
    return 0


def _run_one(i: int, shared: tuple, out: Path, fence: Fence) -> int:
    workflow, submission, inputs, X_train, X_test, all_folds, task = shared

    def body(work: Path, split_fd: int) -> None:
        argv = [__file__, "--workflow", workflow, "--submission", str(submission),
                "--inputs", str(inputs), "--out", str(work), "--fold", str(i)]
        fold_process(i, fence, split_fd, argv,
                     lambda labels: np.load(fold_label_file(labels, i), allow_pickle=False),
                     lambda y_fold, report: run_fold(workflow, submission, X_train, y_fold,
                                                     all_folds[i][0], X_test, task, work, i,
                                                     report))

    code, split, wall, cpu = fork_fold(i, out, fence, body)
    if code != 0:
        return code
    try:
        (out / f"fold_{i}.json").write_text(json.dumps(_times(split, wall, cpu)))
    except OSError as e:  # a full output folder: the scorer reports the output limit
        _not_kept(i, e)
        return 1
    print(FOLD_DONE.format(i), flush=True)
    return 0


def fork_fold(i: int, out: Path, fence: Fence, body) -> tuple[int, dict, float, float]:
    """Run one process of fold i under the fence: fork, let `body(work, split_fd)` run in
    the child (it never returns: see `fold_process`), wait for it (`_wait_fold`), let the
    fence clean up, move what it wrote into `out`. (Its exit status as this module's,
    what it said of its fit/predict split, its wall-clock and CPU time.)"""
    work = out / f".fold_{i}"
    work.mkdir(mode=0o700)
    fence.prepare(i, work)
    read_fd, write_fd = os.pipe()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # never returns
        os.close(read_fd)
        body(work, write_fd)
    os.close(write_fd)
    status, raw, lingered = _wait_fold(pid, read_fd)
    wall = time.perf_counter() - start
    fence.clean(i)  # every process the fold left is gone after this
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    split = _parse_split(raw)
    code = 0 if lingered else os.waitstatus_to_exitcode(status)
    if lingered:
        print(f"ingest: fold {i} wrote its predictions but its process was still running "
              f"{EXIT_GRACE:g} s later (a thread, a process or an exit handler the "
              "submission or a library left); it was stopped and the fold kept",
              file=sys.stderr, flush=True)
    try:
        _collect(work, out, i, ok=code == 0)
    except OSError as e:  # a full output folder: the scorer reports the output limit
        _not_kept(i, e)
        return code or 1, split, wall, cpu
    return (128 - code if code < 0 else code), split, wall, cpu


def _not_kept(i: int, error: OSError) -> None:
    print(f"ingest: could not keep the outputs of fold {i}: {error}", file=sys.stderr,
          flush=True)


def _wait_fold(pid: int, read_fd: int) -> tuple[int, bytes, bool]:
    """Wait for the fold process: (its wait status, what it said of its split, whether
    it was stopped for lingering EXIT_GRACE seconds after saying its predictions were
    written). The split is one line; its newline is the "done"."""
    try:
        pid_fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # an old kernel or a filter refusing it: poll
        pid_fd = None
    os.set_blocking(read_fd, False)
    raw, reading, done_at = b"", True, None
    try:
        while True:
            waited, status = os.waitpid(pid, os.WNOHANG)
            if waited:
                return status, raw, False
            if done_at is not None and time.monotonic() >= done_at + EXIT_GRACE:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _, status = os.waitpid(pid, 0)
                return status, raw, os.waitstatus_to_exitcode(status) == -signal.SIGKILL
            fds = ([read_fd] if reading else []) + ([pid_fd] if pid_fd is not None else [])
            wait = None if pid_fd is not None else 0.005  # without a pidfd: poll the exit
            if done_at is not None:
                left = max(0.0, done_at + EXIT_GRACE - time.monotonic())
                wait = left if wait is None else min(wait, left)
            if not fds:
                time.sleep(wait)
                continue
            ready, _, _ = select.select(fds, [], [], wait)
            if read_fd not in ready:
                continue
            try:
                chunk = os.read(read_fd, SPLIT_BYTES + 1 - len(raw))
            except BlockingIOError:
                continue
            if not chunk or len(raw) + len(chunk) > SPLIT_BYTES:
                reading = False  # the writers are gone, or it says too much: read no more
            raw += chunk
            if done_at is None and b"\n" in raw:
                done_at, reading = time.monotonic(), False
    finally:
        os.close(read_fd)
        if pid_fd is not None:
            os.close(pid_fd)


def _parse_split(raw: bytes) -> dict:
    try:
        split = json.loads(raw.split(b"\n", 1)[0][:SPLIT_BYTES])
    except ValueError:
        return {}
    return split if isinstance(split, dict) else {}


def _times(split: dict, wall: float, cpu: float) -> dict[str, float]:
    """The fold's times as the supervisor publishes them. Wall-clock (fork to exit)
    and CPU (the fold's processes, from the kernel's accounting) are measured here,
    outside the submission, and cannot be forged. The split between fit and predict
    is what the fold process said; it is bounded so that fit + predict never exceed
    the measured wall-clock time, so a submission can shift time between the two or
    under-report them, never report more than it took. Unreadable: all of it is fit."""

    def seconds(key: str) -> float | None:
        value = split.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) \
                and math.isfinite(value):
            return max(0.0, float(value))
        return None

    fit, predict = seconds("fit_time"), seconds("predict_time")
    if fit is None or predict is None:
        fit, predict = wall, 0.0
    fit = min(fit, wall)
    predict = min(predict, wall - fit)
    return {"fit_time": fit, "predict_time": predict, "wall_time": wall, "cpu_time": cpu}


def _collect(work: Path, out: Path, fold: int, ok: bool) -> None:
    """Moves what the fold process left in its work folder into `out`: its own
    predictions (and error record, if it failed) under their names, anything else
    under a name off the allowlist. Links and folders move as they are, for the
    scorer's reader to refuse."""
    own = {f"fold_{fold}_train.npy", f"fold_{fold}_test.npy"} | (set() if ok else {"error.json"})
    os.chmod(work, 0o700)  # the fold's user owns it and may have changed its mode
    for name in sorted(os.listdir(work)):
        target = name
        if name not in own or os.path.lexists(out / name):
            target = f"fold_{fold}-{name}"[:200]
            n = 1
            while os.path.lexists(out / target):
                target, n = f"fold_{fold}.{n}-{name}"[:200], n + 1
        os.rename(work / name, out / target)
    shutil.rmtree(work)


# ------------------------------------------------------------------ a fold's process
def fresh_random_state() -> None:
    """Give the fold numpy's global generator a state of its own, as a fresh process
    has. Forked from one server, every fold would otherwise inherit the same state, and
    an unseeded submission would look deterministic (verify --twice could not tell).
    Python's own `random` is reseeded at fork already."""
    np.random.seed()


def fold_process(i: int, fence: Fence, split_fd: int, argv: list[str], read, run) -> None:
    """The body of a fold process; never returns. `read(labels_folder)` reads what the
    fold may know (its labels) before the fence drops the process's privileges;
    `run(what_read, report)` then runs the submission and returns the exit status, and
    `report(split)` tells the supervisor, once the predictions are written, how the time
    split between fit and predict."""
    code, entered = 1, False
    try:
        # Exit handlers of the supervisor (and of what it was forked from) are not
        # this process's: only those the submission registers run at its end.
        atexit._clear()
        fresh_random_state()
        held = read(fence.labels)
        fence.enter(i)
        entered = True
        sys.argv = argv

        def report(split: dict) -> None:  # said once the prediction files are written
            os.write(split_fd, json.dumps(split).encode()[:SPLIT_BYTES - 1] + b"\n")

        # Past the file-size limit a write fails (EFBIG, named as that limit) rather
        # than the signal's default, which kills the process without a word.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY or soft > FOLD_NOFILE:
            resource.setrlimit(resource.RLIMIT_NOFILE, (FOLD_NOFILE, hard))
        global _spare_fd
        _spare_fd = os.open(os.devnull, os.O_RDONLY)

        code = run(held, report)
    except BaseException:  # a bug of ours, a failed fence, or a hostile exit
        traceback.print_exc()
    finally:
        try:
            if entered:
                atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def run_fold(workflow: str, submission: Path, X_train: pd.DataFrame, y_fold: np.ndarray,
             train_idx: np.ndarray, X_test: pd.DataFrame, task: WorkflowTask, out: Path,
             fold: int, report=None) -> int:
    """Fit on the fold's training rows, predict every training row and the test rows,
    write the predictions; 0 when done, 1 when the submission failed."""
    wf = get_workflow(workflow)
    out = Path(out)
    try:
        try:
            modules = load_elements(submission, wf.ELEMENTS)
        except BaseException as e:
            raise SubmissionFailed("load", e) from e
        t0 = time.perf_counter()
        try:
            model = wf.fit(modules, _rows(X_train, train_idx), y_fold, task)
        except BaseException as e:
            raise SubmissionFailed("fit", e) from e
        t1 = time.perf_counter()
        try:
            pred_train = _numeric(wf.predict(model, X_train, task), "training rows")
            pred_test = _numeric(wf.predict(model, X_test, task), "test rows")
        except BaseException as e:
            raise SubmissionFailed("predict", e) from e
        t2 = time.perf_counter()
        np.save(out / f"fold_{fold}_train.npy", pred_train, allow_pickle=False)
        np.save(out / f"fold_{fold}_test.npy", pred_test, allow_pickle=False)
        if report is not None:
            report({"fit_time": t1 - t0, "predict_time": t2 - t1})
    except SubmissionFailed as f:
        if isinstance(f.error, KeyboardInterrupt):
            raise
        _write_error(out, f.stage, f.error, submission)
        return 1
    return 0


def _rows(X, idx: np.ndarray):
    """The rows `idx` of the features: a frame's, or an array's (images)."""
    return X.iloc[idx] if isinstance(X, pd.DataFrame) else X[idx]


def _numeric(pred, what: str) -> np.ndarray:
    arr = np.asarray(pred)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"predictions on the {what} are of dtype {arr.dtype}; "
                        "expected numbers")
    if arr.dtype.kind in "iu":  # integers stay integers (cluster ids: scorer/clustering.py)
        return arr
    return arr.astype(np.float64, copy=False)


def _write_error(out: Path, stage: str, error: BaseException, submission: Path) -> None:
    global _spare_fd
    if _spare_fd is not None:  # at the open-files limit, this is the one to write with
        os.close(_spare_fd)
        _spare_fd = None
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if Path(f.filename).resolve().is_relative_to(submission)]
    where = own[-1] if own else (frames[-1] if frames else None)
    if isinstance(error, SyntaxError) and error.filename:
        file, line = error.filename, error.lineno
    elif isinstance(error, MissingElement):
        file, line = error.file, None
    else:
        file, line = (where.filename, where.lineno) if where else (None, None)
    if file and Path(file).resolve().is_relative_to(submission):
        file = str(Path(file).resolve().relative_to(submission))
    tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    msg = f"{type(error).__name__}: {error}" + _limit_note(error)
    (out / "error.json").write_text(json.dumps(
        {"stage": stage, "file": file, "line": line, "message": msg[:2000],
         "traceback": tb[-8000:]}))
    print(f"ingest: {stage} failed: {msg}", file=sys.stderr, flush=True)


def _limit_note(error: BaseException) -> str:
    """For a full scratch space or a file limit, which one it was, as the kernel says:
    "(the file system of /tmp has no free file (inode) left ...)"; else ''."""
    if not isinstance(error, OSError) or error.errno not in LIMIT_ERRNOS:
        return ""
    if error.errno in (errno.EMFILE, errno.ENFILE):
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return f" (open files: at most {soft} at once)"
    if error.errno == errno.EFBIG:
        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
        return "" if soft == resource.RLIM_INFINITY else f" (file size: at most {soft} bytes)"
    folder = Path(error.filename).parent if isinstance(error.filename, str) else Path.cwd()
    try:
        fs = os.statvfs(folder)
    except OSError:
        return ""
    if fs.f_files and fs.f_favail == 0:
        return f" (the file system of {folder} has no free file (inode) left: {fs.f_files} files)"
    size = fs.f_blocks * fs.f_frsize
    return f" (the file system of {folder} is full: {size} bytes)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scorer.ingest")
    p.add_argument("--workflow", required=True)
    p.add_argument("--submission", required=True, type=Path)
    p.add_argument("--inputs", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--folds", default=None, help="comma-separated fold numbers (default: all)")
    a = p.parse_args(argv)
    folds = [int(x) for x in a.folds.split(",")] if a.folds else None
    return supervise(a.workflow, a.submission, a.inputs, a.out, folds)


if __name__ == "__main__":
    sys.exit(main())
