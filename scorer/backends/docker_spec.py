"""The container a submission runs in: every protection, as Docker SDK arguments.

Pure functions from the kit's limits to the keyword arguments of
`client.containers.create`, so the whole sandbox can be read (and tested) in one
place. What each setting stops:

- network_mode none: no DNS, no outside address, no Docker bridge gateway.
- read_only root, size-capped tmpfs for /tmp and /dev/shm, a size-capped tmpfs
  volume for /out: nothing written survives the container, nothing fills the disk.
- cap_drop ALL, no-new-privileges, setuid bits stripped in the image: no mount,
  unshare, raw sockets or privilege gain. The container's user is root so that
  the ingestion supervisor (scorer/backends/docker_warm.py, an exec) holds
  SUPERVISOR_CAPS and nothing else (the engine gives capabilities only to execs of
  a container whose user is root); it runs each fold under a user of its own
  (UID + fold, no capability, bounding set emptied) and cleans up after it. No
  submission code runs as root.
- pids limit: fork and thread bombs hit a wall; memory == memory+swap: no swap.
- nano_cpus and the thread-count variables: the submission gets `cpus` cores and
  its BLAS/OpenMP pools are sized to them.
- ulimits fsize (largest file), nofile (open files), core 0 (no core dumps).
- log driver none: nothing the container prints reaches the host's disk; output
  is read from the exec stream, capped (see docker_io.LogCapture).
"""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path

from docker.types import DeviceRequest, Mount, Ulimit

from scorer.backends.docker_image import UID
from scorer.task import Limits, parse_size

LABEL = "gitramp"  # every container and volume of this backend carries gitramp=1
DEADLINE_LABEL = "gitramp.deadline"  # epoch seconds after which it is stale
OWNER_LABEL = "gitramp.owner"  # host:pid of the scorer that made it
SUBMISSION, INPUTS, OUT, CODE = "/submission", "/inputs", "/out", "/opt/gitramp"
START = "/start"  # the scorer's start file for the waiting supervisor (docker_warm.py), and
LABELS = "/start/labels"  # the per-fold label files: 0700, read by root only
# What the supervisor needs, and nothing more: switch users and drop the bounding set
# (SETUID, SETGID, SETPCAP), hand a fold its work folder and take /out back (CHOWN),
# read the labels and move and wipe what a fold's user left (DAC_OVERRIDE, FOWNER),
# kill what a fold's user left running (KILL).
SUPERVISOR_CAPS = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETPCAP", "SETUID"]

NOFILE = 1024
OUT_FILES = 4096  # inodes of /out: bounds the archive stream with its size
PAGE = 4096  # /tmp holds at most one file per page of its size: many empty files then fail
# with ENOSPC (a scratch limit, reported as such) before their inodes, kernel memory
# charged to the container, run it out of memory
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS",
                    "LOKY_MAX_CPU_COUNT")


def parse_bytes(value: str | int) -> int:
    """'2g' -> 2147483648, with the kit's own size rules (scorer.task.parse_size)."""
    size = parse_size(value)
    if size is None:
        raise ValueError(f"not a size: {value!r} (expected e.g. 512m or 4g)")
    return size


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def thread_count(limits: Limits) -> int:
    return max(1, math.floor(limits.cpus))


def environment(limits: Limits) -> dict[str, str]:
    n = str(thread_count(limits))
    env = dict.fromkeys(THREAD_VARIABLES, n)
    env.update(PYTHONPATH=CODE, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1",
               HOME="/tmp", MPLCONFIGDIR="/tmp", LANG="C.UTF-8")
    return env


def output_volume_options(limits: Limits, deadline: float) -> dict:
    """A tmpfs-backed volume for /out: capped in size, owned by the submission's
    user, and (unlike a plain tmpfs mount) readable through the archive API."""
    size = limits.max_output_bytes + 1024**2  # room for the error record past the cap
    return {"driver": "local",
            "driver_opts": {"type": "tmpfs", "device": "tmpfs",
                            "o": f"size={size},nr_inodes={OUT_FILES},uid={UID},gid={UID},"
                                 "mode=0700,nosuid,nodev"},
            "labels": {LABEL: "1", DEADLINE_LABEL: str(int(deadline))}}


def container_options(limits: Limits, *, image: str, submission_dir: Path, inputs_dir: Path,
                      start_dir: Path, code_dir: Path, volume: str, deadline: float) -> dict:
    """Keyword arguments of `client.containers.create` for one submission."""
    memory = parse_bytes(limits.memory)
    tmpfs = parse_bytes(limits.tmpfs)
    file_cap = max(limits.max_output_bytes, tmpfs)
    options = dict(
        image=image,
        # PID 1 only waits: the submission runs under an `exec` (docker_slot.py), so
        # the engine reports its exit code, and /out stays mounted until it is read.
        # A plain `sleep` has no signal handlers, and it is root's, so nothing inside
        # can signal it away nor ptrace it (an init that forwards signals could be
        # made to stop the container).
        command=["sleep", "infinity"],
        user="0:0",
        working_dir="/tmp",
        environment=environment(limits),
        network_mode="none",
        read_only=True,
        mounts=[
            Mount(SUBMISSION, str(submission_dir), type="bind", read_only=True),
            Mount(INPUTS, str(inputs_dir), type="bind", read_only=True),
            Mount(START, str(start_dir), type="bind", read_only=True),
            Mount(f"{CODE}/scorer", str(code_dir), type="bind", read_only=True),
            Mount(OUT, volume, type="volume"),
        ],
        tmpfs={"/tmp": f"rw,nosuid,nodev,size={tmpfs},nr_inodes={max(1024, tmpfs // PAGE)},"
                       "mode=1777"},
        shm_size=tmpfs,
        cap_drop=["ALL"],
        cap_add=list(SUPERVISOR_CAPS),
        security_opt=["no-new-privileges"],
        pids_limit=limits.pids,
        mem_limit=memory,
        memswap_limit=memory,
        nano_cpus=int(limits.cpus * 1e9),
        ulimits=[Ulimit(name="fsize", soft=file_cap, hard=file_cap),
                 Ulimit(name="nofile", soft=NOFILE, hard=NOFILE),
                 Ulimit(name="core", soft=0, hard=0)],
        ipc_mode="private",
        labels={LABEL: "1", DEADLINE_LABEL: str(int(deadline)), OWNER_LABEL: owner()},
        log_config={"type": "none"},
        detach=True,
    )
    if limits.gpus > 0:
        options.update(gpu_options(limits))
    return options


# ------------------------------------------------------------------------------ GPUs
# A GPU is asked of the engine as a device request; the engine has one to give only
# with the NVIDIA container toolkit on the runner. Where it has none, starting the
# container fails ("could not select device driver ... [[gpu]]"): the run is refused
# (gpu_refusal), or, when the kit allows it (limits.gpus_optional), it runs with no
# device request (on_cpu) and its result says so (cpu_note).
def gpu_options(limits: Limits) -> dict:
    return {"device_requests": [DeviceRequest(count=int(limits.gpus),
                                              capabilities=[["gpu"]])]}


def gpus_missing(error: Exception, limits: Limits) -> bool:
    """Whether the engine's `error` on starting a container is its refusal of the GPU
    request (it has no GPU, or no driver to give one)."""
    text = str(getattr(error, "explanation", None) or error).lower()
    return limits.gpus > 0 and ("device driver" in text or "gpu" in text or "cdi" in text)


def gpu_refusal(limits: Limits, error: Exception, engine: str = "docker") -> str:
    why = str(getattr(error, "explanation", None) or error)
    return (f"this kit asks for {limits.gpus} GPU{'s' if limits.gpus > 1 else ''} "
            f"(limits.gpus of challenge.yml) and the {engine} engine of this runner has "
            f"none to give ({why}). Score it on a runner with GPUs and the NVIDIA container "
            "toolkit (labelled gpu), or let it run on the CPU where none is present with "
            "limits.gpus_optional: true")


def on_cpu(limits: Limits) -> Limits:
    """The same limits without the GPU request (limits.gpus_optional)."""
    return limits.model_copy(update={"gpus": 0})


def cpu_note(limits: Limits) -> str:
    return (f"ran on the CPU: the kit asks for {limits.gpus} GPU"
            f"{'s' if limits.gpus > 1 else ''} and this runner has none "
            "(limits.gpus_optional: true)")
