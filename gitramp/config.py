"""The hub's configuration and this runner's, read by one loader for every verb.

    gitramp.toml           at the hub's root, committed: the hub's policy, the same for
                           every organizer and runner (the forge, the private ledger's
                           remote, where the ledger is pushed, the hidden data's hashes)
    .gitramp/runner.toml   beside it, never committed (the .gitignore `gitramp init`
                           writes lists .gitramp/), or the file $GITRAMP_RUNNER_CONFIG
                           names: what belongs to one runner (its hidden data, backend,
                           container engine, scheduler settings, name, workers)

Each setting is taken from the first of: the command line, the environment
(GITRAMP_<SETTING>, e.g. GITRAMP_BACKEND), the runner file, the hub file, the
default. A key either file does not know is an error naming the file, the key and
the keys it takes (or the file it belongs in). Example files are in README.md.

The container engine and the Slurm settings of a runner file are handed to the
backend as its options (`Config.backend_options`), unless the environment sets them
(GITRAMP_ENGINE, GITRAMP_ENGINE_URL, GITRAMP_SLURM_*), which the backends read.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import Field, ValidationError

from challenge.errors import GitrampError
from scorer.backends import NAMES as BACKENDS
from scorer.backends.engine import ENGINE_VARIABLE, URL_VARIABLE
from scorer.spec import Expect, SpecModel, kit_error
from scorer.task import PositiveInt

HUB_FILE = "gitramp.toml"
RUNNER_FILE = Path(".gitramp") / "runner.toml"
RUNNER_VARIABLE = "GITRAMP_RUNNER_CONFIG"

Text = Annotated[str, Field(min_length=1), Expect("a non-empty string")]
Texts = Annotated[tuple[Text, ...], Expect("a list of strings")]


# In the models below, None is an absent key (pydantic leaves defaults unchecked), so
# a key's type names only what it may hold, and an error says that.
class HubConfig(SpecModel):
    """gitramp.toml: the hub's policy."""

    expect: ClassVar[str] = "a table"
    forge: Text = Field(None, description="the hub's address on its forge "
                        "(https://github.com/<org>/<hub>)")
    private_ledger: Text = Field(None, description="the private ledger's remote (a URL "
                                 "every runner pushes to) or path")
    push: Text = Field(None, description="the remote the default branch (the public ledger) "
                       "is pushed to after a scan, a phase change or a reveal")
    data_hash: Texts = Field((), description="the hidden data's expected hashes, "
                             "[CHALLENGE=]sha256:...")


class SlurmConfig(SpecModel):
    """[slurm] of a runner file: GITRAMP_SLURM_<KEY> (scorer/backends/slurm_config.py)."""

    expect: ClassVar[str] = "a table"
    shared: Text = None
    partition: Text = None
    account: Text = None
    qos: Text = None
    gpu_type: Text = None
    sbatch_args: Text = None
    python: Text = None
    docker_host: Text = None
    image: Text = None
    time_margin: Annotated[int, Expect("seconds")] = None
    mem_overhead: Text = None
    requeues: Annotated[int, Expect("a count")] = None
    poll: Annotated[float, Expect("seconds")] = None
    max_queue: Annotated[int, Expect("seconds")] = None


class RunnerConfig(SpecModel):
    """.gitramp/runner.toml: what belongs to this runner."""

    expect: ClassVar[str] = "a table"
    backend: Annotated[Literal[BACKENDS], Expect("one of " + ", ".join(BACKENDS))] = Field(
        None, description="where submission code runs; local means unsandboxed")
    data: Text = Field(None, description="the hidden data folder ({challenge}: the kit)")
    data_hash: Texts = ()
    private_ledger: Text = Field(None, description="this runner's private ledger, if not "
                                 "the hub's")
    private_ledger_copy: Text = None
    runner: Text = Field(None, description="this runner's name")
    workers: PositiveInt = None
    push: Text = None
    engine: Annotated[Literal["docker", "podman"], Expect("docker or podman")] = None
    engine_url: Text = None
    slurm: SlurmConfig | None = None


# Settings a command line may carry, and where each may come from besides it.
SETTINGS = {
    "backend": ("runner",), "data_dir": ("runner",), "runner": ("runner",),
    "workers": ("runner",), "private_ledger_copy": ("runner",),
    "private_ledger": ("runner", "hub"), "push": ("runner", "hub"),
    "data_hash": ("runner", "hub"), "forge": ("hub",),
}
FILE_KEY = {"data_dir": "data"}  # the files' name of a setting, where it differs
ENV_TYPES = {"workers": int}
ELSEWHERE = {"registration": "each kit's teams.yml (registration: open or closed)"}
PATHS = ("private_ledger", "private_ledger_copy")  # a Path, unless a remote's URL
URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[^/\s]+@[^/\s]+:")
# Verbs that score other people's code: the local backend must be chosen, and said.
RUNNER_VERBS = ("score", "scan")


class Config:
    """Both files of one hub, read; `value(name)` follows the precedence (bar the
    command line, which `apply` puts first)."""

    def __init__(self, hub: HubConfig, runner: RunnerConfig, hub_file: Path | None,
                 runner_file: Path | None, environ: dict[str, str] | None = None):
        self.hub, self.runner = hub, runner
        self.hub_file, self.runner_file = hub_file, runner_file
        self.environ = os.environ if environ is None else environ

    def source(self, name: str) -> tuple[object, str] | None:
        """(value, where it came from) of a setting, or None when nothing sets it."""
        key = FILE_KEY.get(name, name)
        env = f"GITRAMP_{key.upper()}"
        if self.environ.get(env):
            raw = self.environ[env]
            value = [v for v in raw.split(",") if v] if name == "data_hash" else raw
            try:
                return ENV_TYPES.get(name, lambda v: v)(value), f"${env}"
            except ValueError:
                raise GitrampError(f"${env}: found {raw!r}; expected a number") from None
        for where in SETTINGS.get(name, ()):
            model, file = ((self.runner, self.runner_file) if where == "runner"
                           else (self.hub, self.hub_file))
            value = getattr(model, key, None)
            if value not in (None, ()):
                return (list(value) if isinstance(value, tuple) else value), str(file)
        return None

    def value(self, name: str, default=None):
        found = self.source(name)
        return default if found is None else found[0]

    def backend_options(self, backend: str | None, engine: str | None = None) -> dict:
        """The keyword arguments of `get_backend(backend, ...)` that the runner file
        gives: its engine and engine_url (docker, slurm) and its [slurm] table (slurm).
        The precedence holds: `engine` (the command line's) first, then the
        GITRAMP_ENGINE, GITRAMP_ENGINE_URL and GITRAMP_SLURM_* variables (a setting
        they hold is left out here, and the backend reads it), then the runner file."""
        if backend not in ("docker", "slurm"):
            return {}
        env = self.environ
        options = {"engine": engine or (None if env.get(ENGINE_VARIABLE)
                                        else self.runner.engine),
                   "engine_url": None if env.get(URL_VARIABLE) else self.runner.engine_url}
        if backend == "slurm" and self.runner.slurm is not None:
            for key, value in self.runner.slurm.model_dump().items():
                if not env.get(f"GITRAMP_SLURM_{key.upper()}"):
                    options[key] = value
        return {k: v for k, v in options.items() if v is not None}


def hub_root(start: Path) -> Path:
    """The hub's root for a path inside it: the nearest folder upwards holding
    gitramp.toml or .git (the path itself when neither is found)."""
    start = Path(start).resolve()
    for folder in (start, *start.parents):
        if (folder / HUB_FILE).is_file() or (folder / ".git").exists():
            return folder
    return start


def load(root: Path, environ: dict[str, str] | None = None) -> Config:
    """Read gitramp.toml at `root` and the runner file ($GITRAMP_RUNNER_CONFIG, else
    .gitramp/runner.toml at `root`); a missing file is an empty one, but a runner file
    named by the variable must exist."""
    env = os.environ if environ is None else environ
    root = Path(root)
    hub_file = root / HUB_FILE
    named = env.get(RUNNER_VARIABLE)
    runner_file = Path(named).expanduser() if named else root / RUNNER_FILE
    if named and not runner_file.is_file():
        raise GitrampError(f"${RUNNER_VARIABLE} names {runner_file}, which is not a file")
    hub = _read(HubConfig, hub_file, RunnerConfig, runner_file)
    runner = _read(RunnerConfig, runner_file, HubConfig, hub_file)
    return Config(hub, runner, hub_file if hub_file.is_file() else None,
                  runner_file if runner_file.is_file() else None, env)


def _read(model: type[SpecModel], file: Path, other: type[SpecModel], other_file: Path):
    if not file.is_file():
        return model()
    try:
        data = tomllib.loads(file.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise GitrampError(f"{file}: not a valid TOML file: {e}") from None
    for key in data:
        if key in model.model_fields:
            continue
        if key in ELSEWHERE:
            raise GitrampError(f"{file}: key '{key}' does not belong here; it is set in "
                               f"{ELSEWHERE[key]}")
        if key in other.model_fields:
            raise GitrampError(f"{file}: key '{key}' belongs in {other_file.name} ("
                               + ("the runner's file, never committed" if other is RunnerConfig
                                  else "the hub's file, committed at its root")
                               + f"); keys here: {', '.join(model.model_fields)}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise kit_error(model, e, file) from None


def apply(args: argparse.Namespace, root: Path | None = None,
          environ: dict[str, str] | None = None) -> Config | None:
    """Fill the settings the command line left unset (None, or an empty list) from the
    environment and the two files of the hub at `root` (default: the hub holding
    args.repo, or args.kit). Returns the configuration read, None for a verb without
    such settings."""
    names = [n for n in SETTINGS if hasattr(args, n)]
    if not names:
        return None
    if root is None:
        start = getattr(args, "repo", None) or getattr(args, "kit", None) or Path(".")
        root = hub_root(Path(start))
    config = load(root, environ)
    args._config_sources = {}
    for name in names:
        if getattr(args, name) not in (None, []):
            args._config_sources[name] = "the command line"
            continue
        found = config.source(name)
        if found is not None:
            value, where = found
            if name in PATHS and not URL.match(str(value)):
                value = Path(value).expanduser()
            setattr(args, name, value)
            args._config_sources[name] = where
    args._config = config  # gitramp.options reads the backend's options from it
    _check_scoring(args)
    return config


def _check_scoring(args: argparse.Namespace) -> None:
    """On the verbs that score others' code: the backend is an explicit choice, and a
    local backend or the public data is said in one line each (stderr)."""
    verb = getattr(args, "verb", None)
    if not hasattr(args, "backend") or verb not in RUNNER_VERBS:
        if hasattr(args, "backend") and args.backend is None:
            args.backend = "local"  # gitramp test: the participant's own code
        return
    if args.backend is None:
        raise GitrampError(
            "choose where submission code runs: --backend docker (the sandbox every runner "
            "should use) or --backend local (no sandbox: for code you trust), or set "
            f"backend in the runner file ({RUNNER_FILE} or ${RUNNER_VARIABLE})")
    if args.backend == "local":
        print(f"note: backend local (from {describe_source(args, 'backend')}): submission "
              "code runs unsandboxed on this machine, with your user's rights",
              file=sys.stderr)
    if getattr(args, "data_dir", "") is None:
        print("note: no hidden data (--data, or data in the runner file): scoring on each "
              "kit's public data", file=sys.stderr)


def describe_source(args: argparse.Namespace, name: str) -> str:
    """Where a setting of `args` came from, for a message: 'the command line', a file."""
    return getattr(args, "_config_sources", {}).get(name, "the default")
