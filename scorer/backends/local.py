"""The local backend: folds in child processes, for a participant's own machine.

Workers are forked from a fork server (scorer/backends/forkserver.py) that
imported numpy, pandas and scikit-learn once, while the scorer was loading data;
each worker (scorer.ingest.supervise) forks one process per fold, which reads the
labels of that fold's training rows only, so a fold starts in milliseconds
instead of the second those imports take. The submission's code is imported only
in fold processes, never in the scorer's process. This backend isolates nothing
beyond that (a fold process could read any file of the user): hostile code
belongs in the Docker backend. The folds' temporary files (TMPDIR) go to a folder
of the job, removed with it, so a submission that fills its scratch space leaves
nothing behind on the participant's machine; nor does one that leaves a process
running (a subprocess, a daemon): it is killed when the fold ends
(scorer.ingest.Fence), or when its worker is stopped at the time limit (the fork
server).
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path

from scorer.backends.base import FoldCallback, IngestJob, IngestOutcome
from scorer.backends.forkserver import get_server, library_imports
from scorer.outputs import InvalidOutput
from scorer.run_files import OUTPUT_ALLOWLIST


def warm_up() -> None:
    """Start the fork server now, as a fork of this process once it has imported the
    libraries both need: a command calls this first, before it loads any data."""
    get_server(fork=True)


def preimport(submission_dirs: list[Path]) -> None:
    """Have the fork server import, in the background, the libraries these submissions
    import, so that no fold pays for them."""
    files = [f for d in submission_dirs for f in Path(d).glob("*.py")]
    get_server().preimport(library_imports(files))


class LocalBackend:
    name = "local"

    def run(self, job: IngestJob, on_fold_done: FoldCallback | None = None) -> IngestOutcome:
        server = get_server()
        server.preimport(library_imports(list(Path(job.submission_dir).glob("*.py"))))
        with tempfile.TemporaryDirectory(prefix="gitramp-out-") as tmp:
            out, logs = Path(tmp, "out"), Path(tmp, "logs")
            out.mkdir()
            logs.mkdir()
            # One worker per job, each taking every jobs-th fold: it reads the features
            # once and forks a process per fold, which alone reads that fold's labels.
            workers = max(1, min(job.jobs, job.n_folds))
            threads = max(1, int(job.limits.cpus) // workers)
            running = {k: server.submit(
                workflow=job.workflow, submission=str(job.submission_dir),
                inputs=str(job.inputs_dir), out=str(out),
                folds=list(range(k, job.n_folds, workers)),
                log=str(logs / f"worker_{k}.log"), threads=threads,
                scratch=str(Path(tmp, "scratch"))) for k in range(workers)}
            deadline = time.monotonic() + job.limits.timeout
            reported: set[int] = set()
            status, message = "ok", None
            try:
                while running and status == "ok":
                    if time.monotonic() > deadline:
                        status = "timeout"
                        message = (f"the submission did not finish within "
                                   f"{job.limits.timeout} s and was stopped")
                        break
                    for k, worker in list(running.items()):
                        if not worker.done.wait(0.005):
                            continue
                        del running[k]
                        if worker.exit != 0:
                            status = "error"
                            signum = -worker.exit if worker.exit < 0 else worker.exit - 128
                            if signum > 0:
                                message = f"its process was killed by signal {signum}"
                    if on_fold_done:  # a fold's timing record is the last file it writes
                        for i in range(job.n_folds):
                            if i not in reported and (out / f"fold_{i}.json").exists():
                                reported.add(i)
                                on_fold_done(i)
            finally:
                for worker in running.values():
                    worker.kill()
                for worker in running.values():
                    worker.done.wait(5)
            log, truncated = _read_logs(logs, job.limits.log_bytes)
            try:
                outputs = read_output_dir(out, job.limits.max_output_bytes)
            except OutputTooLarge as e:
                status, outputs, message = "output_limit", {}, str(e)
            except InvalidOutput as e:
                status, outputs, message = "invalid_output", {}, str(e)
            return IngestOutcome(status=status, outputs=outputs, log=log,
                              log_truncated=truncated, message=message)


def read_output_dir(out: Path, max_bytes: int) -> dict[str, bytes]:
    """Regular files on the allowlist, opened without following links, up to max_bytes."""
    files, total = {}, 0
    for entry in os.scandir(out):
        if not OUTPUT_ALLOWLIST.match(entry.name):
            files[entry.name] = b""  # reported as unexpected by scorer.outputs
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            raise InvalidOutput(f"{entry.name} is a link; predictions must be written as "
                                "plain files") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InvalidOutput(f"{entry.name} is not a regular file")
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(max_bytes - total + 1)
        finally:
            os.close(fd)
        total += len(data)
        if total > max_bytes:
            raise OutputTooLarge(f"the outputs exceed {max_bytes} bytes")
        files[entry.name] = data
    return files


class OutputTooLarge(Exception):
    pass


def _read_logs(logs: Path, cap: int) -> tuple[str, bool]:
    parts, truncated = [], False
    for f in sorted(logs.iterdir(), key=lambda p: int(p.stem.split("_")[1])):
        data = f.read_bytes()
        if data:
            parts.append(f"--- {f.stem} ---\n" + data.decode(errors="replace"))
    text = "\n".join(parts)
    if len(text) > cap:
        text, truncated = text[-cap:], True
    return text, truncated
