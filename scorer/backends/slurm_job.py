"""What a Slurm job of the slurm backend runs on its compute node.

    python -m scorer.backends.slurm_job RUN_DIR

RUN_DIR is the run's folder in the shared directory (scorer/backends/slurm.py wrote
it on the login node): job.json (the workflow, folds and limits), submission/ and
inputs/. This process scores nothing: it runs the Docker backend itself
(scorer/backends/docker.py, without a warm spare) on the node's engine, so the
container, its protections (docker_spec.py), the per-fold users (docker_warm.py)
and how a run's status is decided are the same as on a runner without Slurm. The
engine is the one GITRAMP_ENGINE and GITRAMP_ENGINE_URL name (the job script sets
them from the runner's configuration; scorer/backends/engine.py): Docker, or
Podman through its Docker-compatible API, spoken in Podman's dialect as on a
runner without Slurm. Every container and volume it makes also carries the label
gitramp.slurm_job=<job id>: this process removes what is left of them when it
ends, and the job script's trap (`--remove`, below) and the Slurm epilog
(runners/slurm/epilog.sh) find them by it and remove them however the job ends.

    python -m scorer.backends.slurm_job --remove

removes the containers and volumes labelled with this job's id ($SLURM_JOB_ID) from
the engine GITRAMP_ENGINE(_URL) names.

It writes outcome.json into RUN_DIR (status, log, message, image, and the raw
output files, base64): the login node reads that and nothing else. Progress goes
to RUN_DIR/progress, one finished fold per line. The container never sees RUN_DIR:
the Docker backend copies the submission and inputs into staging folders of its own.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
from pathlib import Path

JOB_LABEL = "gitramp.slurm_job"
OUTCOME, PROGRESS, ORDER = "outcome.json", "progress", "job.json"


class _Labelled:
    """A Docker collection (containers, volumes) whose `create` adds labels."""

    def __init__(self, collection, labels: dict[str, str]):
        self._collection, self._labels = collection, labels

    def create(self, *args, **kwargs):
        kwargs["labels"] = {**(kwargs.get("labels") or {}), **self._labels}
        return self._collection.create(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._collection, name)


class _Containers(_Labelled):
    """Containers labelled, and given the GPUs Slurm allocated to the job."""

    def create(self, *args, **kwargs):
        if kwargs.get("device_requests"):
            kwargs["device_requests"] = allocated_gpus(kwargs["device_requests"])
        return super().create(*args, **kwargs)


def allocated_gpus(requests: list, environ=None) -> list:
    """The Docker backend asks for `count` GPUs, which the engine would take from the
    whole node. The engine is not in the job's cgroup, so it must be told which ones
    Slurm gave this job: SLURM_JOB_GPUS holds their indexes on the node. Without it
    (a cluster that does not set it) the request stays as it is. No GPU here: this is
    untested on this project's machines (see runners/HPC.md)."""
    from docker.types import DeviceRequest

    env = os.environ if environ is None else environ
    ids = [i for i in env.get("SLURM_JOB_GPUS", "").split(",") if i.strip()]
    if not ids:
        return requests
    return [DeviceRequest(device_ids=ids, capabilities=[["gpu"]])]


class LabellingClient:
    """A Docker client that labels every container and volume it creates."""

    def __init__(self, client, labels: dict[str, str]):
        self._client = client
        self.containers = _Containers(client.containers, labels)
        self.volumes = _Labelled(client.volumes, labels)

    def __getattr__(self, name):
        return getattr(self._client, name)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)  # appears whole


def _terminate(signum, _frame):
    # scancel and the time limit send SIGTERM first: unwind, so the Docker backend
    # removes its container before the SIGKILL that follows.
    raise SystemExit(128 + signum)


def remove_labelled(client, job_id: str) -> int:
    """Remove the containers, then the volumes, labelled with this job's id; the
    number of containers removed. Best effort: what fails here the epilog removes."""
    import docker
    import requests

    label, removed = {"label": f"{JOB_LABEL}={job_id}"}, 0
    try:
        for c in client.containers.list(all=True, sparse=True, filters=label):
            try:
                c.remove(force=True)
                removed += 1
            except (docker.errors.APIError, requests.RequestException):
                pass
        for v in client.volumes.list(filters=label):
            try:
                v.remove(force=True)
            except (docker.errors.APIError, requests.RequestException):
                pass
    except (docker.errors.APIError, requests.RequestException):
        pass
    return removed


def remove_job_containers(job_id: str) -> int:
    """`--remove`: the job script's trap, on the engine GITRAMP_ENGINE(_URL) names,
    reached without the checks of Engine.connect (nothing is started here)."""
    import docker

    from scorer.backends.engine import Engine

    engine = Engine.from_env()
    try:
        client = (docker.DockerClient(base_url=engine.url, timeout=30) if engine.url
                  else docker.from_env(timeout=30))
    except docker.errors.DockerException:
        return 0
    return remove_labelled(client, job_id)


def main(argv: list[str]) -> int:
    if argv == ["--remove"]:
        job_id = os.environ.get("SLURM_JOB_ID", "")
        if job_id:
            remove_job_containers(job_id)
        return 0
    if len(argv) != 1:
        print("usage: python -m scorer.backends.slurm_job RUN_DIR | --remove",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    run = Path(argv[0])
    order = json.loads((run / ORDER).read_text())
    job_id = os.environ.get("SLURM_JOB_ID", "none")
    outcome: dict
    try:
        from scorer.backends.base import IngestJob
        from scorer.backends.docker import DockerBackend
        from scorer.backends.engine import Engine
        from scorer.errors import GitrampError
        from scorer.task import Limits

        job = IngestJob(workflow=order["workflow"], submission_dir=run / "submission",
                        inputs_dir=run / "inputs", n_folds=order["n_folds"],
                        limits=Limits(**order["limits"]),
                        requirements_hash=order.get("requirements_hash"))
        progress = open(run / PROGRESS, "a")  # noqa: SIM115 (closed at exit)

        def fold_done(i: int) -> None:
            progress.write(f"{i}\n")
            progress.flush()

        engine = Engine.from_env()
        try:
            client = engine.connect()
        except GitrampError as e:
            raise GitrampError(f"on compute node {os.uname().nodename}: {e}") from None
        backend = DockerBackend(image=order.get("image"), warm=False, engine=engine,
                                client=LabellingClient(client, {JOB_LABEL: job_id}))
        try:
            result = backend.run(job, fold_done)
        finally:
            remove_labelled(client, job_id)
        outcome = {"status": result.status, "log": result.log,
                   "log_truncated": result.log_truncated, "message": result.message,
                   "image": result.image,
                   "outputs": {k: base64.b64encode(v).decode() for k, v in
                               result.outputs.items()}}
    except Exception as e:  # noqa: BLE001 - anything here is the runner's problem, reported
        name = type(e).__name__
        outcome = {"status": "error", "runner_error": True,
                   "message": f"the Slurm job {job_id} on {os.uname().nodename} failed: "
                              f"{e if name == 'GitrampError' else f'{name}: {e}'}"}
    _write_json(run / OUTCOME, outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
