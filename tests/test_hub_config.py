"""The hub's gitramp.toml and a runner's .gitramp/runner.toml, as an organizer and a
runner meet them: the README's commands work as written once the files name what
they need, the command line and the environment win over the files, a mistaken key
is named, and scoring others' code says when it is unsandboxed or on public data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pygit2
import pytest

from challenge.errors import GitrampError
from challenge.hub import commit_files
from challenge.ledger import Ledger
from gitramp import config
from gitramp.main import main as cli
from scorer.backends.slurm_config import SlurmConfig
from tests.gitramp_hubs import CLOSED_NOW, KITS, OPEN_NOW, example, make_hub, submit


def _ns(**values) -> argparse.Namespace:
    base = dict(verb="scan", backend=None, data_dir=None, private_ledger=None, push=None,
                runner=None, workers=None, repo=None)
    return argparse.Namespace(**{**base, **values})


def _write(root: Path, hub: str = "", runner: str | None = None) -> None:
    (root / config.HUB_FILE).write_text(hub)
    if runner is not None:
        (root / ".gitramp").mkdir(exist_ok=True)
        (root / config.RUNNER_FILE).write_text(runner)


@pytest.fixture
def no_env(monkeypatch):
    for var in ("GITRAMP_BACKEND", "GITRAMP_DATA", "GITRAMP_PRIVATE_LEDGER", "GITRAMP_PUSH",
                "GITRAMP_RUNNER", "GITRAMP_WORKERS", config.RUNNER_VARIABLE):
        monkeypatch.delenv(var, raising=False)


def test_precedence_cli_then_env_then_runner_file_then_hub_file(tmp_path, no_env, capsys):
    _write(tmp_path, 'push = "origin"\nprivate_ledger = "/srv/private"\n',
           'backend = "docker"\nprivate_ledger = "/runner/private"\nworkers = 3\n'
           'data = "/srv/hidden/{challenge}"\n')
    args = _ns()
    config.apply(args, tmp_path, environ={})
    assert (args.backend, args.workers, args.data_dir, args.push) == (
        "docker", 3, "/srv/hidden/{challenge}", "origin")
    assert args.private_ledger == Path("/runner/private")  # runner file over the hub file
    assert config.describe_source(args, "push") == str(tmp_path / config.HUB_FILE)

    args = _ns(workers=1)
    config.apply(args, tmp_path, environ={"GITRAMP_BACKEND": "slurm", "GITRAMP_WORKERS": "5"})
    assert (args.backend, args.workers) == ("slurm", 1)  # env over files, CLI over env
    assert config.describe_source(args, "backend") == "$GITRAMP_BACKEND"
    assert config.describe_source(args, "workers") == "the command line"


def test_runner_file_named_by_the_environment_and_its_engine_settings(tmp_path, no_env):
    _write(tmp_path)
    elsewhere = tmp_path / "etc" / "runner.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text('backend = "docker"\nengine = "podman"\n'
                         '[slurm]\npartition = "gpu"\ntime_margin = 60\n')
    env = {config.RUNNER_VARIABLE: str(elsewhere), "GITRAMP_SLURM_PARTITION": "cpu"}
    args = _ns()
    read = config.apply(args, tmp_path, environ=env)
    assert args.backend == "docker"
    # handed to the backend as its options, never written into the environment
    assert read.backend_options("docker") == {"engine": "podman"}
    options = read.backend_options("slurm")
    assert options["engine"] == "podman" and options["time_margin"] == 60
    assert not any(k.startswith(("GITRAMP_ENGINE", "GITRAMP_SLURM_T")) for k in env)
    slurm = SlurmConfig.from_env(env, **{k: v for k, v in options.items()
                                         if k not in ("engine", "engine_url")})
    assert (slurm.partition, slurm.time_margin) == ("cpu", 60)  # the environment wins
    assert read.backend_options("docker", engine="docker") == {"engine": "docker"}
    assert read.backend_options("local") == {}
    with pytest.raises(GitrampError, match="names .*missing.toml, which is not a file"):
        config.load(tmp_path, {config.RUNNER_VARIABLE: str(tmp_path / "missing.toml")})


@pytest.mark.parametrize("hub, runner, message", [
    ('forge = "https://github.com/org/hub"\nprivat_ledger = "x"\n', None,
     r"gitramp.toml: top level: found 'privat_ledger'|key 'privat_ledger'.*expected one of "
     r"the keys data_hash, forge, private_ledger, push"),
    ('backend = "local"\n', None, r"gitramp.toml: key 'backend' belongs in runner.toml "
     r"\(the runner's file, never committed\)"),
    ('registration = "closed"\n', None, r"key 'registration' does not belong here; it is set "
     r"in each kit's teams.yml"),
    ("", 'backend = "sandbox"\n', r"runner.toml: key 'backend': found 'sandbox'; expected "
     r"one of local, docker"),
    ("", 'forge = "https://x"\n', r"runner.toml: key 'forge' belongs in gitramp.toml"),
    ("", "workers = 0\n", r"key 'workers': found 0; expected a positive integer"),
    ("forge = \n", None, r"gitramp.toml: not a valid TOML file"),
])
def test_a_mistaken_key_is_named_with_its_file(tmp_path, no_env, hub, runner, message):
    _write(tmp_path, hub, runner)
    with pytest.raises(GitrampError, match=message):
        config.load(tmp_path, {})


# ------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hubconfig")
    repo = make_hub(tmp)
    submit(repo, "alice", "rf", example("iris", "random_forest"))
    return tmp, repo


def test_scan_without_a_backend_is_refused_and_local_is_said(hub, no_env, capsys):
    tmp, _ = hub
    path = str(tmp / "hub")
    now = ["--now", CLOSED_NOW.isoformat()]
    assert cli(["scan", "--repo", path, "--quick", *now]) == 2
    err = capsys.readouterr().err
    assert "choose where submission code runs: --backend docker" in err
    assert "--backend local (no sandbox" in err and "runner.toml" in err

    # the organizer's files choose: local backend, private ledger, no hidden data
    commit_files(repo := pygit2.Repository(path), "refs/heads/main",
                 {config.HUB_FILE: f'private_ledger = "{tmp / "private"}"\n'.encode()},
                 message="The hub's configuration")
    repo.checkout_head(strategy=pygit2.enums.CheckoutStrategy.FORCE)
    (tmp / "hub" / ".gitramp").mkdir()
    (tmp / "hub" / config.RUNNER_FILE).write_text('backend = "local"\nrunner = "laptop"\n')
    assert cli(["scan", "--repo", path, "--quick", "--json", *now]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if line.startswith("note:")]
    assert notes[:2] == [
        f"note: backend local (from {tmp / 'hub' / config.RUNNER_FILE}): submission code "
        "runs unsandboxed on this machine, with your user's rights",
        "note: no hidden data (--data, or data in the runner file): scoring on each kit's "
        "public data"]
    assert "no --private-ledger given" not in captured.err
    (rf,) = Ledger(tmp / "hub").records("iris")
    assert (rf.runner, rf.backend, rf.status) == ("laptop", "local", "scored")
    assert Ledger(tmp / "private").records("iris")  # test scores kept where the hub says

    # as the README writes it: no --private-ledger
    assert cli(["reveal", "--repo", path, "--now", OPEN_NOW.isoformat(), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["challenge"] == "iris" and row["published"] == 1

    # a command-line option still wins over both files
    assert cli(["reveal", "--repo", path, "--private-ledger", str(tmp / "none")]) == 2
    assert f"{tmp / 'none'}: no private ledger here" in capsys.readouterr().err


def test_a_private_ledger_remote_named_once_serves_scan_and_reveal(tmp_path, no_env, capsys,
                                                                   monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the runner's copy
    repo = make_hub(tmp_path)
    submit(repo, "alice", "rf", example("iris", "random_forest"))
    remote = tmp_path / "private.git"
    pygit2.init_repository(str(remote), bare=True, initial_head="main")
    commit_files(repo, "refs/heads/main",
                 {config.HUB_FILE: f'private_ledger = "{remote.as_uri()}"\n'.encode()},
                 message="The hub's configuration")
    repo.checkout_head(strategy=pygit2.enums.CheckoutStrategy.FORCE)
    hub = str(tmp_path / "hub")
    assert cli(["scan", "--repo", hub, "--backend", "local", "--quick", "--json",
                "--now", CLOSED_NOW.isoformat()]) == 0
    assert pygit2.Repository(str(remote)).references.get("refs/heads/main") is not None
    capsys.readouterr()
    assert cli(["reveal", "--repo", hub, "--now", OPEN_NOW.isoformat(), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["published"] == 1


def test_reveal_without_any_private_ledger_says_where_to_name_it(tmp_path, no_env, capsys):
    make_hub(tmp_path)
    assert cli(["reveal", "--repo", str(tmp_path / "hub")]) == 2
    assert "pass --private-ledger, or name it in the hub's gitramp.toml" in \
        capsys.readouterr().err


def test_gitramp_test_takes_its_backend_from_the_runner_file(tmp_path, no_env, capsys,
                                                              monkeypatch):
    runner = tmp_path / "runner.toml"
    runner.write_text('backend = "slurm"\n')
    monkeypatch.setenv(config.RUNNER_VARIABLE, str(runner))
    args = argparse.Namespace(verb="test", backend=None, kit=KITS / "iris")
    config.apply(args)
    assert args.backend == "slurm"
    monkeypatch.delenv(config.RUNNER_VARIABLE)
    args = argparse.Namespace(verb="test", backend=None, kit=KITS / "iris")
    config.apply(args, tmp_path)
    assert args.backend == "local"  # a participant's own code, on their machine
    assert "unsandboxed" not in capsys.readouterr().err


def test_init_ignores_the_runner_file(tmp_path):
    assert cli(["init", "iris", str(tmp_path / "iris")]) == 0
    ignored = (tmp_path / "iris" / ".gitignore").read_text().splitlines()
    assert ".gitramp/" in ignored
