"""The organizer's two publishing acts, each one commit on the default branch.

- `open_code`: the open phase. Merges the latest scored version of every submission
  into the default branch (a merge commit whose extra parents are the submissions'
  commits, so git ancestry keeps who wrote what) and sets `code_visible: true`.
- `reveal`: copies the private ledger's records into
  `leaderboard_data/<challenge>/private/` and sets `revealed: true`.

Both are idempotent: run twice, the second run writes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pygit2
from pygit2.enums import FileMode

from challenge import repo as gitrepo
from challenge import sealing
from challenge.ledger import (
    Ledger,
    LedgerError,
    Visibility,
    dump_record,
    dump_yaml,
    parse_record,
    put_path,
    record_path,
    state_path,
)
from challenge.phases import iso
from challenge.repo import KitLocation
from scorer.result import PRIVATE_FIELDS, SCORED, Result


def latest_scored(records: list[Result], challenge: str) -> list[Result]:
    """The latest scored version of each submission of `challenge`."""
    best: dict[str, Result] = {}
    for r in records:
        if r.challenge != challenge or r.status != SCORED or not r.commit or not r.tree:
            continue
        if r.submission not in best or (r.submitted_at or "") > (
                best[r.submission].submitted_at or ""):
            best[r.submission] = r
    return [best[n] for n in sorted(best)]


def open_code(ledger: Ledger, loc: KitLocation, now: datetime) -> tuple[str | None, list[str]]:
    """Merge the scored submissions of one kit; returns (commit or None, merged names)."""
    records = latest_scored(ledger.records(loc.name), loc.name)
    merged: list[str] = []

    def build(repo: pygit2.Repository, head: pygit2.Commit | None):
        if head is None:
            raise LedgerError("the default branch has no commit; nothing to open")
        merged.clear()
        tree, parents = head.tree, []
        for r in records:
            if r.commit not in repo:
                raise LedgerError(f"commit {r.commit[:10]} of {r.submission} is not in this "
                                  "repository; fetch the pull request heads first")
            folder = loc.path("submissions", r.submission)
            current = gitrepo.subtree(repo, tree, folder)
            code = _plain(repo, r.tree)
            if current is None or current.id != code:
                tree = repo[put_path(repo, tree, folder, code, FileMode.TREE)]
                merged.append(r.submission)
            if r.commit != str(head.id) and not repo.descendant_of(head.id, r.commit) and \
                    pygit2.Oid(hex=r.commit) not in parents:
                parents.append(pygit2.Oid(hex=r.commit))
                if r.submission not in merged:
                    merged.append(r.submission)
        state = _state(repo, head.tree, loc.name)
        if not state.code_visible:
            state = replace(state, code_visible=True, opened_at=iso(now))
            tree = repo[put_path(repo, tree, state_path(loc.name),
                                 repo.create_blob(dump_yaml(state.to_dict())), FileMode.BLOB)]
        elif not merged:
            return None
        names = ", ".join(merged) or "none"
        return tree.id, parents, (f"phase open: {loc.name} code visible; merge {len(merged)} "
                                  f"scored submission(s)\n\n{names}\n")

    commit = ledger.update(build)
    return commit, list(merged) if commit else []


def reveal(ledger: Ledger, private: Ledger, challenge: str, now: datetime, *,
           only: set[tuple[str, str]] | None = None,
           extra: dict[str, bytes] | None = None) -> tuple[str | None, int]:
    """Publish the private records of `challenge` (with `only`, those of these (name,
    stem) alone: a final selection), and the `extra` files in the same commit; returns
    (commit or None, count of records)."""
    prepo = private.repo
    files = {}
    for path, oid in private.entries(challenge).items():
        _, c, name, file = path.split("/")
        if only is not None and (name, file.removesuffix(".yml")) not in only:
            continue
        try:  # the scores only: a private record also keeps the run's log (hidden data)
            raw = parse_record(prepo[oid].data, path)
            data = dump_record({k: v for k, v in raw.items() if k not in PRIVATE_FIELDS},
                               path) if isinstance(raw, dict) else None
        except LedgerError as e:
            private.skipped[path] = str(e)
            continue
        if data is not None:
            files[record_path(c, name, file.removesuffix(".yml"), private=True)] = data
    count = 0

    def build(repo: pygit2.Repository, head: pygit2.Commit | None):
        nonlocal count
        tree = head.tree if head else None
        count = 0
        for path, data in sorted(files.items()):
            if tree is not None and gitrepo.blob_at(repo, tree, path) == data:
                continue
            tree = repo[put_path(repo, tree, path, repo.create_blob(data), FileMode.BLOB)]
            count += 1
        for path, data in sorted((extra or {}).items()):
            if tree is None or gitrepo.blob_at(repo, tree, path) != data:
                tree = repo[put_path(repo, tree, path, repo.create_blob(data), FileMode.BLOB)]
        state = _state(repo, tree, challenge) if tree else Visibility()
        if not state.revealed:
            state = replace(state, revealed=True, revealed_at=iso(now))
            tree = repo[put_path(repo, tree, state_path(challenge),
                                 repo.create_blob(dump_yaml(state.to_dict())), FileMode.BLOB)]
        elif not count and (head is None or tree.id == head.tree.id):
            return None
        return tree.id, [], f"reveal: {challenge} private scores ({count} record(s))\n"

    commit = ledger.update(build)
    return commit, count if commit else 0


def _plain(repo: pygit2.Repository, tree: str) -> pygit2.Oid:
    """A submission folder's tree as the open phase shows it: a sealed one opened with
    the challenge's key (GITRAMP_SEAL_KEY) and checked against its manifest."""
    folder = repo[tree]
    if not sealing.is_sealed({e.name for e in folder}):
        return folder.id
    identity = sealing.identity_from_env()
    if not identity:
        raise LedgerError(f"sealed submissions open only with the challenge's key: set "
                          f"{sealing.KEY_ENV} to the private key of gitramp seal keygen")
    return sealing.plain_tree(repo, folder, identity)


def _state(repo: pygit2.Repository, tree: pygit2.Tree, challenge: str) -> Visibility:
    path = state_path(challenge)
    data = gitrepo.blob_at(repo, tree, path)
    return Visibility.from_dict(parse_record(data, path) if data else None, path)
