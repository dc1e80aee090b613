"""A small fork server for the local backend.

Importing numpy, pandas and scikit-learn takes about a second. The server is a
separate Python process that imports them once, then forks a worker per group of
folds on request; the worker (scorer.ingest.supervise) forks one process per fold,
which reads that fold's training labels only. A fold starts in milliseconds and
the submission's code is only ever imported in fold processes, never in the
scorer, the server or a worker. (multiprocessing's own
forkserver re-imports the caller's __main__ in each child, pytest or the CLI
script included; this one runs nothing but the ingestion entry point.)

Protocol, one JSON object per line: the client writes {"id", "args"}; the server
answers {"id", "pid"} when the child is forked and {"id", "exit"} when it ends.
{"import": [module, ...]} asks the server to import installed libraries that the
next submissions import (read from their source, see `library_imports`), so each
fold does not import them again; the submission's own files are never imported
here.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time

from scorer.preimport import import_libraries, library_imports

__all__ = ["ForkServer", "get_server", "library_imports", "serve"]

PRELOAD = ("numpy", "pandas", "scorer.ingest", "threadpoolctl", "sklearn.base")


# ------------------------------------------------------------------ server side
_controller = None  # threadpoolctl's view of the loaded BLAS/OpenMP libraries, made once


def serve() -> None:
    global _controller
    for name in PRELOAD:
        importlib.import_module(name)
    from threadpoolctl import ThreadpoolController

    from scorer.ingest import become_subreaper
    from scorer.ingest import children as our_children

    # A worker killed at the time limit leaves its folds' escaped processes (another
    # session, a daemon) to this subreaper, which kills them (`_reap`); what the server
    # starts itself (a library's helper, while importing) is left alone.
    become_subreaper()
    own = our_children()

    _controller = ThreadpoolController()  # inspecting the libraries costs ~10 ms: not per fold
    out = os.fdopen(os.dup(1), "w", buffering=1)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    children: dict[int, int] = {}  # pid -> job id
    limited = None  # the thread limit the server's libraries are set to
    buf = b""
    while True:
        for key, _ in sel.select():
            if key.fd == wake_r:
                os.read(wake_r, 4096)
                _reap(children, out, own)
                continue
            data = os.read(0, 65536)
            if not data:  # the scorer is gone: take the children down with us
                for pid in children:
                    _killpg(pid)
                out.flush()
                os._exit(0)  # tearing down numpy, pandas and scikit-learn takes ~0.3 s
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                if "import" in msg:
                    before = our_children()
                    import_libraries(msg["import"])
                    exercise()
                    own |= our_children() - before
                    continue
                if msg["args"]["threads"] != limited:
                    # Set here, once, and inherited by every worker forked after: set in
                    # a fork, OpenBLAS starts its thread pool again, some 50 ms of CPU
                    # per worker, every time.
                    limited = msg["args"]["threads"]
                    _controller.limit(limits=limited)
                pid = os.fork()
                if pid == 0:
                    _child(msg["args"], (wake_r, wake_w, out.fileno()))
                children[pid] = msg["id"]
                out.write(json.dumps({"id": msg["id"], "pid": pid}) + "\n")


_exercised: set[str] = set()


def exercise() -> None:
    """Run, once, gitramp's own tiny fit of what the imported scikit-learn modules offer
    (a scaler, a linear model, on a small DataFrame). Their first fit in a process loads
    more modules lazily (the DataFrame interchange layer, ...) and fills the type caches
    of abstract classes: done here, before any fork, every fold inherits it instead of
    paying some 40 ms for it. No submission code runs here."""
    import sys

    todo = [m for m in ("sklearn.preprocessing", "sklearn.linear_model", "sklearn.pipeline")
            if m in sys.modules and m not in _exercised]
    if not todo:
        return
    _exercised.update(todo)
    try:
        import numpy as np
        import pandas as pd

        X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0,
                                                                       1.0]})
        y = np.array(["p", "q", "r", "p", "q", "r"])
        steps = []
        if "sklearn.preprocessing" in sys.modules:
            from sklearn.preprocessing import StandardScaler

            steps.append(StandardScaler())
        if "sklearn.linear_model" in sys.modules:
            from sklearn.linear_model import LogisticRegression

            steps.append(LogisticRegression(max_iter=20))
        if "sklearn.pipeline" in sys.modules and len(steps) == 2:
            from sklearn.pipeline import make_pipeline

            steps = [make_pipeline(*steps)]
        for step in steps:
            fitted = step.fit(X, y)
            for method in ("predict_proba", "transform"):
                if hasattr(fitted, method):
                    getattr(fitted, method)(X)
    except Exception:  # a warm-up only: whatever fails here is paid by the folds, as before
        pass


def _reap(children: dict[int, int], out, own: set[int]) -> None:
    """Reap ended children; a worker's end is reported once the processes its folds
    left to this subreaper (none unless it was killed) are killed too."""
    from scorer.ingest import children as our_children

    ended = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        own.discard(pid)
        job = children.pop(pid, None)
        if job is not None:
            ended.append((job, os.waitstatus_to_exitcode(status)))
    for pid in our_children() - set(children) - own:  # reaped when their SIGCHLD comes
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for job, code in ended:
        out.write(json.dumps({"id": job, "exit": code}) + "\n")


def _child(args: dict, server_fds: tuple[int, ...]) -> None:
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setpgrp()  # its own process group, so a kill reaches what it spawns
        for fd in server_fds:
            os.close(fd)
        log = os.open(args["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        if args.get("scratch"):  # the folds' temporary files, removed with the job
            import tempfile

            os.makedirs(args["scratch"], exist_ok=True)
            os.environ["TMPDIR"] = args["scratch"]
            tempfile.tempdir = None  # computed again from TMPDIR
        # Preloaded by the server (PRELOAD): not at the top, so that importing this
        # module costs a process nothing (numpy, pandas) until it starts a server.
        from scorer import ingest

        # The worker holds no label: each of its folds runs in a process of its own,
        # forked by ingest.supervise, that reads only its fold's training labels. Its
        # libraries' thread limit is the job's, set in the server before the fork.
        code = ingest.supervise(args["workflow"], args["submission"], args["inputs"],
                                args["out"], args["folds"])
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # anything escaping ingest.supervise is a bug or a hostile exit
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _killpg(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


# ------------------------------------------------------------------ client side
class Job:
    def __init__(self, job_id: int):
        self.id = job_id
        self.pid: int | None = None
        self.exit: int | None = None
        self.started = threading.Event()
        self.done = threading.Event()

    def kill(self) -> None:
        if self.started.wait(5) and self.pid and not self.done.is_set():
            _killpg(self.pid)


class _ForkedProcess:
    """The server as a fork of the calling process, which imports PRELOAD first: one set
    of imports for both. Only for a process that holds no data yet and runs no thread."""

    def __init__(self):
        for name in PRELOAD:
            importlib.import_module(name)
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(req_r, 0)
                os.dup2(resp_w, 1)
                for fd in (req_r, req_w, resp_r, resp_w):
                    os.close(fd)
                serve()
            finally:
                os._exit(0)
        os.close(req_r)
        os.close(resp_w)
        self.pid, self.returncode = pid, None
        self.stdin = os.fdopen(req_w, "wb")
        self.stdout = os.fdopen(resp_r, "rb")

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("fork server", timeout)
            time.sleep(0.005)
        return self.returncode

    def kill(self) -> None:
        _killpg(self.pid)


class ForkServer:
    def __init__(self, fork: bool = False):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = _ForkedProcess() if fork else subprocess.Popen(
            [sys.executable, "-c", "from scorer.backends.forkserver import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.jobs: dict[int, Job] = {}
        self.lock = threading.Lock()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True, name="forkserver-reader").start()

    def submit(self, **args) -> Job:
        with self.lock:
            self.next_id += 1
            job = self.jobs[self.next_id] = Job(self.next_id)
            self.proc.stdin.write(json.dumps({"id": job.id, "args": args}).encode() + b"\n")
            self.proc.stdin.flush()
        return job

    def preimport(self, modules: list[str]) -> None:
        if modules:
            with self.lock:
                self.proc.stdin.write(json.dumps({"import": modules}).encode() + b"\n")
                self.proc.stdin.flush()

    def _read(self) -> None:
        for line in self.proc.stdout:
            msg = json.loads(line)
            job = self.jobs.get(msg["id"])
            if job is None:
                continue
            if "pid" in msg:
                job.pid = msg["pid"]
                job.started.set()
            if "exit" in msg:
                job.exit = msg["exit"]
                job.done.set()
                with self.lock:
                    self.jobs.pop(job.id, None)
        with self.lock:  # the server died: nothing pending will ever finish
            for job in self.jobs.values():
                job.exit = job.exit if job.exit is not None else -9
                job.started.set()
                job.done.set()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


_server: ForkServer | None = None
_server_lock = threading.Lock()


def get_server(fork: bool = False) -> ForkServer:
    """The process-wide fork server, started on first use (or early, by warm_up)."""
    global _server
    with _server_lock:
        if _server is None or _server.proc.poll() is not None:
            _server = ForkServer(fork)
            atexit.register(_server.close)
        return _server
