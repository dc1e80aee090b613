"""Lineage: which earlier submissions a submission's commit descends from.

Git already knows who built on whom: a submission branched from another team's
submission has that submission's commit among its ancestors. Among the earlier
submissions (of any team, same challenge) whose commits are ancestors of this one
and whose code it shares, the nearest in the commit graph is its *parent*, and the
*inherited share* is the fraction of its lines that come unchanged from the parent's
files of the same name: the lines git's own diff (libgit2's) does not mark as added.

Submission trees are hostile input: reading one stops at MAX_ENTRIES entries, MAX_FILES
text files, MAX_DEPTH folder levels, MAX_TEXT_BYTES and MAX_LINES lines per file, and the
line comparison is libgit2's diff (its cost is bounded by a heuristic, not quadratic in
the lines as a longest-matching-blocks search is), so a huge file costs a bounded time
per ancestor.

An ancestor reached along first parents only (the submission's branch was started
from it) always counts. One reached through another parent of a merge must also
share code: after the open phase the default branch merges every submission, so a
branch started from it descends from all of them, but it derives only from those
whose code it kept, at least one non-blank line that is not boilerplate (a line of
the kit's starting kit).
"""

from __future__ import annotations

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


MAX_FILES = 200  # text files read from one submission tree
MAX_ENTRIES = 2_000  # entries (files and folders) looked at in one submission tree
MAX_DEPTH = 8  # folder levels below the submission folder
MAX_TEXT_BYTES = 1 << 20  # a larger file is not compared
MAX_LINES = 20_000  # lines compared per file (the first ones)


def text_files(repo: pygit2.Repository, tree_id: str, prefix: str = "") -> dict[str, list[str]]:
    """{path: lines} of the text files of a submission folder's tree, within the bounds
    above (walked without recursion, stopping at the first bound)."""
    out: dict[str, list[str]] = {}
    try:
        root = repo[tree_id]
    except (KeyError, ValueError):
        return out
    if not isinstance(root, pygit2.Tree):
        return out
    stack = [(root, prefix, 0)]
    seen = 0
    while stack:
        tree, where, depth = stack.pop()
        for e in tree:
            seen += 1
            if seen > MAX_ENTRIES:
                return out
            if e.filemode == FileMode.TREE:
                if depth < MAX_DEPTH:
                    stack.append((repo[e.id], f"{where}{e.name}/", depth + 1))
            elif e.filemode in (FileMode.BLOB, FileMode.BLOB_EXECUTABLE):
                if len(out) >= MAX_FILES:
                    return out
                if repo.odb.read_header(e.id)[1] > MAX_TEXT_BYTES:
                    continue
                try:
                    out[where + e.name] = repo[e.id].data.decode("utf-8").splitlines()[
                        :MAX_LINES]
                except UnicodeDecodeError:
                    continue
    return out


def inherited_share(child: dict[str, list[str]], parent: dict[str, list[str]]) -> float:
    """Share of the child's lines found unchanged, in order, in the parent's same file:
    the lines git's diff from the parent's file to the child's does not add."""
    total = sum(len(lines) for lines in child.values())
    if total == 0:
        return 0.0
    kept = 0
    for path, lines in child.items():
        if path in parent and lines:
            patch = pygit2.Patch.create_from(_text(parent[path]), _text(lines))
            _, added, _ = patch.line_stats
            kept += len(lines) - added
    return kept / total


def _text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass") if lines else b""


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
