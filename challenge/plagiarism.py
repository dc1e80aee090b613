"""Copies caught: a closed-phase submission that is a near copy of another team's
earlier submission is flagged to the organizers, privately, and given no lineage from it.

While a challenge's code is hidden (before `gitramp phase open`), nobody may build on
another team's code; a pull request's diff is readable on a public forge all the same,
and a copy made by hand shares no git history with its source, so lineage alone
(`challenge.lineage`, which needs git ancestry) would not see it. Here every submission
scored while the code is hidden is compared with every earlier submission of the other
teams, ancestry or not, by lineage's own measure: the *inherited share*, the fraction of
the submission's own lines (not blank, not the starting kit's, whitespace normalised)
that are the other's own lines. A share of at least COPY_SHARE, over at least
COPY_LINES shared lines, is a *near copy*.

A near copy is

- flagged: one file of the PRIVATE ledger (the runners' repository, never the public
  one), `leaderboard_data/<challenge>/_flags/<name>/<stem>.yml`, naming both teams and
  submissions and the share, for the organizers to judge (`gitramp moderate flags`;
  annulling it is `gitramp moderate annul`);
- not silently credited: its lineage is computed without the submissions it copies, so
  none of them becomes its parent and no credit flows along that line.

Sealed submissions (`challenge.sealing`) are compared over their decrypted code, opened
in memory on the runner with its key (`reader`); the public ledger gets only the
verdicts (the lineage), never a line of code nor the flag. The starting kit's lines
count for no one, so two teams that both started from it are not flagged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pygit2
from pygit2.enums import FileMode

from challenge import lineage as lineage_mod
from challenge import repo as gitrepo
from challenge import sealing
from challenge.ledger import (
    LEDGER_ROOT,
    Ledger,
    LedgerError,
    dump_yaml,
    path_segment,
    put_path,
    record_stem,
    yaml_files_at,
)
from challenge.phases import parse_time
from scorer.result import REJECTED, Result
from scorer.untrusted import clean_text

COPY_SHARE = 0.8  # of the submission's own lines that are the other's own lines
COPY_LINES = 8  # ... and at least this many of them: a few common lines copy nothing
FLAGS_DIR = "_flags"  # <challenge>/_flags/<name>/<stem>.yml, in the private ledger
KIND = "near-copy"

Files = Callable[[str], dict[str, list[str]]]


@dataclass(frozen=True)
class Source:
    """The earlier submission a near copy was taken from, and how much of it."""

    team: str
    submission: str
    tree: str
    submitted_at: str | None
    pr: int | None
    inherited_share: float  # of the copy's own lines, from this one's own lines
    kept_share: float  # of this one's own lines, kept by the copy
    shared_lines: int

    def to_dict(self) -> dict[str, Any]:
        return {"team": self.team, "submission": self.submission, "tree": self.tree,
                "submitted_at": self.submitted_at, "pr": self.pr,
                "inherited_share": round(self.inherited_share, 4),
                "kept_share": round(self.kept_share, 4), "shared_lines": self.shared_lines}


@dataclass(frozen=True)
class Flag:
    """A submission found to be a near copy of other teams' earlier submissions."""

    challenge: str
    team: str
    submission: str
    tree: str
    scoring_hash: str
    commit: str | None
    pr: int | None
    submitted_at: str | None
    own_lines: int
    sealed: bool
    sources: tuple[Source, ...] = field(default_factory=tuple)
    path: str = ""  # where the private ledger keeps it (not written in the file)

    @property
    def stem(self) -> str:
        return record_stem(self.tree, self.scoring_hash)

    def to_dict(self) -> dict[str, Any]:
        return {"flag": KIND, "challenge": self.challenge, "team": self.team,
                "submission": self.submission, "tree": self.tree,
                "scoring_hash": self.scoring_hash, "commit": self.commit, "pr": self.pr,
                "submitted_at": self.submitted_at, "own_lines": self.own_lines,
                "sealed": self.sealed, "copies": [s.to_dict() for s in self.sources],
                "rule": {"share": COPY_SHARE, "lines": COPY_LINES}}

    @classmethod
    def from_dict(cls, d: Any, path: str) -> Flag:
        if not isinstance(d, dict) or d.get("flag") != KIND or \
                not isinstance(d.get("copies"), list):
            raise LedgerError(f"{path}: not a flag (expected flag: {KIND} and copies: [...])")

        def text(v: Any, limit: int = 200) -> str:
            return clean_text(str(v if v is not None else ""), limit)

        def number(v: Any, kind=float):
            try:
                return kind(v)
            except (TypeError, ValueError):
                return kind(0)

        sources = tuple(
            Source(text(s.get("team")), text(s.get("submission")), text(s.get("tree"), 64),
                   text(s.get("submitted_at"), 40) or None,
                   number(s.get("pr"), int) or None, number(s.get("inherited_share")),
                   number(s.get("kept_share")), number(s.get("shared_lines"), int))
            for s in d["copies"] if isinstance(s, dict))
        return cls(text(d.get("challenge")), text(d.get("team")), text(d.get("submission")),
                   text(d.get("tree"), 64), text(d.get("scoring_hash"), 64),
                   text(d.get("commit"), 64) or None, number(d.get("pr"), int) or None,
                   text(d.get("submitted_at"), 40) or None, number(d.get("own_lines"), int),
                   d.get("sealed") is True, sources, path)

    def describe(self) -> str:
        """One line per source, for organizers."""
        return "\n".join(
            f"{self.team}/{self.submission} ({self.tree[:10]}) is a near copy of "
            f"{s.team}/{s.submission} ({s.tree[:10]}): {s.inherited_share:.0%} of its "
            f"{self.own_lines} own lines ({s.shared_lines}) are theirs"
            for s in self.sources)


# --------------------------------------------------------------------- reading code
def reader(repo: pygit2.Repository, identity: str | None,
           cache: dict[str, dict[str, list[str]]] | None = None) -> Files:
    """{path: lines} of a submission folder's tree: its text files, or, for a sealed
    folder, the files its envelope holds, opened in memory with the runner's key
    (`identity`). A sealed folder that cannot be opened (no key, or tampered) reads as
    empty: its manifest's lines are no one's code. `cache` keeps what was read, by tree."""
    cache = {} if cache is None else cache

    def read(tree_id: str) -> dict[str, list[str]]:
        if tree_id not in cache:
            cache[tree_id] = _read(repo, tree_id, identity)
        return cache[tree_id]

    return read


def _read(repo: pygit2.Repository, tree_id: str, identity: str | None
          ) -> dict[str, list[str]]:
    try:
        tree = repo[tree_id]
    except (KeyError, ValueError):
        return {}
    if not isinstance(tree, pygit2.Tree):
        return {}
    if not sealing.is_sealed({e.name for e in tree}):
        return lineage_mod.text_files(repo, tree_id)
    if not identity:
        return {}
    try:
        files = sealing.open_envelope(repo[tree[sealing.ENVELOPE].id].data,
                                      repo[tree[sealing.MANIFEST].id].data, identity)
    except sealing.SealError:
        return {}
    return lineage_mod.lines_of(files)


def is_sealed_tree(repo: pygit2.Repository, tree_id: str) -> bool:
    try:
        tree = repo[tree_id]
    except (KeyError, ValueError):
        return False
    return isinstance(tree, pygit2.Tree) and sealing.is_sealed({e.name for e in tree})


# --------------------------------------------------------------------- finding copies
def _earlier(a: str | None, b: str | None) -> bool:
    """Whether a record submitted at `a` came no later than one submitted at `b` (a
    record already in the ledger without a time came first)."""
    if not a or not b:
        return True
    try:
        return parse_time(a) <= parse_time(b)
    except ValueError:
        return True


def near_copies(result: Result, records: list[Result], boilerplate: frozenset[str],
                read: Files) -> list[tuple[Result, Source]]:
    """The earlier submissions of other teams that `result` (its challenge, team, tree
    and submission time) is a near copy of, each with how much it took."""
    team = (result.team or "").lower()
    child = lineage_mod.own_lines(read(result.tree or ""), boilerplate)
    if sum(child.values()) < COPY_LINES:
        return []
    out = []
    seen: set[tuple[str, str]] = set()
    for r in records:
        if (r.challenge != result.challenge or r.status == REJECTED or not r.tree
                or (r.team or "").lower() == team or (r.submission, r.tree) in seen
                or not _earlier(r.submitted_at, result.submitted_at)):
            continue
        seen.add((r.submission, r.tree))
        o = lineage_mod.overlap(child, lineage_mod.own_lines(read(r.tree), boilerplate))
        if o.shared >= COPY_LINES and o.inherited >= COPY_SHARE:
            out.append((r, Source(r.team or "", r.submission, r.tree, r.submitted_at, r.pr,
                                  o.inherited, o.kept, o.shared)))
    out.sort(key=lambda x: (-x[1].inherited_share, x[1].submitted_at or ""))
    return out


@dataclass
class Assessment:
    lineage: lineage_mod.Lineage
    flag: Flag | None  # None: no near copy (or the code is visible)


def assess(repo: pygit2.Repository, result: Result, records: list[Result],
           boilerplate: frozenset[str], *, code_hidden: bool, identity: str | None,
           cache: dict | None = None) -> Assessment:
    """The lineage of a scored `result` (stamped: challenge, team, commit, tree,
    submission time) among `records`, and, while the code is hidden, its flag as a near
    copy. The submissions it copies are left out of its lineage. Sealed folders are read
    with `identity` (the runner's key), in memory only."""
    read = reader(repo, identity, cache)
    flag = None
    copied: set[int] = set()
    if code_hidden and result.tree:
        found = near_copies(result, records, boilerplate, read)
        if found:
            copied = {id(r) for r, _ in found}
            flag = Flag(result.challenge, result.team or "", result.submission, result.tree,
                        result.scoring_hash or "", result.commit, result.pr,
                        result.submitted_at,
                        sum(lineage_mod.own_lines(read(result.tree), boilerplate).values()),
                        is_sealed_tree(repo, result.tree), tuple(s for _, s in found))
    kept = [r for r in records if id(r) not in copied]
    lin = lineage_mod.compute(repo, result.commit or "", result.tree or "", result.challenge,
                              kept, boilerplate, files=read) if result.commit else \
        lineage_mod.Lineage()
    return Assessment(lin, flag)


# --------------------------------------------------------------------- the private ledger
def folder(challenge: str) -> str:
    return f"{LEDGER_ROOT}/{challenge}/{FLAGS_DIR}"


def flag_path(challenge: str, name: str, stem: str) -> str:
    return f"{folder(challenge)}/{path_segment(name)}/{stem}.yml"


def keep(private: Ledger, flag: Flag, remote: str | None = None) -> str:
    """Write `flag` to the private ledger (on `remote` at once when given); returns its
    path. Never call this with the public ledger: a flag names a suspicion, and during a
    sealed phase, what was sealed."""
    path = flag_path(flag.challenge, flag.submission, flag.stem)
    data = dump_yaml(flag.to_dict())
    message = (f"flags: {flag.challenge}/{flag.submission} by {flag.team} is a near copy of "
               + ", ".join(f"{s.team}/{s.submission}" for s in flag.sources) + "\n")

    def build(repo: pygit2.Repository, head: pygit2.Commit | None):
        tree = head.tree if head else None
        if tree is not None and gitrepo.blob_at(repo, tree, path) == data:
            return None
        return put_path(repo, tree, path, repo.create_blob(data), FileMode.BLOB), [], message

    if remote:
        private.update_remote(build, remote)
    else:
        private.update(build)
    return path


def read_flags(private: Ledger, challenge: str) -> list[Flag]:
    """The flags of `challenge` in the private ledger, oldest submission first; a file
    that does not read as a flag is left out."""
    head = private.head()
    repo = private.repo
    where = folder(challenge)
    top = gitrepo.subtree(repo, head.tree, where) if head is not None else None
    out = []
    for name in top if top is not None else ():
        if name.filemode != FileMode.TREE:
            continue
        for path, raw in yaml_files_at(repo, head.tree, f"{where}/{name.name}"):
            try:
                out.append(Flag.from_dict(raw, path))
            except LedgerError:
                continue
    out.sort(key=lambda fl: (fl.submitted_at or "", fl.path))
    return out
