"""Claims on the ledger: who owns a submission name, and which attempts a team has in
flight. Both are taken before any scoring starts, in one compare-and-swap commit on the
shared ledger (`Ledger.update_remote`, or `Ledger.update` without a remote), checked
against the head that commit is built on: a racing runner rebuilds and checks again.

- `leaderboard_data/<challenge>/<name>/claim.yml`: the team whose version of the name
  first passed validation. Written once; only an expired claim (no record of its team
  under the name by `expires_at`: its runner died) is ever replaced, by another team.
- `leaderboard_data/<challenge>/_claims/<team>.yml`: the team's attempts that a runner
  has started and not yet recorded. Each counts against the quota as an attempt until
  its record lands (then the record counts) or it expires; a runner that fails removes
  its attempt, so a failure on the runner's side never costs the team a submission.
  Every claim rewrites this file, so two claims of one team taken on two copies of the
  ledger can never be merged silently (`challenge.ledger._check_claims`).

This module reads and writes those files as plain data; the rules that decide a claim
are validation's (`challenge.validate.check_claim`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import pygit2

from challenge import repo as gitrepo
from challenge.ledger import (
    ATTEMPTS_DIR,
    CLAIM_FILE,
    LEDGER_ROOT,
    PRIVATE_DIR,
    REJECTED_DIR,
    LedgerError,
    attempts_path,
    claim_path,
    dump_yaml,
    parse_record,
)
from challenge.phases import parse_time
from scorer.result import REJECTED, SCORED, Result

SCHEMA = 1
# How long a claim holds without a record: longer than any scoring job may run (the
# scoring workflow's job stops after 180 minutes), short enough that a dead runner
# does not hold a name or a quota for long.
CLAIM_TTL = timedelta(hours=4)


@dataclass(frozen=True)
class NameClaim:
    """`<challenge>/<name>/claim.yml`."""

    team: str
    claimed_at: str
    expires_at: str  # when an owner with no record under the name stops holding it
    tree: str = ""  # the version that took the name

    def expired(self, now: datetime) -> bool:
        return parse_time(self.expires_at) <= now


@dataclass(frozen=True)
class Attempt:
    """One entry of `<challenge>/_claims/<team>.yml`: a version a runner is scoring."""

    id: str
    name: str
    tree: str
    scoring_hash: str
    submitted_at: str
    expires_at: str
    runner: str = ""
    process: str = ""  # <host>:<pid>:<start>, the scorer process that took it

    def expired(self, now: datetime) -> bool:
        return parse_time(self.expires_at) <= now

    def abandoned(self) -> bool:
        """Whether the process that took this attempt is known to have ended (it ran on
        this host, and no process of its id and start time runs here now): its runner
        was killed, and the version may be taken over at once rather than at expiry."""
        host, _, rest = self.process.partition(":")
        pid, _, start = rest.partition(":")
        return bool(start) and host == socket.gethostname() and pid.isdigit() and \
            _started(int(pid)) != start


def _started(pid: int) -> str:
    """When process `pid` started, as the kernel counts it ("" when none runs): with the
    id, it names one process even after its id is reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[19].decode()
    except (OSError, IndexError):
        pass
    if os.path.isdir("/proc/self"):
        return ""
    try:  # no /proc: the id alone
        os.kill(pid, 0)
    except ProcessLookupError:
        return ""
    except OSError:
        pass
    return "?"


def this_process() -> str:
    """This scorer process, as an attempt records it."""
    return f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid())}"


@dataclass
class Claims:
    """The claims of a ledger at one commit: {(challenge, name): NameClaim} and
    {(challenge, team): [Attempt]}."""

    names: dict[tuple[str, str], NameClaim]
    attempts: dict[tuple[str, str], list[Attempt]]

    def name(self, challenge: str, name: str) -> NameClaim | None:
        return self.names.get((challenge, name))

    def of_team(self, challenge: str, team: str) -> list[Attempt]:
        return self.attempts.get((challenge, team), [])


# ------------------------------------------------------------------------ reading
def _load(data: bytes, where: str) -> dict:
    raw = parse_record(data, where)
    if not isinstance(raw, dict) or raw.get("schema", SCHEMA) != SCHEMA:
        raise LedgerError(f"{where}: not a claim file of schema {SCHEMA}; the ledger is "
                          "written by runners only, restore this file from git history")
    return raw


def _name_claim(raw: dict, where: str) -> NameClaim:
    try:
        return NameClaim(str(raw["team"]), str(raw["claimed_at"]), str(raw["expires_at"]),
                         str(raw.get("tree") or ""))
    except KeyError as e:
        raise LedgerError(f"{where}: a claim lacks {e}") from None


def _attempts(raw: dict, where: str) -> tuple[str, list[Attempt]]:
    try:
        return str(raw["team"]), [
            Attempt(str(a["id"]), str(a["name"]), str(a["tree"]), str(a["scoring_hash"]),
                    str(a["submitted_at"]), str(a["expires_at"]), str(a.get("runner") or ""),
                    str(a.get("process") or ""))
            for a in raw.get("attempts") or []]
    except (KeyError, TypeError) as e:
        raise LedgerError(f"{where}: an attempt lacks {e}") from None


def read_name_claim(repo: pygit2.Repository, tree: pygit2.Tree | None, challenge: str,
                    name: str) -> NameClaim | None:
    path = claim_path(challenge, name)
    data = gitrepo.blob_at(repo, tree, path) if tree is not None else None
    return _name_claim(_load(data, path), path) if data is not None else None


def read_attempts(repo: pygit2.Repository, tree: pygit2.Tree | None, challenge: str,
                  team: str) -> list[Attempt]:
    path = attempts_path(challenge, team)
    data = gitrepo.blob_at(repo, tree, path) if tree is not None else None
    return _attempts(_load(data, path), path)[1] if data is not None else []


def read_all(repo: pygit2.Repository, tree: pygit2.Tree | None) -> Claims:
    """Every claim of every challenge in a commit's tree."""
    out = Claims({}, {})
    root = gitrepo.subtree(repo, tree, LEDGER_ROOT) if tree is not None else None
    for c in root if root is not None else ():
        if c.filemode != pygit2.enums.FileMode.TREE:
            continue
        for n in repo[c.id]:
            if n.filemode != pygit2.enums.FileMode.TREE or n.name in (PRIVATE_DIR,
                                                                       REJECTED_DIR):
                continue
            where = f"{LEDGER_ROOT}/{c.name}/{n.name}"
            if n.name == ATTEMPTS_DIR:
                for f in repo[n.id]:
                    team, attempts = _attempts(_load(repo[f.id].data, f"{where}/{f.name}"),
                                               f"{where}/{f.name}")
                    out.attempts[(c.name, team)] = attempts
            elif CLAIM_FILE in repo[n.id]:
                path = f"{where}/{CLAIM_FILE}"
                out.names[(c.name, n.name)] = _name_claim(
                    _load(repo[repo[n.id][CLAIM_FILE].id].data, path), path)
    return out


# ------------------------------------------------------------------------ deciding
def live(attempts: Iterable[Attempt], records: Iterable[Result], challenge: str, team: str,
         now: datetime) -> list[Attempt]:
    """The attempts still in flight at `now`: not expired, and not yet recorded (once
    its record is in the ledger, the record counts instead)."""
    done = {(r.submission, r.tree) for r in records
            if r.challenge == challenge and r.team == team and r.status != REJECTED}
    return [a for a in attempts if not a.expired(now) and (a.name, a.tree) not in done]


def as_results(attempts: Iterable[Attempt], challenge: str, team: str) -> list[Result]:
    """Attempts in flight as the quota counts them: like records submitted then."""
    return [Result(challenge=challenge, submission=a.name, status=SCORED, team=team,
                   tree=a.tree, submitted_at=a.submitted_at) for a in attempts]


# ------------------------------------------------------------------------ writing
def name_claim_file(claim: NameClaim) -> bytes:
    return dump_yaml({"schema": SCHEMA, **asdict(claim)})


def attempts_file(team: str, attempts: list[Attempt]) -> bytes:
    return dump_yaml({"schema": SCHEMA, "team": team,
                      "attempts": [asdict(a) for a in attempts]})
