"""Moderation: an organizer annuls a record or bans a team, and says why.

Each act is one file of the public ledger, written in one commit whose author is the
organizer who acted and whose message gives the reason:

    leaderboard_data/<challenge>/_moderation/<when>-<kind>-<target>.yml
    {act: annul | ban, challenge, by, reason, at, team, name, records: [stem, ...]}

The record an act concerns is never rewritten: an annulled record stays in the ledger,
and every reader that ranks or blends leaves it out (`challenge.ranking.board` skips an
`challenge.ledger.Annulled` result, which `Ledger.records` and the site make of what
they read). A
banned team's submissions validated after the ban are rejected with its reason
(`ban_reasons`, a rule of `challenge.validate`), recorded like any other rejection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pygit2
from pygit2.enums import FileMode

from challenge import repo as gitrepo
from challenge.errors import GitrampError
from challenge.ledger import (
    ACT_TEXT_LIMIT,
    LEDGER_ROOT,
    MODERATION_DIR,
    Annulled,
    Ledger,
    LedgerError,
    dump_yaml,
    parse_record,
    path_segment,
    put_path,
    record_stem,
    yaml_files_at,
)
from challenge.ledger import annulled as ledger_annulled
from scorer.result import REJECTED, Result
from scorer.untrusted import clean_text

ANNUL = "annul"
BAN = "ban"
KINDS = (ANNUL, BAN)
REASON_LIMIT = ACT_TEXT_LIMIT


class ModerationError(GitrampError):
    pass


@dataclass(frozen=True)
class Act:
    """One act of moderation, as its file records it."""

    kind: str  # annul | ban
    challenge: str
    by: str
    reason: str
    at: str  # ISO time, UTC
    team: str | None = None
    name: str | None = None  # annul: the submission
    records: tuple[str, ...] = ()  # annul: the record stems annulled
    path: str = ""  # where it is kept (not written in the file)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"act": self.kind, "challenge": self.challenge, "by": self.by,
                             "reason": self.reason, "at": self.at}
        if self.team is not None:
            d["team"] = self.team
        if self.name is not None:
            d["name"] = self.name
        if self.records:
            d["records"] = list(self.records)
        return d

    @classmethod
    def from_dict(cls, d: Any, path: str) -> Act:
        if not isinstance(d, dict) or d.get("act") not in KINDS:
            raise LedgerError(f"{path}: not a moderation act (expected act: annul or ban)")
        records = d.get("records") or []
        if not isinstance(records, list):
            raise LedgerError(f"{path}: records must be a list of record stems")

        def text(key: str) -> str | None:
            v = d.get(key)
            return None if v is None else clean_text(str(v), REASON_LIMIT)

        return cls(d["act"], text("challenge") or "", text("by") or "unknown",
                   text("reason") or "", text("at") or "", text("team"), text("name"),
                   tuple(str(s) for s in records), path)

    def describe(self) -> str:
        """One line for people: what, by whom, when and why."""
        what = (f"annulled {self.name} ({len(self.records)} record(s))" if self.kind == ANNUL
                else f"banned team {self.team}")
        return f"{what} by {self.by} at {self.at}: {self.reason}"


def annulled(result: Result, act: Act) -> Annulled:
    """`result` marked as annulled by `act`."""
    return ledger_annulled(result, {**act.to_dict(), "path": act.path})


def is_annulled(result: Any) -> bool:
    return isinstance(result, Annulled)


@dataclass
class Moderation:
    """The acts of one challenge, looked up by record and by team."""

    acts: list[Act] = field(default_factory=list)

    def annulment(self, name: str, stem: str) -> Act | None:
        for a in self.acts:
            if a.kind == ANNUL and a.name == name and stem in a.records:
                return a
        return None

    def ban(self, team: str | None) -> Act | None:
        for a in self.acts:
            if a.kind == BAN and team is not None and a.team is not None and \
                    a.team.lower() == team.lower():
                return a
        return None

    def of_team(self, team: str | None) -> list[Act]:
        return [a for a in self.acts if team is not None and a.team == team]

    def of_submission(self, name: str) -> list[Act]:
        return [a for a in self.acts if a.kind == ANNUL and a.name == name]

    def mark(self, results: Iterable[Result]) -> list[Result]:
        """`results`, each annulled one as an `Annulled` result."""
        out = []
        for r in results:
            act = self.annulment(r.submission, record_stem(r.tree or "", r.scoring_hash or "")) \
                if r.status != REJECTED else None
            out.append(annulled(r, act) if act is not None and not is_annulled(r) else r)
        return out


def folder(challenge: str) -> str:
    return f"{LEDGER_ROOT}/{challenge}/{MODERATION_DIR}"


def read_at(repo: pygit2.Repository, tree: pygit2.Tree | None, challenge: str) -> Moderation:
    """The acts of `challenge` in a commit's tree, oldest first; a file that does not
    read as an act is left out (it can only annul or ban by reading)."""
    acts = []
    for path, raw in yaml_files_at(repo, tree, folder(challenge)):
        try:
            acts.append(Act.from_dict(raw, path))
        except LedgerError:
            continue
    acts.sort(key=lambda a: (a.at, a.path))
    return Moderation(acts)


def read(source: Any, challenge: str) -> Moderation:
    """The acts of `challenge` in a ledger (committed, or a folder of files)."""
    if isinstance(source, Ledger):
        head = source.head()
        return read_at(source.repo, head.tree if head else None, challenge)
    root = getattr(source, "root", None)
    acts = []
    if root is not None:
        d = root / folder(challenge)
        for f in sorted(d.glob("*.yml")) if d.is_dir() else ():
            try:
                acts.append(Act.from_dict(parse_record(f.read_bytes(), str(f)), str(f)))
            except (LedgerError, OSError):
                continue
    acts.sort(key=lambda a: (a.at, a.path))
    return Moderation(acts)


def ban_reasons(repo: pygit2.Repository, tree: pygit2.Tree | None, challenge: str,
                team: str | None) -> list[str]:
    """Why `team` may not submit to `challenge`: its ban's reason, or nothing."""
    act = read_at(repo, tree, challenge).ban(team)
    if act is None:
        return []
    return [f"team {act.team} is banned from this challenge by {act.by} ({act.at}): "
            f"{act.reason}"]


# ------------------------------------------------------------------------ acting
def _stamp(at: str) -> str:
    return re.sub(r"[^0-9TZ]", "", at)


def _write(ledger: Ledger, act: Act, signature: pygit2.Signature) -> str:
    path = f"{folder(act.challenge)}/{_stamp(act.at)}-{act.kind}-" \
           f"{path_segment(act.name or act.team or 'x')}.yml"
    data = dump_yaml(act.to_dict())
    target = act.name if act.kind == ANNUL else f"team {act.team}"
    message = (f"moderation: {act.kind} {act.challenge}/{target} by {act.by}\n\n"
               f"Reason: {act.reason}\n")

    def build(repo: pygit2.Repository, head: pygit2.Commit | None):
        tree = head.tree if head else None
        if tree is not None and gitrepo.blob_at(repo, tree, path) == data:
            return None
        return put_path(repo, tree, path, repo.create_blob(data), FileMode.BLOB), [], message

    # the organizer who acted is the commit's author and committer
    repo = ledger.repo
    for _ in range(50):
        ref = repo.references.get(ledger.branch)
        head = repo[ref.target].peel(pygit2.Commit) if ref is not None else None
        built = build(repo, head)
        if built is None:
            return path
        tree, _, msg = built
        commit = repo.create_commit(None, signature, signature, msg, tree,
                                    [head.id] if head else [])
        try:
            if ref is None:
                repo.references.create(ledger.branch, commit)
            else:
                ref.set_target(commit, msg.splitlines()[0])
            return path
        except (pygit2.GitError, pygit2.AlreadyExistsError, ValueError, OSError):
            continue
    raise LedgerError(f"{ledger.path}: could not record the moderation act; try again")


def _check_reason(reason: str) -> str:
    reason = clean_text(reason or "", REASON_LIMIT).strip()
    if not reason:
        raise ModerationError("say why (--reason): the reason is recorded with the act and "
                              "shown on the site")
    return reason


def annul(ledger: Ledger, challenge: str, target: str, *, by: str, reason: str,
          now: datetime) -> Act:
    """Annul the scored records of `target` in `challenge`: `<name>` (every version
    recorded) or `<name>@<tree prefix>` (one version). Writes the act; returns it."""
    from challenge.phases import iso

    reason = _check_reason(reason)
    name, _, version = target.partition("@")
    found = [r for r in ledger.records(challenge) if r.submission == name
             and r.status != REJECTED and (not version or (r.tree or "").startswith(version))]
    if not found:
        raise ModerationError(f"no record of {challenge}/{target} in the ledger")
    teams = sorted({r.team or "unknown" for r in found})
    act = Act(ANNUL, challenge, by, reason, iso(now), teams[0], name,
              tuple(sorted({record_stem(r.tree or "", r.scoring_hash or "") for r in found})))
    return replace(act, path=_write(ledger, act, _signature(by, now)))


def ban(ledger: Ledger, challenges: list[str], team: str, *, by: str, reason: str,
        now: datetime) -> list[Act]:
    """Ban `team` from each of `challenges`: its later submissions are rejected."""
    from challenge.phases import iso

    reason = _check_reason(reason)
    if not team.strip():
        raise ModerationError("name the team to ban")
    out = []
    for c in challenges:
        act = Act(BAN, c, by, reason, iso(now), team)
        out.append(replace(act, path=_write(ledger, act, _signature(by, now))))
    return out


def _signature(by: str, now: datetime) -> pygit2.Signature:
    name = clean_text(by, 100) or "organizer"
    email = re.sub(r"[^A-Za-z0-9_.-]", "", name) or "organizer"
    return pygit2.Signature(name, f"{email}@organizers.gitramp", int(now.timestamp()), 0)
