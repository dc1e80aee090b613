"""Lineage: which earlier submissions a submission's commit descends from.

Git already knows who built on whom: a submission branched from another team's
submission has that submission's commit among its ancestors. Among the earlier
submissions (of any team, same challenge) whose commits are ancestors of this one
and whose code it shares, the nearest in the commit graph is its *parent*, and the
*inherited share* is the fraction of its lines that come unchanged from the parent's
files of the same name (difflib's matching blocks, line by line).

An ancestor reached along first parents only (the submission's branch was started
from it) always counts. One reached through another parent of a merge must also
share code: after the open phase the default branch merges every submission, so a
branch started from it descends from all of them, but it derives only from those
whose code it kept, at least one non-blank line that is not boilerplate (a line of
the kit's starting kit).
"""

from __future__ import annotations

import difflib
from collections import deque
from dataclasses import dataclass, field

import pygit2
from pygit2.enums import FileMode

from challenge.ledger import version_label
from scorer.result import REJECTED, Result


@dataclass
class Lineage:
    parent: str | None = None  # its version label, "<name>@<tree16>"
    parent_team: str | None = None
    ancestors: list[str] = field(default_factory=list)  # nearest first
    inherited_share: float = 0.0

    def to_dict(self) -> dict:
        return {"parent": self.parent, "parent_team": self.parent_team,
                "ancestors": list(self.ancestors),
                "inherited_share": round(self.inherited_share, 4)}


def text_files(repo: pygit2.Repository, tree_id: str, prefix: str = "") -> dict[str, list[str]]:
    """{path: lines} of the text files of a submission folder's tree."""
    out: dict[str, list[str]] = {}
    try:
        tree = repo[tree_id]
    except (KeyError, ValueError):
        return out
    for e in tree:
        if e.filemode == FileMode.TREE:
            out.update(text_files(repo, str(e.id), f"{prefix}{e.name}/"))
        elif e.filemode in (FileMode.BLOB, FileMode.BLOB_EXECUTABLE):
            try:
                out[prefix + e.name] = repo[e.id].data.decode("utf-8").splitlines()
            except UnicodeDecodeError:
                continue
    return out


def inherited_share(child: dict[str, list[str]], parent: dict[str, list[str]]) -> float:
    """Share of the child's lines found unchanged, in order, in the parent's same file."""
    total = sum(len(lines) for lines in child.values())
    if total == 0:
        return 0.0
    kept = 0
    for path, lines in child.items():
        if path in parent:
            m = difflib.SequenceMatcher(None, parent[path], lines, autojunk=False)
            kept += sum(b.size for b in m.get_matching_blocks())
    return kept / total


def shares_code(child: dict[str, list[str]], parent: dict[str, list[str]],
                boilerplate: frozenset[str] = frozenset()) -> bool:
    """Whether the child keeps a distinctive line of the parent (not blank, not
    boilerplate), compared without surrounding whitespace."""
    mine = {ln.strip() for lines in child.values() for ln in lines} - boilerplate - {""}
    return any(ln.strip() in mine for lines in parent.values() for ln in lines)


def boilerplate_of(repo: pygit2.Repository, tree_id: str | None) -> frozenset[str]:
    """The stripped lines of a starting kit's files: shared by everyone, credit to no one."""
    if not tree_id:
        return frozenset()
    return frozenset(ln.strip() for lines in text_files(repo, tree_id).values()
                     for ln in lines)


def compute(repo: pygit2.Repository, commit: str, tree: str, challenge: str,
            records: list[Result], boilerplate: frozenset[str] = frozenset()) -> Lineage:
    """The lineage of the submission whose folder is `tree` at `commit`."""
    by_commit: dict[str, list[Result]] = {}
    for r in records:
        if (r.challenge == challenge and r.commit and r.tree and r.tree != tree
                and r.status != REJECTED):
            by_commit.setdefault(r.commit, []).append(r)
    if not by_commit:
        return Lineage()
    child = text_files(repo, tree)
    found: list[tuple[int, float, Result]] = []
    seen_versions: set[tuple[str, str]] = set()
    for distance, oid, direct in _ancestors(repo, commit):
        for r in by_commit.get(oid, []):
            if (r.submission, r.tree) in seen_versions:
                continue
            parent = text_files(repo, r.tree)
            if direct or shares_code(child, parent, boilerplate):
                seen_versions.add((r.submission, r.tree))
                found.append((distance, inherited_share(child, parent), r))
    if not found:
        return Lineage()
    found.sort(key=lambda x: (x[0], -x[1]))
    _, share, parent = found[0]
    return Lineage(version_label(parent.submission, parent.tree), parent.team,
                   [version_label(r.submission, r.tree) for _, _, r in found], share)


def _ancestors(repo: pygit2.Repository, commit: str):
    """(distance, commit id, along first parents only) of `commit` and its ancestors,
    breadth first; a commit reached both ways is given both ways."""
    start = repo[commit].peel(pygit2.Commit)
    queue = deque([(0, start, True)])
    seen = {(str(start.id), True)}
    while queue:
        d, c, direct = queue.popleft()
        yield d, str(c.id), direct
        for i, p in enumerate(c.parents):
            key = (str(p.id), direct and i == 0)
            if key not in seen:
                seen.add(key)
                queue.append((d + 1, p, key[1]))
