"""Arguments shared by the verbs that read or write the ledger."""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import os
import sys
from pathlib import Path

import pygit2

from challenge import repo as gitrepo
from challenge.errors import GitrampError
from challenge.ledger import Ledger
from challenge.phases import parse_time
from challenge.pipeline import Options, is_url, open_private
from scorer.backends import NAMES as BACKENDS
from scorer.backends.engine import ENGINES


def add_repo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", default=".", type=Path,
                   help="the challenge repository (a hub or a kit repository); default: .")


def add_now(p: argparse.ArgumentParser) -> None:
    p.add_argument("--now", type=parse_time, default=None,
                   help="validate as if it were this UTC time (ISO 8601); default: the clock")


def add_challenges(p: argparse.ArgumentParser) -> None:
    p.add_argument("--challenge", action="append", default=None,
                   help="only this challenge (repeatable; default: every kit)")


def add_push(p: argparse.ArgumentParser) -> None:
    p.add_argument("--push", metavar="REMOTE", default=None,
                   help="push the default branch (the ledger) to this remote afterwards, "
                        "retrying on top if it moved")


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_scoring(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default=None, choices=BACKENDS,
                   help="where submission code runs: docker (the sandbox), slurm, or local "
                        "(unsandboxed; must be chosen); default: the runner file's")
    p.add_argument("--engine", default=None, choices=ENGINES,
                   help="the docker backend's container engine: docker, or podman through "
                        "its Docker-compatible service (runners/ENGINES.md); default: "
                        "$GITRAMP_ENGINE, the runner file's, else docker")
    p.add_argument("--data", "--data-dir", dest="data_dir", default=None,
                   help="the hidden data folder given to this runner; {challenge} is replaced "
                        "by the kit's name (default: the kit's public data)")
    p.add_argument("--private-ledger", default=None, metavar="PATH_OR_URL",
                   help="the private ledger that keeps test scores: a repository path "
                        "(created if absent), or the URL of a remote every runner pushes "
                        "to (https with the token in $GITRAMP_PRIVATE_TOKEN, file://, "
                        "ssh); without it test scores are not kept")
    p.add_argument("--private-ledger-copy", type=Path, default=None, metavar="DIR",
                   help="where this runner keeps its copy of a private ledger remote "
                        "(default: under ~/.cache/gitramp/private-ledger/)")
    p.add_argument("--data-hash", action="append", default=[], metavar="[CHALLENGE=]HASH",
                   help="the hidden data's expected hash (sha256:..., from gitramp data "
                        "hash DIR) or manifest file; scoring is refused when the data "
                        "folder differs (repeatable, one per challenge)")
    p.add_argument("--runner", default=None, help="this runner's name (default: host name)")
    p.add_argument("--rescore", action="store_true",
                   help="score again even if the ledger holds this version already")
    p.add_argument("--quick", "--quick-test", dest="quick", action="store_true",
                   help="quick test: a subsample, 2 folds")
    add_push(p)
    add_now(p)
    add_json(p)


def options(args: argparse.Namespace) -> Options:
    private = args.private_ledger
    o = Options(backend=args.backend, data_dir=args.data_dir,
                private_ledger=private if private is None or is_url(private) else Path(private),
                private_copy=args.private_ledger_copy, data_hash=list(args.data_hash),
                rescore=args.rescore, now=args.now, quick=args.quick,
                backend_options=backend_options(args))
    if args.runner:
        o.runner = args.runner
    if args.private_ledger is None:
        print("warning: no --private-ledger given: test scores will not be kept anywhere "
              "(the public ledger never holds them)", file=sys.stderr)
    return o


def backend_options(args: argparse.Namespace) -> dict:
    """What the backend is built with beyond its name: the engine (--engine first) and,
    from the runner file, its socket and Slurm settings (gitramp/config.py)."""
    engine = getattr(args, "engine", None)
    config = getattr(args, "_config", None)
    if config is not None:
        return config.backend_options(args.backend, engine)
    return {"engine": engine} if engine and args.backend in ("docker", "slurm") else {}


def read_private_ledger(spec: str | Path) -> Ledger:
    """The private ledger an organizer's verb reads: a remote's URL is fetched into this
    runner's copy of it; a path must hold the repository already (a typo creates none)."""
    if is_url(spec):
        private, _ = open_private(Options(private_ledger=str(spec)))
        return private
    path = Path(spec)
    if not (path / ".git").exists() and not (path / "HEAD").exists():
        raise GitrampError(f"{spec}: no private ledger here; pass the folder the runners "
                           "were given with --private-ledger")
    return Ledger(path)


def git_user(repo: pygit2.Repository) -> str:
    """git's user.name, else the login."""
    try:
        return repo.config["user.name"]
    except KeyError:
        return getpass.getuser()


def actor(repo: pygit2.Repository) -> str:
    """Who is acting: the forge's actor in a workflow, else git's user.name."""
    return os.environ.get("GITHUB_ACTOR") or git_user(repo)


def kits_of(ledger: Ledger, names: list[str] | None):
    """The default branch's head commit and its kits, only those of `names` (from
    --challenge) when given; an unknown name is an error listing the kits there."""
    head = ledger.head()
    if head is None:
        raise GitrampError(f"{ledger.path}: the default branch has no commit")
    kits = gitrepo.find_kits(ledger.repo, head.tree)
    if names:
        unknown = set(names) - {k.name for k in kits}
        if unknown:
            raise GitrampError(f"no kit named {', '.join(sorted(unknown))}; kits here: "
                               + ", ".join(k.name for k in kits))
        kits = [k for k in kits if k.name in names]
    return head, kits


def print_json(data) -> None:
    print(json.dumps(data, indent=2, default=str))


def following_work_tree(run):
    """A verb's `run` that commits to the checked-out default branch without touching
    files, wrapped so that afterwards the work tree follows the branch (files changed
    locally are left alone, and named)."""
    @functools.wraps(run)
    def wrapped(args: argparse.Namespace) -> int:
        repo = gitrepo.open_repo(args.repo)
        before = None if repo.is_bare or repo.head_is_unborn else repo.head.target
        code = run(args)
        if before is not None:
            repo = gitrepo.open_repo(args.repo)
            kept = gitrepo.sync_work_tree(repo, repo[before], repo.head.peel(pygit2.Commit))
            if kept:
                print(f"note: {len(kept)} locally changed file(s) were left as they are, so "
                      "the work tree differs from the branch there: " + ", ".join(kept[:5]),
                      file=sys.stderr)
        return code
    return wrapped
