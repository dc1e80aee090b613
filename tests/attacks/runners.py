"""A hub as runners see it: a bare remote (the forge's repository, pull request heads
under refs/pull/<n>/head) and clones of it, each a runner that scores with the real
command line and pushes its ledger back (not a test module)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pygit2

from challenge.hub import commit_files
from challenge.ledger import Ledger
from challenge.phases import iso
from gitramp.main import main as cli
from tests.gitramp_hubs import CLOSED_NOW, KITS, make_hub


class Forge:
    """The bare repository runners clone and push to, with pull request heads."""

    def __init__(self, tmp: Path, **phase_options):
        make_hub(tmp, **phase_options)
        self.tmp = tmp
        self.path = tmp / "origin.git"
        self.repo = pygit2.clone_repository(str(tmp / "hub"), str(self.path), bare=True)
        self.runners = 0

    def main(self) -> pygit2.Oid:
        return self.repo.references["refs/heads/main"].target

    def commit_main(self, files: dict[str, bytes], message: str) -> None:
        commit_files(self.repo, "refs/heads/main", files, message=message)

    def open_pr(self, number: int, author: str, name: str, files: dict[str, bytes]) -> str:
        """A pull request adding kits/iris/submissions/<name>/ (its head on the forge)."""
        return str(commit_files(
            self.repo, f"refs/pull/{number}/head",
            {f"kits/iris/submissions/{name}/{f}": d for f, d in files.items()},
            parent=self.main(), message=f"{name}", author=author))

    def runner(self) -> Path:
        """A fresh clone with every pull request head fetched, as a scoring job has."""
        self.runners += 1
        path = self.tmp / f"runner{self.runners}"
        repo = pygit2.clone_repository(str(self.path), str(path))
        repo.remotes["origin"].fetch(["+refs/pull/*/head:refs/pull/*/head"])
        return path

    def ledger(self) -> Ledger:
        return Ledger(self.path, branch="refs/heads/main")


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli([*argv])
    return code, out.getvalue() + err.getvalue()


def score_args(runner: Path, pr: int, author: str, now=CLOSED_NOW) -> list[str]:
    return ["score", "--repo", str(runner), "--pr", str(pr), "--author", author,
            "--push", "origin", "--quick", "--now", iso(now), "--runner", runner.name,
            "--data-dir", str(KITS / "{challenge}" / "hidden"), "--json"]


def outcome(code: int, out: str) -> dict:
    assert code in (0, 1), out
    return json.loads(out[out.index("{"):out.rindex("}") + 1])


def score(runner: Path, pr: int, author: str, now=CLOSED_NOW) -> dict:
    """`gitramp score --pr N --author LOGIN --push origin` on a runner, as the scoring
    workflow runs it (local backend, quick): the outcome it prints."""
    return outcome(*run(*score_args(runner, pr, author, now)))


def score_at_once(jobs: list[tuple[Path, int, str]], now=CLOSED_NOW) -> list[dict]:
    """Several runners' `gitramp score`, each its own process, started together."""
    procs = [subprocess.Popen([sys.executable, "-c", CLI, *score_args(*job, now)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for job in jobs]
    outs = [p.communicate(timeout=900)[0] for p in procs]
    return [outcome(p.returncode, out) for p, out in zip(procs, outs, strict=True)]


CLI = "import sys; from gitramp.main import main; sys.exit(main())"

# One scorer process: score each job in turn, print every outcome as one JSON list.
SCORER = """
import contextlib, io, json, sys
from gitramp.main import main
outs = []
for argv in json.loads(sys.argv[1]):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(argv)
    outs.append([code, buf.getvalue()])
print(json.dumps(outs))
"""


def scorers_at_once(groups: list[list[tuple[Path, int, str]]], now=CLOSED_NOW) -> list[dict]:
    """One process per group, started together, each scoring its jobs one after the
    other on its own clone: every outcome."""
    procs = [subprocess.Popen(
        [sys.executable, "-c", SCORER, json.dumps([score_args(*job, now) for job in jobs])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for jobs in groups]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=1200)
        assert p.returncode == 0, err
        results += [outcome(code, text) for code, text in json.loads(out)]
    return results


def validate(runner: Path, pr: int, author: str, now=CLOSED_NOW) -> tuple[int, str]:
    """`gitramp validate` as the workflow's plan job runs it."""
    return run("validate", "--repo", str(runner), "--head", f"refs/pull/{pr}/head",
               "--author", author, "--pr", str(pr), "--now", iso(now))
