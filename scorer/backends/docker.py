"""The Docker backend: one locked-down container per submission version.

The container's PID 1 only waits. The ingestion entry point runs in `exec`s inside
it (one per group of folds, `job.jobs` groups at once), so the engine itself
reports how each ended. When they are done /out is read through the archive
stream (scorer/backends/docker_io.py) and the container is killed; its OOMKilled
state then says whether the kernel ever killed anything in it for memory.
Nothing the submission prints or writes can set a status: statuses come from
the engine (exit codes, OOMKilled), the clock and the archive reader.

Protections are in scorer/backends/docker_spec.py; the image in runners/ (see
runners/IMAGE.md) and scorer/backends/docker_image.py for its tag.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import scorer
from challenge.errors import GitrampError
from scorer.backends import docker_spec as spec
from scorer.backends.base import FoldCallback, IngestJob, RunOutcome
from scorer.backends.docker_image import image_tag
from scorer.backends.docker_io import LogCapture, OutputLimit, UnsafeOutput, read_outputs

CODE_DIR = Path(scorer.__file__).resolve().parent  # mounted read-only, never baked in
STOP_GRACE = 10  # seconds to wait for a killed container to be reported stopped
POLL = 0.05  # seconds between two questions to the engine about a running exec


class DockerBackend:
    name = "docker"

    def __init__(self, image: str | None = None, client=None):
        """`image`: a tag or id; by default the tag of runners/ (built by `make image`)."""
        self.image = image
        self._client = client
        self._cleaned = False

    @property
    def client(self):
        if self._client is None:
            import docker

            try:
                self._client = docker.from_env(timeout=300)
                self._client.ping()
            except docker.errors.DockerException as e:
                raise GitrampError(
                    f"the docker backend needs a Docker engine, and none answers ({e}). "
                    "Start dockerd (or Docker Desktop), or use --backend local.") from None
        return self._client

    def image_for(self, job: IngestJob):
        import docker

        tag = self.image or image_tag(job.requirements_hash)
        try:
            return tag, self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            kit_hint = " --kit <your kit>" if job.requirements_hash else ""
            raise GitrampError(
                f"the scoring image {tag} is not built. Build it with `make image` "
                f"(or `bash runners/build_image.sh{kit_hint}`); it takes about a minute "
                "and needs no registry.") from None

    def run(self, job: IngestJob, on_fold_done: FoldCallback | None = None) -> RunOutcome:
        client = self.client
        if not self._cleaned:
            remove_stale(client)
            self._cleaned = True
        tag, image = self.image_for(job)
        limits = job.limits
        container = volume = None
        try:
            deadline = time.time() + limits.timeout + 120  # stale for remove_stale after
            volume = client.volumes.create(**spec.output_volume_options(limits, deadline))
            container = client.containers.create(**spec.container_options(
                limits, image=image.id, submission_dir=Path(job.submission_dir).resolve(),
                inputs_dir=Path(job.inputs_dir).resolve(), code_dir=CODE_DIR,
                volume=volume.name, deadline=deadline))
            container.start()
            execs = _Execs(client, container.id, job, on_fold_done)
            timed_out = not execs.wait(limits.timeout)
            outputs, problem = {}, None
            if not timed_out:
                outputs, problem = _read_back(container, limits.max_output_bytes)
            _stop(container)
            oom = bool(container.attrs["State"].get("OOMKilled"))
            status, message = decide(timed_out, oom, problem, execs.exit_codes(), limits)
            log, truncated = execs.log()
            return RunOutcome(status=status, outputs=outputs if status in ("ok", "error")
                              else {}, log=log, log_truncated=truncated, message=message,
                              image=f"{tag}@{image.id}")
        finally:
            _remove(container, volume)


class _Execs:
    """The ingestion runs, one per group of folds, each streamed by a thread."""

    def __init__(self, client, container_id: str, job: IngestJob,
                 on_fold_done: FoldCallback | None):
        self.client = client
        groups = max(1, min(job.jobs, job.n_folds))
        folds = [list(range(job.n_folds))[g::groups] for g in range(groups)]
        env = spec.environment(job.limits)
        threads = str(max(1, spec.thread_count(job.limits) // groups))
        env.update(dict.fromkeys(spec.THREAD_VARIABLES, threads))
        cap = max(1024, job.limits.log_bytes // groups)
        self.runs = []
        for fold_group in folds:
            cmd = ["python3", "-m", "scorer.ingest", "--workflow", job.workflow,
                   "--submission", spec.SUBMISSION, "--inputs", spec.INPUTS, "--out", spec.OUT,
                   "--folds", ",".join(map(str, fold_group))]
            exec_id = client.api.exec_create(container_id, cmd, user=f"{spec.UID}:{spec.UID}",
                                             workdir="/tmp", environment=env)["Id"]
            capture = LogCapture(cap, _only(fold_group, on_fold_done))
            thread = threading.Thread(target=self._stream, args=(exec_id, capture), daemon=True)
            self.runs.append((fold_group, exec_id, capture, thread))
        for *_, thread in self.runs:
            thread.start()

    def _stream(self, exec_id: str, capture: LogCapture) -> None:
        try:
            for chunk in self.client.api.exec_start(exec_id, stream=True):
                capture.feed(chunk)
        except Exception:  # killed under the stream, or silent past the client's timeout
            try:
                while self.client.api.exec_inspect(exec_id).get("Running"):
                    time.sleep(0.5)
            except Exception:  # the container is gone: so is the run
                pass

    def wait(self, timeout: float) -> bool:
        """True when every run ended within `timeout` seconds. The engine says when a
        run's process ended; its output stream can stay open much longer, held by
        whatever the submission left running."""
        deadline = time.monotonic() + timeout
        pending = [(exec_id, thread) for _, exec_id, _, thread in self.runs]
        while pending and time.monotonic() < deadline:
            exec_id, thread = pending[0]
            thread.join(min(POLL, max(0.0, deadline - time.monotonic())))
            if not self.client.api.exec_inspect(exec_id).get("Running"):
                pending.pop(0)
        if pending:
            return False
        for *_, thread in self.runs:  # the last output, if the stream is still open
            thread.join(0.2)
        return True

    def exit_codes(self) -> list[int | None]:
        codes = []
        for _, exec_id, _, _ in self.runs:
            info = self.client.api.exec_inspect(exec_id)
            codes.append(None if info.get("Running") else info.get("ExitCode"))
        return codes

    def log(self) -> tuple[str, bool]:
        if len(self.runs) == 1:
            capture = self.runs[0][2]
            return capture.text(), capture.truncated
        parts = [f"--- folds {','.join(map(str, g))} ---\n{c.text()}" for g, _, c, _ in self.runs]
        return "\n".join(parts), any(c.truncated for _, _, c, _ in self.runs)


def _only(folds: list[int], callback: FoldCallback | None) -> FoldCallback | None:
    if callback is None:
        return None
    seen: set[int] = set()

    def report(i: int) -> None:
        if i in folds and i not in seen:
            seen.add(i)
            callback(i)
    return report


def _read_back(container, max_bytes: int) -> tuple[dict[str, bytes], Exception | None]:
    """/out through the archive stream of the running container (its tmpfs volume
    is only mounted while it runs). Whatever the submission left running may still
    change the files: the reader then fails, and that is the submission's problem."""
    chunks, _ = container.get_archive(spec.OUT, chunk_size=1024**2)
    try:
        return read_outputs(chunks, max_bytes), None
    except (OutputLimit, UnsafeOutput) as e:
        return {}, e
    finally:
        # The engine holds the container while it sends the archive: read it to the
        # end (bounded: /out is a tmpfs capped in bytes and files), or kill would wait.
        for _ in chunks:
            pass


def _stop(container) -> None:
    import docker

    try:
        container.kill()
    except docker.errors.APIError:
        pass  # already stopped
    try:
        container.wait(timeout=STOP_GRACE)
    except Exception:
        pass
    container.reload()


def decide(timed_out: bool, oom: bool, problem: Exception | None,
           exit_codes: list[int | None], limits) -> tuple[str, str | None]:
    """The run's status from what the engine, the clock and the archive reader saw."""
    # An out-of-memory kill comes first: it is the cause when a submission, having
    # lost a process to it, then also runs out of time.
    if oom:
        return "oom", (f"the kernel killed a process of the submission for going over "
                       f"the memory limit of {limits.memory}")
    if timed_out:
        return "timeout", f"stopped after {limits.timeout} s of wall-clock time"
    if isinstance(problem, OutputLimit):
        return "output_limit", str(problem)
    if isinstance(problem, UnsafeOutput):
        return "invalid_output", str(problem)
    bad = [c for c in exit_codes if c != 0]
    if not bad:
        return "ok", None
    code = bad[0]
    if code is None:
        return "error", "the container stopped before the submission finished"
    if code > 128:
        try:
            name = signal.Signals(code - 128).name
        except ValueError:
            name = f"signal {code - 128}"
        return "error", f"the submission's process was killed by {name}"
    return "error", f"the submission's process exited with status {code}"


def _remove(container, volume) -> None:
    import docker

    if container is not None:
        try:
            container.remove(force=True)
        except docker.errors.APIError:
            pass
    if volume is not None:
        for _ in range(20):  # the engine may release the volume a moment after removal
            try:
                volume.remove(force=True)
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError:
                time.sleep(0.1)


def remove_stale(client) -> int:
    """Remove containers and volumes this backend left behind (a crash, a killed
    runner): those labelled gitramp=1 that are stopped or past their deadline.
    Running ones within their deadline belong to a concurrent scorer and stay."""
    import docker
    import requests

    now, removed = time.time(), 0
    # sparse: no inspect per container, which fails when a concurrent scorer removes its
    # own container between the listing and the inspect
    for c in client.containers.list(all=True, sparse=True,
                                    filters={"label": f"{spec.LABEL}=1"}):
        deadline = float((c.attrs.get("Labels") or {}).get(spec.DEADLINE_LABEL, 0) or 0)
        if c.status in ("running", "paused", "created") and deadline > now:
            continue
        try:
            c.remove(force=True)
            removed += 1
        except (docker.errors.APIError, requests.RequestException):
            pass  # best effort: a slow engine must not fail this scoring
    for v in client.volumes.list(filters={"label": f"{spec.LABEL}=1"}):
        if float((v.attrs.get("Labels") or {}).get(spec.DEADLINE_LABEL, 0) or 0) > now:
            continue
        try:
            v.remove()  # refused while a container uses it
        except docker.errors.APIError:
            pass
    return removed
