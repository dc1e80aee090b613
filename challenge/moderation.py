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
from dataclasses import replace
from datetime import datetime
from typing import Any

import pygit2
from pygit2.enums import FileMode

from challenge import repo as gitrepo
from challenge.acts import (  # re-exported: the acts are this module's subject
    ACT_TEXT_LIMIT,
    ANNUL,
    BAN,
    KINDS,
    REASON_LIMIT,
    Act,
    InvalidAct,
    Moderation,
    read_acts,
)
from challenge.errors import GitrampError
from challenge.ledger import (
    LEDGER_ROOT,
    MODERATION_DIR,
    Annulled,
    Ledger,
    LedgerError,
    annulled,
    dump_yaml,
    parse_record,
    path_segment,
    put_path,
    record_stem,
    yaml_files_at,
)
from scorer.result import REJECTED
from scorer.untrusted import clean_text

__all__ = ["ACT_TEXT_LIMIT", "ANNUL", "BAN", "KINDS", "REASON_LIMIT", "Act", "InvalidAct",
           "Moderation", "ModerationError", "annul", "annulled", "ban", "ban_reasons",
           "folder", "is_annulled", "read", "read_acts", "read_at"]


class ModerationError(GitrampError):
    pass


def is_annulled(result: Any) -> bool:
    return isinstance(result, Annulled)


def folder(challenge: str) -> str:
    return f"{LEDGER_ROOT}/{challenge}/{MODERATION_DIR}"


def read_at(repo: pygit2.Repository, tree: pygit2.Tree | None, challenge: str) -> Moderation:
    """The acts of `challenge` in a commit's tree, oldest first (`acts.read_acts`)."""
    return read_acts(yaml_files_at(repo, tree, folder(challenge)))


def read(source: Any, challenge: str) -> Moderation:
    """The acts of `challenge` in a ledger (committed, or a folder of files)."""
    if isinstance(source, Ledger):
        head = source.head()
        return read_at(source.repo, head.tree if head else None, challenge)
    root = getattr(source, "root", None)
    files = []
    if root is not None:
        d = root / folder(challenge)
        for f in sorted(d.glob("*.yml")) if d.is_dir() else ():
            try:
                files.append((str(f), parse_record(f.read_bytes(), str(f))))
            except (LedgerError, OSError):
                continue  # as a file that is no act: it annuls and bans nothing
    return read_acts(files)


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
