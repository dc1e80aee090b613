"""The slurm backend: its configuration and state mapping (no Slurm needed), then
real jobs on a one-node Slurm cluster (runners/slurm/start_test_cluster.sh, which
the fixture runs when the cluster is not up): the same scores as the Docker
backend, a timeout, an out-of-memory, a job cancelled from outside, a node set
down under a job, and a scorer killed then restarted. Every real test also checks
that no container of its jobs is left running."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from challenge.kit import Limits, load_kit
from scorer.backends import get_backend
from scorer.backends.base import IngestJob
from scorer.backends.docker import DockerBackend
from scorer.backends.slurm import JOB_IDS, OWNER, RUNS, SLURM_OUT, SlurmBackend, _state, clean_stale
from scorer.backends.slurm_config import SlurmConfig
from scorer.backends.slurm_job import JOB_LABEL
from scorer.errors import GitrampError
from scorer.scoring import score_submission
from tests.conftest import ROOT, need
from tests.hostile.sandbox_kit import SUBMISSIONS, small_kit

IRIS = ROOT / "kits" / "iris"
START = ROOT / "runners" / "slurm" / "start_test_cluster.sh"
POLL = 0.25


def cluster(test):
    """A test against the real cluster: it needs Slurm and the Docker engine, and runs
    in one worker with the others of this module (one sets the node down)."""
    return pytest.mark.slurm(pytest.mark.docker(pytest.mark.xdist_group("slurm")(test)))


# ------------------------------------------------------------------ no Slurm needed
def test_limits_map_to_sbatch_options():
    config = SlurmConfig(partition="gpu", account="ramp", qos="short", time_margin=60,
                         mem_overhead="512m", gpu_type="a100",
                         sbatch_args=("--constraint=docker",))
    options = config.sbatch_options(Limits(timeout=900, memory="4g", cpus=1.5, gpus=2))
    assert options == ["--time=16:00", "--mem=4608M", "--cpus-per-task=2", "--nodes=1",
                       "--ntasks=1", "--gres=gpu:a100:2", "--partition=gpu",
                       "--account=ramp", "--qos=short", "--constraint=docker"]
    bare = SlurmConfig(time_margin=5).sbatch_options(Limits(timeout=25, memory="300m", cpus=1))
    assert bare == ["--time=0:30", "--mem=812M", "--cpus-per-task=1", "--nodes=1", "--ntasks=1"]


def test_a_jobs_driver_loads_no_numerical_library():
    """Each Slurm job starts a process that only stages the run's folders, runs the
    container and copies its outputs back: numpy and pandas (about 0.4 s of CPU a job
    here) are the container's business, not its driver's."""
    code = ("import sys\nfrom scorer.backends.base import IngestJob\n"
            "from scorer.backends.docker import DockerBackend\n"
            "from scorer.backends.engine import Engine\nfrom scorer.task import Limits\n"
            "import scorer.backends.slurm_job\nprint(' '.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, text=True,
                                capture_output=True).stdout.split())
    tops = {m.split(".")[0] for m in loaded}
    assert {"docker", "scorer"} <= tops  # the probe sees what the driver imports
    assert tops.isdisjoint({"numpy", "pandas", "sklearn", "scipy"}), tops & {"numpy", "pandas"}


def test_configuration_comes_from_the_environment(tmp_path):
    env = {"GITRAMP_SLURM_SHARED": str(tmp_path), "GITRAMP_SLURM_PARTITION": "cpu",
           "GITRAMP_SLURM_QOS": "", "GITRAMP_SLURM_REQUEUES": "5",
           "GITRAMP_SLURM_SBATCH_ARGS": "--constraint=docker --comment='a b'"}
    config = SlurmConfig.from_env(env, poll=0.5)
    assert config.shared == tmp_path and config.partition == "cpu" and config.qos is None
    assert config.requeues == 5 and config.poll == 0.5
    assert config.sbatch_args == ("--constraint=docker", "--comment=a b")
    with pytest.raises(GitrampError, match="GITRAMP_SLURM_REQUEUES"):
        SlurmConfig.from_env({"GITRAMP_SLURM_REQUEUES": "many"})
    with pytest.raises(GitrampError, match="GITRAMP_SLURM_MEM_OVERHEAD"):
        SlurmConfig.from_env({"GITRAMP_SLURM_MEM_OVERHEAD": "lots"})


def _ended(backend: SlurmBackend, tmp_path: Path, state: str):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / SLURM_OUT).write_text("slurmstepd: error: something\n")
    job = IngestJob(workflow="classifier", submission_dir=run, inputs_dir=run, n_folds=1,
                    limits=Limits(timeout=30, memory="300m"))
    return backend._end(run, job, "7", state, {"Reason": "NonZeroExitCode",
                                                "ExitCode": "1:0"})


@pytest.mark.slurm
def test_slurm_end_states_map_to_statuses(tmp_path):
    if shutil.which("sbatch") is None:
        need("Slurm's commands are not installed (runners/slurm/start_test_cluster.sh)")
    backend = SlurmBackend(shared=tmp_path / "shared", time_margin=30)
    timeout = _ended(backend, tmp_path, "TIMEOUT")
    assert timeout.status == "timeout" and "time limit of 1:00" in timeout.message
    oom = _ended(backend, tmp_path, "OUT_OF_MEMORY")
    assert oom.status == "oom" and "memory" in oom.message and "slurmstepd" in oom.log
    cancelled = _ended(backend, tmp_path, "CANCELLED")
    assert cancelled.status == "error" and "cancelled" in cancelled.message
    failed = _ended(backend, tmp_path, "FAILED")
    assert failed.status == "error" and "FAILED" in failed.message and "1:0" in failed.message


# ------------------------------------------------------------------ a real cluster
def _cluster_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True,
                              timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and any(s.rstrip("*") in ("idle", "mixed", "allocated")
                                        for s in done.stdout.split())


@pytest.fixture(scope="module")
def slurm(docker_engine) -> str:
    """The node's name, once a Slurm cluster answers with a usable node."""
    if not _cluster_up():
        if os.geteuid() != 0:
            need("no Slurm cluster answers `sinfo`, and only root can start the test one "
                 f"({START.relative_to(ROOT)})")
        done = subprocess.run([str(START)], capture_output=True, text=True, timeout=900)
        if done.returncode != 0 or not _cluster_up():
            need(f"no Slurm cluster answers `sinfo` and {START.relative_to(ROOT)} could not "
                 f"start one: {done.stderr.strip()[-800:]}")
    node = subprocess.run(["sinfo", "-h", "-o", "%n"], capture_output=True, text=True,
                          timeout=20).stdout.split()[0]
    return node


def _backend(shared: Path, **options) -> SlurmBackend:
    return SlurmBackend(shared=shared, poll=POLL, time_margin=60, **options)


def _job_ids(shared: Path) -> list[str]:
    ids = []
    for run in sorted((shared / RUNS).glob("*")):
        try:
            ids += (run / JOB_IDS).read_text().split()
        except OSError:
            pass
    return ids


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {timeout} s for {what}")


def _running_job(shared: Path, after: tuple[str, ...] = ()) -> str:
    def running():
        for job_id in _job_ids(shared):
            if job_id not in after and _state(job_id)[0] == "RUNNING":
                return job_id
        return None
    return _wait_for(running, 60, "a running job")


def _containers_gone(engine, job_id: str, timeout: float = 30) -> None:
    def gone():
        return not engine.containers.list(all=True,
                                          filters={"label": f"{JOB_LABEL}={job_id}"})
    _wait_for(gone, timeout, f"the containers of job {job_id} to be removed")


def _in_thread(target):
    box: dict = {}

    def run():
        try:
            box["result"] = target()
        except BaseException as e:  # noqa: BLE001 - re-raised by the caller
            box["error"] = e
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


@cluster
def test_get_backend_builds_the_slurm_backend(slurm, tmp_path):
    backend = get_backend("slurm", shared=tmp_path, partition="gitramp")
    assert isinstance(backend, SlurmBackend) and backend.config.partition == "gitramp"


@cluster
def test_slurm_scores_like_the_docker_backend(slurm, docker_engine, tmp_path):
    kit = load_kit(IRIS)
    done = []
    slurm_run = score_submission(kit, IRIS / "submissions" / "starting_kit",
                                 backend=_backend(tmp_path), progress=done.append).result
    docker_run = score_submission(kit, IRIS / "submissions" / "starting_kit",
                                  backend=DockerBackend(warm=False)).result
    assert slurm_run.status == "scored", slurm_run.reason
    assert sorted(done) == list(range(len(slurm_run.folds)))
    for split, scores in docker_run.bagged.items():
        for name, value in scores.items():
            assert slurm_run.bagged[split][name] == pytest.approx(value, abs=1e-9)
    assert slurm_run.image.split("@")[1] == docker_run.image.split("@")[1]
    assert not list((tmp_path / RUNS).iterdir())  # the run folder went with the run


@cluster
def test_slurm_timeout(slurm, docker_engine, tmp_path):
    kit = small_kit(tmp_path / "kit", timeout=4)
    shared = tmp_path / "shared"
    result = score_submission(kit, SUBMISSIONS / "loop_in_fit", backend=_backend(shared)).result
    assert result.status == "timeout", result.reason


@cluster
def test_slurm_out_of_memory(slurm, docker_engine, tmp_path):
    kit = small_kit(tmp_path / "kit", memory="300m")
    result = score_submission(kit, SUBMISSIONS / "memory_bomb",
                              backend=_backend(tmp_path / "shared")).result
    assert result.status == "oom", result.reason


@cluster
def test_scancel_from_outside_is_reported_and_leaves_no_container(slurm, docker_engine,
                                                                   tmp_path):
    kit = small_kit(tmp_path / "kit", timeout=120)
    shared = tmp_path / "shared"
    thread, box = _in_thread(lambda: score_submission(
        kit, SUBMISSIONS / "loop_in_fit", backend=_backend(shared)).result)
    job_id = _running_job(shared)
    _wait_for(lambda: docker_engine.containers.list(
        filters={"label": f"{JOB_LABEL}={job_id}"}), 60, "the job's container")
    subprocess.run(["scancel", job_id], check=True, timeout=30)
    thread.join(60)
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert result.status == "error" and "cancelled" in result.reason, result.reason
    assert job_id in result.reason
    _containers_gone(docker_engine, job_id)


@cluster
def test_node_set_down_under_a_job_is_resubmitted(slurm, docker_engine, tmp_path):
    kit = load_kit(IRIS)
    shared = tmp_path / "shared"
    thread, box = _in_thread(lambda: score_submission(
        kit, IRIS / "submissions" / "starting_kit", backend=_backend(shared)).result)
    first = _running_job(shared)
    try:
        subprocess.run(["scontrol", "update", f"nodename={slurm}", "state=down",
                        "reason=gitramp test"], check=True, timeout=30)
        assert _wait_for(lambda: _state(first)[0] == "NODE_FAIL", 30, "NODE_FAIL")
        _wait_for(lambda: len(_job_ids(shared)) > 1, 30, "the job submitted again")
        assert _state(_job_ids(shared)[1])[0] == "PENDING"  # the node is still down
        _containers_gone(docker_engine, first)
    finally:
        subprocess.run(["scontrol", "update", f"nodename={slurm}", "state=resume"],
                       timeout=30)
    thread.join(120)
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert result.status == "scored", result.reason


@cluster
def test_killed_scorer_is_cleaned_up_by_the_next(slurm, docker_engine, tmp_path):
    kit = small_kit(tmp_path / "kit", timeout=120)
    shared = tmp_path / "shared"
    script = tmp_path / "run_scorer.py"
    script.write_text(
        "import sys\n"
        "from challenge.kit import load_kit\n"
        "from scorer.backends.slurm import SlurmBackend\n"
        "from scorer.scoring import score_submission\n"
        f"kit = load_kit({str(kit.path)!r})\n"
        f"score_submission(kit, {str(SUBMISSIONS / 'loop_in_fit')!r},\n"
        f"                 backend=SlurmBackend(shared={str(shared)!r}, poll={POLL}))\n")
    child = subprocess.Popen([sys.executable, str(script)], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        job_id = _running_job(shared)
        (stale,) = list((shared / RUNS).iterdir())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert _state(job_id)[0] == "RUNNING"  # the scorer's death alone stops nothing
    result = score_submission(load_kit(IRIS), IRIS / "submissions" / "starting_kit",
                              backend=_backend(shared)).result
    assert result.status == "scored", result.reason
    assert _state(job_id)[0] in ("CANCELLED", "COMPLETING")
    assert not stale.exists()
    _containers_gone(docker_engine, job_id)


@cluster
def test_live_scorers_runs_are_left_alone(slurm, tmp_path):
    run = tmp_path / RUNS / "someone-else"
    run.mkdir(parents=True)
    me = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19]
    (run / OWNER).write_text(f'{{"host": "{os.uname().nodename}", "pid": {os.getpid()}, '
                             f'"start": {me}, "created": {time.time()}}}')
    assert clean_stale(tmp_path) == [] and run.exists()
    (run / OWNER).write_text(f'{{"host": "{os.uname().nodename}", "pid": {os.getpid()}, '
                             f'"start": 1, "created": {time.time()}}}')  # a reused pid
    assert clean_stale(tmp_path) == [] and not run.exists()


@cluster
def test_epilog_removes_a_jobs_containers_when_nothing_else_does(slurm, docker_engine, tmp_path):
    """A job whose script has no trap: only the cluster's epilog can remove its container."""
    from scorer.backends.docker_image import image_tag

    script = tmp_path / "bare.sh"
    script.write_text("#!/bin/sh\n"
                      f"docker run -d --network none --label {JOB_LABEL}=$SLURM_JOB_ID "
                      f"{image_tag()} sleep 300\nsleep 300\n")
    job_id = subprocess.run(["sbatch", "--parsable", "--time=2", f"--output={tmp_path}/out",
                             str(script)], capture_output=True, text=True, check=True,
                            timeout=30).stdout.strip()
    _wait_for(lambda: docker_engine.containers.list(
        filters={"label": f"{JOB_LABEL}={job_id}"}), 60, "the job's container")
    subprocess.run(["scancel", job_id], check=True, timeout=30)
    _containers_gone(docker_engine, job_id)


def test_gpu_requests_are_pinned_to_the_gpus_slurm_allocated():
    from docker.types import DeviceRequest

    from scorer.backends.slurm_job import allocated_gpus

    asked = [DeviceRequest(count=2, capabilities=[["gpu"]])]
    (pinned,) = allocated_gpus(asked, {"SLURM_JOB_GPUS": "3,5"})
    assert pinned["DeviceIDs"] == ["3", "5"] and not pinned.get("Count")
    assert allocated_gpus(asked, {}) == asked
