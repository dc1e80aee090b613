"""A slot: one started container waiting for one submission, used once.

Its mounts are staging folders of the host (read-only inside): the submission and
inputs are copied in when the submission is known, the per-fold label files go to
start/labels (mode 0700: the container's root reads them, no fold's user can), then
the start file lets the waiting ingestion supervisor (scorer/backends/docker_warm.py,
an exec as root) go. It runs the folds one after the other, each under its own user.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from scorer.backends import docker_spec as spec
from scorer.backends.base import FoldCallback, IngestJob
from scorer.backends.docker_io import LogCapture
from scorer.run_files import FOLD_LABELS
from scorer.task import Limits

# Seconds between two questions to the engine about a running exec: the first soon, then
# further apart. The run's output stream ending wakes the wait at once, so a run that
# ends normally is seen at once; polling is for a stream held open by what the
# submission left running. Asking every 20 ms cost the engine and the scorer about a
# second of CPU per submission.
POLL_FIRST, POLL_MAX = 0.02, 1.0
IDLE = 300  # seconds a prepared slot may wait before it is thrown away
# Run as a file: the scorer.backends package imports more of gitramp than the image has.
WARM = f"{spec.CODE}/scorer/backends/docker_warm.py"


CREATED, RUNNING, ENDED = "created", "running", "ended"


def exec_state(info: dict) -> str:
    """Whether an exec the engine inspected (`info`) is CREATED (not started yet),
    RUNNING or ENDED. An exit code alone does not say ended: before an exec starts,
    Podman gives 0 (Docker none), and a run Podman is slow to start on a busy host must
    not have its container stopped under it. Once ended, Docker still gives its pid and
    Podman marks it removable; neither does so before."""
    if info.get("Running"):
        return RUNNING
    if info.get("ExitCode") is not None and (info.get("Pid") or info.get("CanRemove")):
        return ENDED
    return CREATED


class Slot:
    def __init__(self, client, image_id: str, limits: Limits, code_dir: Path,
                 ahead: list[str] | tuple[str, ...] = ()):
        """`ahead`: library groups the supervisor imports before its submission is
        known (scorer.preimport.AHEAD)."""
        self.client, self.limits, self.ahead = client, limits, list(ahead)
        self.created = time.monotonic()
        self.container = self.volume = None
        self.stage = Path(tempfile.mkdtemp(prefix="gitramp-slot-"))
        self.runs: list[tuple[str, LogCapture, threading.Thread]] = []
        try:
            for d in ("submission", "inputs", "start"):
                (self.stage / d).mkdir()
            for d in (self.stage, *self.stage.iterdir()):
                d.chmod(0o755)
            self.labels = self.stage / "start" / "labels"
            self.labels.mkdir(mode=0o700)
            self.labels.chmod(0o700)
            deadline = time.time() + IDLE + limits.timeout + 120  # stale after that
            self.volume = client.volumes.create(**spec.output_volume_options(limits, deadline))
            self.container = client.containers.create(**spec.container_options(
                limits, image=image_id, submission_dir=self.stage / "submission",
                inputs_dir=self.stage / "inputs", start_dir=self.stage / "start",
                code_dir=code_dir, volume=self.volume.name, deadline=deadline))
            self.container.start()
            self._add_run()
        except BaseException:
            self.remove()
            raise

    @property
    def fresh(self) -> bool:
        return time.monotonic() - self.created < IDLE

    def _add_run(self) -> None:
        # As root: the supervisor switches each fold to its own user (docker_warm.py).
        exec_id = self.client.api.exec_create(
            self.container.id, ["python3", "-P", WARM, *self.ahead], user="0:0",
            workdir="/tmp",
            environment=spec.environment(self.limits))["Id"]
        capture = LogCapture(self.limits.log_bytes)
        thread = threading.Thread(target=self._stream, args=(exec_id, capture), daemon=True)
        thread.start()
        self.runs.append((exec_id, capture, thread))

    def _stream(self, exec_id: str, capture: LogCapture) -> None:
        for _ in range(3):
            try:
                for chunk in self.client.api.exec_start(exec_id, stream=True):
                    capture.feed(chunk)
                return
            except Exception:  # killed under the stream, or silent past the client's timeout
                if not self._never_started(exec_id):
                    return
                time.sleep(0.2)  # the engine was too busy to start it: ask again

    def _never_started(self, exec_id: str) -> bool:
        try:
            info = self.client.api.exec_inspect(exec_id)
        except Exception:
            return False
        return exec_state(info) == CREATED

    # ------------------------------------------------------------------ one run
    def start(self, job: IngestJob, on_fold_done: FoldCallback | None,
              imports: list[str]) -> list[list[int]]:
        """Copy the submission, the inputs and the fold labels in, then let the
        supervisor go. It runs every fold, one after the other (`job.jobs` cannot run
        them side by side in one container: see docker_warm.py), each with every
        core of the limits. `imports`: the installed libraries the submission imports
        (scorer.preimport.library_imports), which the supervisor imports first."""
        shutil.copytree(job.submission_dir, self.stage / "submission", symlinks=True,
                        dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        for f in Path(job.inputs_dir).iterdir():
            if f.is_dir() and f.name != FOLD_LABELS:  # image files (scorer/images.py)
                shutil.copytree(f, self.stage / "inputs" / f.name, copy_function=_link_or_copy)
            elif f.name != FOLD_LABELS:
                _link_or_copy(f, self.stage / "inputs" / f.name)
        for f in (Path(job.inputs_dir) / FOLD_LABELS).iterdir():
            _link_or_copy(f, self.labels / f.name)
            (self.labels / f.name).chmod(0o400)
        folds = [list(range(job.n_folds))]
        threads = spec.thread_count(self.limits)
        capture = self.runs[0][1]
        capture.on_fold_done = _only(folds[0], on_fold_done)
        order = {"workflow": job.workflow, "n_folds": job.n_folds, "uid": spec.UID,
                 "threads": threads, "env": dict.fromkeys(spec.THREAD_VARIABLES, str(threads)),
                 "imports": imports}
        tmp = self.stage / "start" / ".go.json"
        tmp.write_text(json.dumps(order))
        tmp.chmod(0o444)
        tmp.rename(self.stage / "start" / "go.json")  # appears whole
        self.groups = folds
        return folds

    def wait(self, timeout: float) -> bool:
        """True when every run ended within `timeout` seconds. The engine says when a
        run's process ended; its output stream can stay open much longer, held by
        whatever the submission left running."""
        deadline = time.monotonic() + timeout
        pending = [(exec_id, thread) for exec_id, _, thread in self.runs[:len(self.groups)]]
        poll = POLL_FIRST
        while pending and time.monotonic() < deadline:
            exec_id, thread = pending[0]
            thread.join(min(poll, max(0.0, deadline - time.monotonic())))
            poll = min(POLL_MAX, poll * 1.5)
            state = exec_state(self.client.api.exec_inspect(exec_id))
            # Not started yet while its stream thread lives (see _stream): keep waiting.
            # A stream given up on with the run not running: nothing more will come.
            if state == ENDED or (state == CREATED and not thread.is_alive()):
                pending.pop(0)
        if pending:
            return False
        for _, _, thread in self.runs:  # the last output, if the stream is still open
            thread.join(0.2)
        return True

    def exit_codes(self) -> list[int | None]:
        codes = []
        for exec_id, _, _ in self.runs[:len(self.groups)]:
            info = self.client.api.exec_inspect(exec_id)
            codes.append(info.get("ExitCode") if exec_state(info) == ENDED else None)
        return codes

    def log(self) -> tuple[str, bool]:
        runs = self.runs[:len(self.groups)]
        if len(runs) == 1:
            return runs[0][1].text(), runs[0][1].truncated
        parts = [f"--- folds {','.join(map(str, g))} ---\n{c.text()}"
                 for g, (_, c, _) in zip(self.groups, runs, strict=True)]
        return "\n".join(parts), any(c.truncated for _, c, _ in runs)

    def remove(self) -> None:
        import docker

        if self.container is not None:
            try:
                self.container.remove(force=True)
            except docker.errors.APIError:
                pass
        if self.volume is not None:
            for _ in range(20):  # the engine may release the volume a moment later
                try:
                    self.volume.remove(force=True)
                    break
                except docker.errors.NotFound:
                    break
                except docker.errors.APIError:
                    time.sleep(0.1)
        shutil.rmtree(self.stage, ignore_errors=True)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _only(folds: list[int], callback: FoldCallback | None) -> FoldCallback | None:
    if callback is None:
        return None
    seen: set[int] = set()

    def report(i: int) -> None:
        if i in folds and i not in seen:
            seen.add(i)
            callback(i)
    return report
