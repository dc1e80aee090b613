"""The Docker backend: one locked-down container per submission version.

The container's PID 1 only waits. The ingestion entry point runs in `exec`s inside
it (one per group of folds, `job.jobs` groups at once), so the engine itself
reports how each ended. The container and its first exec are started ahead, while
the previous submission is being scored (docker_slot.py, docker_warm.py), so a
run does not wait for the container to start, nor for the libraries the submission
before it used (scorer.preimport.AHEAD).
When the runs are done /out is read through the archive stream
(scorer/backends/docker_io.py) and the container is killed; its OOMKilled
state then says whether the kernel ever killed anything in it for memory.
Nothing the submission prints or writes can set a status: statuses come from
the engine (exit codes, OOMKilled), the clock and the archive reader.

Protections are in scorer/backends/docker_spec.py; the image in runners/ (see
runners/IMAGE.md) and scorer/backends/docker_image.py for its tag.
"""

from __future__ import annotations

import atexit
import signal
import threading
import time
from pathlib import Path

import scorer
from scorer.backends import docker_spec as spec
from scorer.backends.base import FoldCallback, IngestJob, IngestOutcome
from scorer.backends.docker_image import build_command, image_tag
from scorer.backends.docker_io import OutputLimit, UnsafeOutput, read_outputs
from scorer.backends.docker_slot import Slot
from scorer.backends.engine import Engine
from scorer.errors import GitrampError
from scorer.preimport import ahead_groups, library_imports

CODE_DIR = Path(scorer.__file__).resolve().parent  # mounted read-only, never baked in
STOP_GRACE = 10  # seconds to wait for a killed container to be reported stopped
PREPARE_WAIT = 120  # seconds close() or a run waits for a container still being prepared


class DockerBackend:
    name = "docker"

    def __init__(self, image: str | None = None, client=None, warm: bool = True,
                 engine: str | Engine | None = None, engine_url: str | None = None):
        """`image`: a tag or id; by default the tag of runners/ (built by `make image`).
        `warm`: after each run, prepare a container for the next one in the background.
        `engine`: docker or podman (scorer/backends/engine.py), by default the
        GITRAMP_ENGINE variable's, else docker; `engine_url` its socket."""
        self.image = image
        self.engine = engine if isinstance(engine, Engine) else Engine.from_env(engine,
                                                                                 engine_url)
        self.warm = warm
        self._client = client
        self._cleaned = False
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # a spare prepared, or given up
        self._spares: dict[tuple, Slot] = {}
        self._preparing: set[tuple] = set()
        self._threads: list[threading.Thread] = []
        self._generation = 0  # bumped by close(): spares prepared before it are stale
        atexit.register(self.close)

    @property
    def client(self):
        if self._client is None:
            self._client = self.engine.connect()
        return self._client

    def image_for(self, job: IngestJob):
        import docker

        tag = self.image or image_tag(job.requirements_hash)
        try:
            return tag, self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            build = build_command(job.requirements_hash, job.kit_dir)
            if job.requirements_hash and self.engine.name == "docker":  # a kit's own image
                hint = (f"Build it with `{build}`: the base image plus the kit's "
                        "requirements, installed from a wheel folder (runners/IMAGE.md).")
            else:
                hint = self.engine.image_hint(tag, build)
            raise GitrampError(f"the scoring image {tag} is not in the {self.engine.name} "
                               f"engine. {hint}") from None

    def run(self, job: IngestJob, on_fold_done: FoldCallback | None = None) -> IngestOutcome:
        client = self.client
        if not self._cleaned:
            remove_stale(client)
            self._cleaned = True
        tag, image = self.image_for(job)
        limits, note = job.limits, None
        imports = library_imports(sorted(Path(job.submission_dir).glob("*.py")))
        ahead = ahead_groups(imports)
        try:
            slot = self._take(image.id, limits, ahead)
        except Exception as e:  # a GPU request the engine cannot meet: refused, or on the CPU
            if not spec.gpus_missing(e, limits):
                raise
            if not limits.gpus_optional:
                raise GitrampError(spec.gpu_refusal(limits, e, self.engine.name)) from None
            limits, note = spec.on_cpu(limits), spec.cpu_note(limits)
            slot = self._take(image.id, limits, ahead)
        if self.warm:  # the next submission's container starts while this one runs
            self._prepare_spare(image.id, limits, ahead)
        try:
            slot.start(job, on_fold_done, imports)
            timed_out = not slot.wait(limits.timeout)
            outputs, problem = {}, None
            if not timed_out:
                outputs, problem = _read_back(slot.container, limits.max_output_bytes)
            _stop(slot.container)
            oom = bool(slot.container.attrs["State"].get("OOMKilled"))
            status, message = decide(timed_out, oom, problem, slot.exit_codes(), limits)
            log, truncated = slot.log()
            return IngestOutcome(status=status, outputs=outputs if status in ("ok", "error")
                              else {}, log=log, log_truncated=truncated,
                              message=note if status == "ok" else message,
                              image=f"{tag}@{image.id}")
        finally:
            slot.remove()

    # ------------------------------------------------------------------ warm slots
    def _take(self, image_id: str, limits, ahead: list[str]) -> Slot:
        """A spare prepared for these image and limits (waiting for one still being
        prepared: starting a second container would race it for the same CPU, and
        the spare's libraries would then depend on which won), else a new container
        that imports the `ahead` groups this submission uses while its inputs are
        copied."""
        key = (image_id, limits)
        with self._ready:  # one being prepared is ready sooner than a new one would be
            self._ready.wait_for(lambda: key not in self._preparing, PREPARE_WAIT)
            spare = self._spares.pop(key, None)
        if spare is not None and spare.fresh:
            return spare
        if spare is not None:
            spare.remove()
        return Slot(self.client, image_id, limits, CODE_DIR, ahead)

    def _prepare_spare(self, image_id: str, limits, ahead: list[str]) -> None:
        """Start the next submission's container now, in the background: the same
        image, limits and libraries (`ahead`, scorer.preimport.AHEAD) are the likely
        next request (a runner scoring a queue)."""
        key = (image_id, limits)
        with self._lock:
            if key in self._spares or key in self._preparing:
                return
            self._preparing.add(key)

        generation = self._generation

        def prepare() -> None:
            slot = None
            try:
                slot = Slot(self.client, image_id, limits, CODE_DIR, ahead)
            except Exception:
                pass  # the next run prepares its own, and reports what fails
            with self._ready:  # done preparing and a spare, at once, for `_take`
                self._preparing.discard(key)
                stale = generation != self._generation  # close() came meanwhile
                old = None if stale or slot is None else self._spares.get(key)
                if slot is not None and not stale:
                    self._spares[key] = slot
                self._ready.notify_all()
            for unused in (slot if stale else None, old):
                if unused is not None:
                    unused.remove()

        thread = threading.Thread(target=prepare, daemon=True)
        self._threads.append(thread)
        thread.start()

    def close(self) -> None:
        """Remove the prepared containers (also done when the interpreter exits)."""
        with self._lock:
            self._generation += 1
        for thread in self._threads:  # a container being prepared is removed when ready
            thread.join(PREPARE_WAIT)
        with self._lock:
            spares, self._spares = list(self._spares.values()), {}
        for slot in spares:
            slot.remove()


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
