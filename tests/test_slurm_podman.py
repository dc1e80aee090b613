"""The slurm backend on Podman: jobs on the real one-node cluster
(runners/slurm/start_test_cluster.sh) whose containers root Podman's service makes
(runners/podman/start_service.sh), chosen as a runner chooses it (GITRAMP_ENGINE,
or engine= here) and passed to the job by its script. One submission scored this
way gives the Docker backend's scores on Docker; scancel, and the epilog alone,
leave no Podman container or volume of the job."""

from __future__ import annotations

import subprocess
import sys

import pytest

from challenge.kit import load_kit
from scorer.backends.docker import DockerBackend
from scorer.backends.docker_image import image_tag
from scorer.backends.engine import PODMAN_ROOT_SOCKET
from scorer.backends.slurm import SCRIPT, SlurmBackend
from scorer.backends.slurm_job import JOB_LABEL
from scorer.scoring import score_submission
from tests.hostile.sandbox_kit import SUBMISSIONS, small_kit
from tests.test_slurm_backend import (  # noqa: F401 - slurm is a fixture
    IRIS,
    POLL,
    _in_thread,
    _running_job,
    _wait_for,
    slurm,
)


def on_podman(test):
    """Needs the Slurm cluster, root Podman's service with the scoring image, and
    (for the comparison) Docker; in the Slurm tests' worker, one at a time."""
    return pytest.mark.slurm(pytest.mark.podman(pytest.mark.docker(
        pytest.mark.xdist_group("slurm")(pytest.mark.usefixtures("slurm")(test)))))


def _backend(shared, **options) -> SlurmBackend:
    return SlurmBackend(shared=shared, poll=POLL, time_margin=60, engine="podman", **options)


def _labelled(client, job_id: str | None = None):
    """The containers, and the volumes, carrying a job's label (any job's: None)."""
    label = {"label": JOB_LABEL if job_id is None else f"{JOB_LABEL}={job_id}"}
    return (client.containers.list(all=True, sparse=True, filters=label),
            client.volumes.list(filters=label))


def _nothing_left(client, job_id: str, timeout: float = 30) -> None:
    _wait_for(lambda: _labelled(client, job_id) == ([], []), timeout,
              f"the Podman containers and volumes of job {job_id} to be removed")


@on_podman
def test_the_job_script_names_the_runners_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("GITRAMP_ENGINE", "podman")
    monkeypatch.setenv("GITRAMP_ENGINE_URL", "unix:///run/x/podman.sock")
    from_env = SlurmBackend(shared=tmp_path)
    assert from_env.engine.name == "podman"
    lines = from_env._environment().splitlines()
    assert lines == ["export GITRAMP_ENGINE=podman",
                     "export GITRAMP_ENGINE_URL=unix:///run/x/podman.sock"]
    monkeypatch.delenv("GITRAMP_ENGINE")
    monkeypatch.delenv("GITRAMP_ENGINE_URL")
    # no URL: the node's own default socket, found on the node (not the login node's)
    assert SlurmBackend(shared=tmp_path, engine="podman")._environment() == \
        "export GITRAMP_ENGINE=podman"
    assert SlurmBackend(shared=tmp_path)._environment() == "export GITRAMP_ENGINE=docker"


@on_podman
def test_slurm_on_podman_scores_like_the_docker_backend_on_docker(
        podman_engine, docker_engine, tmp_path):
    kit = load_kit(IRIS)
    shared = tmp_path / "shared"
    thread, box = _in_thread(lambda: score_submission(
        kit, IRIS / "submissions" / "starting_kit", backend=_backend(shared)).result)
    job_id = _running_job(shared)
    script = next((shared / "runs").glob(f"*/{SCRIPT}")).read_text()
    assert "export GITRAMP_ENGINE=podman" in script  # its socket: the node's default
    # the job's container is Podman's, and Docker has none of it
    _wait_for(lambda: _labelled(podman_engine, job_id)[0], 60, "the job's Podman container")
    assert _labelled(docker_engine, job_id) == ([], [])
    thread.join(300)
    assert "error" not in box, box.get("error")
    slurm_run = box["result"]
    docker_run = score_submission(kit, IRIS / "submissions" / "starting_kit",
                                  backend=DockerBackend(warm=False, engine="docker")).result
    assert slurm_run.status == "scored", slurm_run.reason
    assert docker_run.status == "scored", docker_run.reason
    for split, scores in docker_run.bagged.items():
        for name, value in scores.items():
            assert slurm_run.bagged[split][name] == pytest.approx(value, abs=1e-9)
    assert slurm_run.image.split("@")[1] == docker_run.image.split("@")[1]
    _nothing_left(podman_engine, job_id)


@on_podman
def test_scancel_leaves_no_podman_container(podman_engine, tmp_path):
    kit = small_kit(tmp_path / "kit", timeout=120)
    shared = tmp_path / "shared"
    thread, box = _in_thread(lambda: score_submission(
        kit, SUBMISSIONS / "loop_in_fit",
        backend=_backend(shared, engine_url=PODMAN_ROOT_SOCKET)).result)
    job_id = _running_job(shared)
    assert f"GITRAMP_ENGINE_URL={PODMAN_ROOT_SOCKET}" in next(
        (shared / "runs").glob(f"*/{SCRIPT}")).read_text()
    _wait_for(lambda: _labelled(podman_engine, job_id)[0], 60, "the job's Podman container")
    subprocess.run(["scancel", job_id], check=True, timeout=30)
    thread.join(60)
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert result.status == "error" and "cancelled" in result.reason, result.reason
    _nothing_left(podman_engine, job_id)


@on_podman
def test_epilog_removes_a_jobs_podman_containers_when_nothing_else_does(
        podman_engine, tmp_path):
    """A job that starts a Podman container and volume and has no trap: only the
    cluster's epilog, asking Podman's socket, can remove them."""
    script = tmp_path / "bare.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"{sys.executable} -c '\n"
        "import docker, os\n"
        f"c = docker.DockerClient(base_url=\"{PODMAN_ROOT_SOCKET}\")\n"
        f"labels = {{\"{JOB_LABEL}\": os.environ[\"SLURM_JOB_ID\"]}}\n"
        "c.volumes.create(labels=labels)\n"
        f"c.containers.run(\"{image_tag()}\", \"sleep 300\", detach=True,\n"
        "                 network_mode=\"none\", labels=labels)\n"
        "'\nsleep 300\n")
    job_id = subprocess.run(["sbatch", "--parsable", "--time=2", f"--output={tmp_path}/out",
                             str(script)], capture_output=True, text=True, check=True,
                            timeout=30).stdout.strip()
    _wait_for(lambda: _labelled(podman_engine, job_id)[0], 60, "the job's Podman container")
    assert _labelled(podman_engine, job_id)[1]
    subprocess.run(["scancel", job_id], check=True, timeout=30)
    _nothing_left(podman_engine, job_id)
