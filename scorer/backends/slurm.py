"""The slurm backend: a runner on a login node scores a submission as a Slurm job.

The scorer stays on the login node: it reads the hidden data, writes each fold's
inputs, and scores the predictions that come back, as with every backend. What
runs the submission's code is a batch job, submitted with `sbatch --parsable` and
followed with `scontrol show job` (no slurmdbd needed: the cluster keeps an ended
job visible for MinJobAge seconds). The job runs `python -m scorer.backends.slurm_job`
on its compute node, which runs the Docker backend there: the same locked-down
container as on any runner (scorer/backends/docker_spec.py), in the node's Docker
or root Podman engine, as the runner's GITRAMP_ENGINE and GITRAMP_ENGINE_URL say
(scorer/backends/engine.py; the job script sets both, since jobs are submitted
with --export=NONE).

Files travel through a shared folder (SlurmConfig.shared, on a cluster its shared
file system), one folder per run:

    <shared>/runs/<run>/owner.json   who made it: host, pid, process start time
                        job_ids      every Slurm job id submitted for it, a line each
                        job.json     the workflow, folds, limits, image
                        job.sh       the batch script
                        submission/ inputs/   what the container gets (copied in)
                        progress     finished folds, a line each
                        outcome.json what the job saw (written last, whole)
                        slurm.out    the job's own stdout and stderr

How Slurm's end states map to gitramp's statuses: COMPLETED -> what the container
run decided (ok, error, timeout, oom, ...); TIMEOUT -> timeout; OUT_OF_MEMORY ->
oom; CANCELLED -> error, saying the job was cancelled; NODE_FAIL, PREEMPTED and
BOOT_FAIL -> submitted again, at most SlurmConfig.requeues times, then an error
naming them; anything else (FAILED, DEADLINE, ...) -> error with Slurm's reason.

A container started by a job ends with the job: the job's driver removes every
container labelled with its job id when it ends, the job script again when it is
signalled, and the epilog (runners/slurm/epilog.sh) does it again as root on the
node after the job, on the Docker and Podman sockets, whatever ended it (scancel,
the time limit, the node set down). A scorer killed
while its jobs run leaves its run folders: the next scorer using the same shared
folder finds them by their owner (a dead process), cancels their jobs and removes
them. See runners/HPC.md.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import scorer
from scorer.backends.base import FoldCallback, IngestJob, IngestOutcome
from scorer.backends.engine import ENGINE_VARIABLE, URL_VARIABLE, Engine
from scorer.backends.slurm_config import SlurmConfig
from scorer.backends.slurm_job import JOB_LABEL, ORDER, OUTCOME, PROGRESS
from scorer.errors import GitrampError

RUNS = "runs"
OWNER, JOB_IDS, SCRIPT, SLURM_OUT = "owner.json", "job_ids", "job.sh", "slurm.out"
ACTIVE = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
          "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
          "RESV_DEL_HOLD", "SPECIAL_EXIT"}
RESUBMIT = {"NODE_FAIL", "PREEMPTED", "BOOT_FAIL"}
COMMAND_TIMEOUT = 60  # seconds for one sbatch / scontrol / scancel call
OUTCOME_WAIT = 15  # seconds to wait for outcome.json on a shared file system after COMPLETED
MAX_OUTCOME = 64 * 1024**2  # outcome.json is refused past max_output_bytes * 4/3 + this
# The gitramp code the job runs: this very checkout or installation, which a compute
# node must see at the same path (shared file system), with SlurmConfig.python.
CODE_ROOT = str(Path(scorer.__file__).resolve().parent.parent)

SCRIPT_TEXT = """\
#!/bin/bash
# gitramp slurm backend: one submission's folds, in this node's container engine
# ({engine_name}). Every container and volume the driver makes carries the label
# {label}=<job id>; they are removed when the driver ends, when the job is signalled
# (scancel, the time limit) and, as root, by the cluster's epilog
# (runners/slurm/epilog.sh).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH={code_root}
{environment}
cleanup() {{
    {python} -P -m scorer.backends.slurm_job --remove >/dev/null 2>&1
    return 0
}}
child=
on_signal() {{
    trap - EXIT
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
    cleanup
    exit 143
}}
trap on_signal TERM INT HUP USR1
# the driver removes its containers itself; this is for a driver that died
trap '[ "$status" = 0 ] || cleanup' EXIT
{python} -P -m scorer.backends.slurm_job {run} &
child=$!
wait "$child"
status=$?
exit $status
"""


class SlurmBackend:
    name = "slurm"

    def __init__(self, config: SlurmConfig | None = None, engine: str | None = None,
                 engine_url: str | None = None, **options):
        """`config`: where and how to submit (by default from GITRAMP_SLURM_*
        variables, see scorer/backends/slurm_config.py); keyword arguments override
        single fields (shared=..., partition=...). `engine`, `engine_url`: the
        compute nodes' container engine and its socket, by default the runner's
        GITRAMP_ENGINE and GITRAMP_ENGINE_URL (unset: Docker, and the engine's
        default socket as the node sees it)."""
        self.config = config or SlurmConfig.from_env(**options)
        self.engine = Engine(
            (engine or os.environ.get(ENGINE_VARIABLE) or "docker").strip().lower())
        self.engine_url = engine_url or os.environ.get(URL_VARIABLE) or None
        self._cleaned = False
        self._me = _process_identity(os.getpid())
        for tool in ("sbatch", "scontrol", "scancel"):
            if shutil.which(tool) is None:
                raise GitrampError(f"the slurm backend needs Slurm's `{tool}` on PATH, and "
                                   "there is none. Run the runner on a login node of the "
                                   "cluster (see runners/HPC.md), or use --backend docker.")

    @property
    def runs_dir(self) -> Path:
        return self.config.shared / RUNS

    # ------------------------------------------------------------------ one run
    def run(self, job: IngestJob, on_fold_done: FoldCallback | None = None) -> IngestOutcome:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        for d in (self.config.shared, self.runs_dir):
            d.chmod(0o700)  # inputs hold labels: the runner's user only
        if not self._cleaned:
            clean_stale(self.config.shared)
            self._cleaned = True
        run = self._stage(job)
        try:
            return self._follow(run, job, on_fold_done)
        finally:
            for job_id in _job_ids(run):
                if _state(job_id)[0] in ACTIVE:
                    scancel(job_id)  # interrupted (Ctrl-C, an exception): leave nothing
            shutil.rmtree(run, ignore_errors=True)

    def _stage(self, job: IngestJob) -> Path:
        run = self.runs_dir / f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
        run.mkdir(mode=0o700)
        lifetime = (self.config.max_queue + job.limits.timeout + self.config.time_margin) * (
            self.config.requeues + 1)
        _write_json(run / OWNER, {"host": socket.gethostname(), **self._me,
                                  "created": time.time(), "lifetime": lifetime})
        shutil.copytree(job.submission_dir, run / "submission", symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(job.inputs_dir, run / "inputs", symlinks=True)
        _write_json(run / ORDER, {"workflow": job.workflow, "n_folds": job.n_folds,
                                  "limits": job.limits.model_dump(mode="json"),
                                  "requirements_hash": job.requirements_hash,
                                  "image": self.config.image})
        (run / SCRIPT).write_text(SCRIPT_TEXT.format(
            label=JOB_LABEL, engine_name=self.engine.name, environment=self._environment(),
            python=shlex.quote(self.config.python), run=shlex.quote(str(run)),
            code_root=shlex.quote(CODE_ROOT)))
        (run / SCRIPT).chmod(0o700)
        return run

    def _environment(self) -> str:
        """The job's engine settings, as `export` lines (the job gets no other)."""
        pairs = {ENGINE_VARIABLE: self.engine.name, URL_VARIABLE: self.engine_url,
                 "DOCKER_HOST": self.config.docker_host}
        return "\n".join(f"export {name}={shlex.quote(value)}"
                         for name, value in pairs.items() if value)

    def _submit(self, run: Path, job: IngestJob) -> str:
        command = ["sbatch", "--parsable", "--no-requeue", "--export=NONE",
                   f"--job-name=gitramp-{run.name}", f"--chdir={run}",
                   f"--output={run / SLURM_OUT}", *self.config.sbatch_options(job.limits),
                   str(run / SCRIPT)]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise GitrampError(f"sbatch did not answer within {COMMAND_TIMEOUT} s; is "
                               "slurmctld up? (`scontrol ping`)") from None
        if done.returncode != 0:
            raise GitrampError(f"sbatch refused the job: {done.stderr.strip() or done.stdout}"
                               f" (options: {' '.join(command[1:-1])})")
        job_id = done.stdout.strip().split(";")[0]
        if not job_id.isdigit():
            raise GitrampError(f"sbatch --parsable printed {done.stdout!r}, not a job id")
        with open(run / JOB_IDS, "a") as f:
            f.write(job_id + "\n")
        return job_id

    def _follow(self, run: Path, job: IngestJob, on_fold_done: FoldCallback | None):
        ended: list[str] = []  # what ended each job that was submitted again
        seen: set[int] = set()
        while True:
            job_id = self._submit(run, job)
            submitted = time.monotonic()
            while True:
                _report_progress(run, seen, on_fold_done)
                state, info = _state(job_id)
                if state not in ACTIVE:
                    break
                if state == "PENDING" and time.monotonic() - submitted > self.config.max_queue:
                    scancel(job_id)
                    return _error(f"the Slurm job {job_id} waited in the queue for more than "
                                  f"{self.config.max_queue:.0f} s ({info.get('Reason')}); "
                                  "cancelled")
                _wait_for_outcome(run, self.config.poll)
            _report_progress(run, seen, on_fold_done)
            if state in RESUBMIT:
                ended.append(f"{state} on {info.get('NodeList') or 'its node'} "
                             f"(job {job_id})")
                if len(ended) > self.config.requeues:
                    return _error(f"the Slurm job was ended {len(ended)} times by a node "
                                  f"failure or preemption: {'; '.join(ended)}; gave up after "
                                  f"{self.config.requeues} resubmissions")
                seen.clear()  # the folds run again from the start
                (run / PROGRESS).unlink(missing_ok=True)
                (run / OUTCOME).unlink(missing_ok=True)
                continue
            return self._end(run, job, job_id, state, info)

    def _end(self, run: Path, job: IngestJob, job_id: str, state: str,
             info: dict[str, str]) -> IngestOutcome:
        limits = job.limits
        if state == "TIMEOUT":
            return IngestOutcome(status="timeout", log=_tail(run / SLURM_OUT),
                                 message=f"Slurm stopped job {job_id} at its time limit of "
                                         f"{self.config.time_limit(limits)} (minutes:seconds); "
                                         f"the kit allows {limits.timeout} s")
        if state == "OUT_OF_MEMORY":
            return IngestOutcome(status="oom", log=_tail(run / SLURM_OUT),
                                 message=f"Slurm killed job {job_id} for going over its "
                                         f"memory of {self.config.memory_mb(limits)} MB "
                                         f"(the kit allows {limits.memory})")
        if state == "CANCELLED":
            return _error(f"the Slurm job {job_id} was cancelled (scancel or an "
                          f"administrator) before it finished", run)
        outcome = (_read_outcome(run, limits.max_output_bytes)
                   if state in ("COMPLETED", "GONE") else None)
        if outcome is not None:
            if outcome.get("runner_error"):
                return _error(outcome.get("message") or "the job failed", run)
            return IngestOutcome(
                status=outcome["status"], log=outcome.get("log", ""),
                log_truncated=bool(outcome.get("log_truncated")),
                message=outcome.get("message"), image=outcome.get("image"),
                outputs={k: base64.b64decode(v) for k, v in
                         (outcome.get("outputs") or {}).items()})
        reason = info.get("Reason") or "None"
        return _error(f"the Slurm job {job_id} ended {state} (exit code "
                      f"{info.get('ExitCode', '?')}, reason {reason}) without a result", run)


OUTCOME_TICK = 0.1  # seconds between two looks for outcome.json while a job runs


def _wait_for_outcome(run: Path, seconds: float) -> None:
    """Wait `seconds` before asking Slurm again, or less once the job's driver has
    written outcome.json (its last act): then the job is ending, and asking at once
    saves most of a poll per submission. A look is a stat on the shared folder;
    slurmctld is asked no more often than before while the job runs."""
    deadline = time.monotonic() + seconds
    while not (run / OUTCOME).exists():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(OUTCOME_TICK, left))
    time.sleep(OUTCOME_TICK)  # the job goes from COMPLETING to COMPLETED after its epilog


# ------------------------------------------------------------------ Slurm commands
def _state(job_id: str) -> tuple[str, dict[str, str]]:
    """The job's state and fields from `scontrol show job -o`, or squeue's state
    when scontrol cannot say; "GONE" when Slurm no longer knows the job."""
    try:
        done = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "PENDING", {"Reason": "scontrol did not answer"}  # ask again next poll
    if done.returncode == 0 and "JobState=" in done.stdout:
        info = _fields(done.stdout)
        return info.get("JobState", "UNKNOWN").split("+")[0], info
    try:
        done = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT)
        state = done.stdout.strip().split("\n")[0] if done.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        state = ""
    return (state or "GONE"), {}


def _fields(line: str) -> dict[str, str]:
    info: dict[str, str] = {}
    for token in line.split():
        key, sep, value = token.partition("=")
        if sep and key not in info:
            info[key] = value
    return info


def scancel(job_id: str) -> None:
    try:
        subprocess.run(["scancel", job_id], capture_output=True, timeout=COMMAND_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        pass  # the next run's clean-up tries again


# ------------------------------------------------------------------ stale runs
def _process_identity(pid: int) -> dict:
    """pid and its start time (clock ticks since boot): a pid that was reused by
    another process after the owner died does not pass for the owner."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        start = int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        start = None
    return {"pid": pid, "start": start}


def _owner_alive(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        # Another login node's scorer: alive as long as its run could still be going.
        return time.time() - float(owner.get("created", 0)) < owner.get("lifetime", 7 * 86400)
    pid = owner.get("pid")
    if not isinstance(pid, int):
        return False
    return _process_identity(pid) == {"pid": pid, "start": owner.get("start")}


def clean_stale(shared: Path) -> list[str]:
    """Cancel the jobs and remove the run folders of scorers that died (killed,
    crashed, the login node rebooted): their owner process is gone. Returns the
    job ids cancelled. Runs of live scorers, here or on other hosts, are left."""
    cancelled = []
    runs = Path(shared) / RUNS
    if not runs.is_dir():
        return cancelled
    for run in runs.iterdir():
        try:
            owner = json.loads((run / OWNER).read_text())
        except (OSError, ValueError):
            # No owner yet: being made by a live scorer, or a crash before the first
            # write. Old enough, it is the latter.
            try:
                if time.time() - run.stat().st_mtime < 3600:
                    continue
            except OSError:
                continue
            owner = {}
        if owner and _owner_alive(owner):
            continue
        for job_id in _job_ids(run):
            scancel(job_id)
            cancelled.append(job_id)
        shutil.rmtree(run, ignore_errors=True)
    return cancelled


# ------------------------------------------------------------------ files
def _job_ids(run: Path) -> list[str]:
    try:
        return [x for x in (run / JOB_IDS).read_text().split() if x.isdigit()]
    except OSError:
        return []


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _read_outcome(run: Path, max_output_bytes: int) -> dict | None:
    path = run / OUTCOME
    deadline = time.monotonic() + OUTCOME_WAIT
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # a shared file system may show it a moment later
    try:
        if path.stat().st_size > max_output_bytes * 4 // 3 + MAX_OUTCOME:
            return {"runner_error": True, "message": "outcome.json is larger than any run "
                                                     "can write; refused"}
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _report_progress(run: Path, seen: set[int], callback: FoldCallback | None) -> None:
    if callback is None:
        return
    try:
        lines = (run / PROGRESS).read_text().split()
    except OSError:
        return
    for line in lines:
        if line.isdigit() and int(line) not in seen:
            seen.add(int(line))
            callback(int(line))


def _tail(path: Path, size: int = 4000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - size))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _error(message: str, run: Path | None = None) -> IngestOutcome:
    return IngestOutcome(status="error", message=message,
                         log=_tail(run / SLURM_OUT) if run is not None else "")
