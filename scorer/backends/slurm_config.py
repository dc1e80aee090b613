"""The slurm backend's configuration: where jobs go and how the kit's limits map to
Slurm's, from environment variables of the runner (or keyword arguments); defaults in brackets.

GITRAMP_SLURM_SHARED       a folder every compute node sees at the same path (the
                           cluster's shared file system); inputs go there and the
                           outputs come back through it [~/.cache/gitramp/slurm]
GITRAMP_SLURM_PARTITION    --partition [the cluster's default]
GITRAMP_SLURM_ACCOUNT      --account [none]
GITRAMP_SLURM_QOS          --qos [none]
GITRAMP_SLURM_GPU_TYPE     the type in --gres=gpu:<type>:N (a100, ...) [any type]
GITRAMP_SLURM_SBATCH_ARGS  more sbatch options, shell-quoted
                           ("--constraint=docker --reservation=x") [none]
GITRAMP_SLURM_PYTHON       the Python with gitramp installed, as a compute node sees
                           it [this interpreter]
GITRAMP_SLURM_DOCKER_HOST  DOCKER_HOST for the job (a Docker engine's socket)
                           [the engine's default]
GITRAMP_SLURM_IMAGE        the scoring image on the compute nodes [the tag
                           `gitramp image tag` prints]
GITRAMP_SLURM_TIME_MARGIN  seconds added to limits.timeout for --time (container
                           start, reading back) [120]
GITRAMP_SLURM_MEM_OVERHEAD added to limits.memory for --mem: the job's own driver
                           process [512m]
GITRAMP_SLURM_REQUEUES     resubmissions after NODE_FAIL, PREEMPTED or BOOT_FAIL
                           before giving up [2]
GITRAMP_SLURM_POLL         seconds between two questions to slurmctld [2]
GITRAMP_SLURM_MAX_QUEUE    seconds a job may wait in the queue before the run is an
                           error [86400]

The compute nodes' container engine is the runner's GITRAMP_ENGINE and
GITRAMP_ENGINE_URL (scorer/backends/engine.py), which the job script sets in the job
(SlurmBackend(engine=..., engine_url=...) from Python).

The hidden data stays where the runner's `--data` option says: the scorer reads it
on the login node and writes each fold's inputs into the shared folder.
"""

from __future__ import annotations

import math
import os
import shlex
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

from scorer.errors import GitrampError
from scorer.task import Limits, parse_size

PREFIX = "GITRAMP_SLURM_"
MIB = 1024**2


def _default_shared() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "gitramp" / "slurm"


@dataclass(frozen=True)
class SlurmConfig:
    shared: Path = field(default_factory=_default_shared)
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gpu_type: str | None = None
    sbatch_args: tuple[str, ...] = ()
    python: str = sys.executable
    docker_host: str | None = None
    image: str | None = None
    time_margin: int = 120
    mem_overhead: str = "512m"
    requeues: int = 2
    poll: float = 2.0
    max_queue: float = 86400.0

    @classmethod
    def from_env(cls, environ=None, **overrides) -> SlurmConfig:
        """The configuration from GITRAMP_SLURM_* variables; keyword arguments win."""
        env = os.environ if environ is None else environ
        values: dict = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = _convert(f.name, raw)
            except ValueError:
                raise GitrampError(f"{PREFIX}{f.name.upper()}={raw!r} is not valid "
                                   f"({_EXPECT.get(f.name, 'a string')})") from None
        for name, value in overrides.items():  # checked as the variables are
            if value is None:
                continue
            try:
                values[name] = _convert(name, str(value)) if name in _EXPECT else value
            except ValueError:
                raise GitrampError(f"slurm setting {name} = {value!r} is not valid "
                                   f"({_EXPECT[name]})") from None
        if "shared" in values:
            values["shared"] = Path(values["shared"]).expanduser()
        if isinstance(values.get("sbatch_args"), str):
            values["sbatch_args"] = tuple(shlex.split(values["sbatch_args"]))
        return cls(**values)

    # ------------------------------------------------------------ limits to sbatch
    def time_limit(self, limits: Limits) -> str:
        """`--time` as minutes:seconds: the kit's timeout plus the margin."""
        total = int(limits.timeout) + int(self.time_margin)
        return f"{total // 60}:{total % 60:02d}"

    def memory_mb(self, limits: Limits) -> int:
        """`--mem` in megabytes: the container's limit plus the driver's own memory."""
        return math.ceil((_size(limits.memory) + _size(self.mem_overhead)) / MIB)

    def sbatch_options(self, limits: Limits) -> list[str]:
        options = [f"--time={self.time_limit(limits)}", f"--mem={self.memory_mb(limits)}M",
                   f"--cpus-per-task={max(1, math.ceil(limits.cpus))}", "--nodes=1",
                   "--ntasks=1"]
        if limits.gpus > 0:
            gres = f"gpu:{self.gpu_type}:{limits.gpus}" if self.gpu_type else f"gpu:{limits.gpus}"
            options.append(f"--gres={gres}")
        for name in ("partition", "account", "qos"):
            value = getattr(self, name)
            if value:
                options.append(f"--{name}={value}")
        return options + list(self.sbatch_args)


_EXPECT = {"time_margin": "a whole number of seconds", "requeues": "a whole number",
           "poll": "seconds", "max_queue": "seconds", "mem_overhead": "a size such as 512m"}


def _convert(name: str, raw: str):
    if name in ("time_margin", "requeues"):
        value = int(raw)
        if value < 0:
            raise ValueError(raw)
        return value
    if name in ("poll", "max_queue"):
        value = float(raw)
        if value <= 0:
            raise ValueError(raw)
        return value
    if name == "mem_overhead":
        _size(raw)
    return raw


def _size(value) -> int:
    size = parse_size(value)
    if size is None:
        raise ValueError(f"not a size: {value!r}")
    return size
