"""Lineage: which earlier submission a submission was built from, and how much of it.

A submission's *own code* is its lines that are neither blank nor lines of the kit's
starting kit (everybody starts from those), compared with whitespace normalised
(`normalise`): indentation, trailing spaces and the spaces around operators and
punctuation do not count, so a reformatted copy keeps its lines. Lines are counted as
a multiset over the whole submission folder, wherever in it they sit.

A submission C *derives* from an earlier submission P when P's commit is an ancestor of
C's (git says C could have read P's code) and either

- C keeps a substantial part of P's own code (`derives_by_code`): at least
  KEPT_SHARE of P's own lines, and at least KEPT_LINES of them (all of them when P has
  fewer); or
- C's commits declare it with a git trailer `Derived-from: <team>/<name>` (`declared`)
  and the code confirms it with the lower bar `DECLARED_SHARE` of P's own lines, at
  least one. A declaration the code does not confirm gives no parent; the record keeps
  the declaration and says it was not confirmed.

Of the submissions C derives from, its *parent* is the declared one when confirmed,
else the one it inherited the most lines from (ties: the nearest in the commit graph).
The *inherited share* is the fraction of C's own lines that are P's own lines; credit
flows back along it (challenge.credit). docs/contributivity.md gives the rule with
worked examples and why these thresholds.

Submission trees are hostile input: reading one stops at MAX_ENTRIES entries, MAX_FILES
text files, MAX_DEPTH folder levels, MAX_TEXT_BYTES and MAX_LINES lines per file;
comparing two submissions is linear in their lines (multiset counts); declarations are
read from at most MAX_TRAILER_COMMITS commits, through libgit2's trailer parser.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pygit2
from pygit2.enums import FileMode

from challenge.ledger import version_label
from scorer.result import REJECTED, Result

RULE = 2  # the rule above; a parent found by an earlier rule carries no `rule`

KEPT_SHARE = 0.5  # of the parent's own lines the child keeps, to derive by code alone
KEPT_LINES = 3  # ... and at least this many of them (all of them, if the parent has fewer)
DECLARED_SHARE = 0.2  # of the parent's own lines, to confirm a declared parent
TRAILER = "Derived-from"
MAX_TRAILER_COMMITS = 20  # the branch's own commits read for a declaration


@dataclass
class Lineage:
    parent: str | None = None  # its version label, "<name>@<tree16>"
    parent_team: str | None = None
    ancestors: list[str] = field(default_factory=list)  # every version derived from, nearest first
    inherited_share: float = 0.0  # of the child's own lines, from the parent's own lines
    kept_share: float = 0.0  # of the parent's own lines, kept by the child
    basis: str | None = None  # "code", "declared", or None: no parent
    declared: str | None = None  # "<team>/<name>" of a Derived-from trailer
    note: str | None = None  # why a declaration gave no parent

    def to_dict(self) -> dict:
        """As the ledger records it: a lineage with nothing in it (no parent, nothing
        declared) is the four keys every rule wrote; the others say how a parent was
        found, or why a declaration was not counted."""
        d = {"parent": self.parent, "parent_team": self.parent_team,
             "ancestors": list(self.ancestors),
             "inherited_share": round(self.inherited_share, 4)}
        if self.parent or self.declared:
            d.update({"kept_share": round(self.kept_share, 4), "basis": self.basis,
                      "rule": RULE})
        if self.declared:
            d["declared"] = self.declared
        if self.note:
            d["note"] = self.note
        return d


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


def lines_of(files: dict[str, bytes]) -> dict[str, list[str]]:
    """`text_files` for a folder given as {path: bytes} (a sealed submission opened in
    memory on the runner), within the same bounds."""
    out: dict[str, list[str]] = {}
    for path, data in sorted(files.items()):
        if len(out) >= MAX_FILES:
            break
        if len(data) > MAX_TEXT_BYTES:
            continue
        try:
            out[path] = data.decode("utf-8").splitlines()[:MAX_LINES]
        except UnicodeDecodeError:
            continue
    return out


_SPACES = re.compile(r"\s+")
_LOOSE = re.compile(r" (?=\W)|(?<=\W) ")


def normalise(line: str) -> str:
    """A line with its whitespace normalised: none at either end, runs made one space,
    and no space beside an operator or punctuation (`x=1` is `x = 1`); a space between
    two words stays (`class Classifier:`)."""
    return _LOOSE.sub("", _SPACES.sub(" ", line.strip()))


def own_lines(files: dict[str, list[str]],
              boilerplate: frozenset[str] = frozenset()) -> Counter[str]:
    """The multiset of a submission's own lines: normalised, not blank, not the kit's."""
    out: Counter[str] = Counter()
    for lines in files.values():
        for ln in lines:
            n = normalise(ln)
            if n and n not in boilerplate:
                out[n] += 1
    return out


def boilerplate_of(repo: pygit2.Repository, tree_id: str | None) -> frozenset[str]:
    """The normalised lines of a starting kit's files: shared by everyone, credit to no one."""
    if not tree_id:
        return frozenset()
    return frozenset(normalise(ln) for lines in text_files(repo, tree_id).values()
                     for ln in lines)


def boilerplate_of_files(files: dict[str, bytes]) -> frozenset[str]:
    """`boilerplate_of` for a starting kit given as {file name: content}."""
    return frozenset(normalise(ln) for data in files.values()
                     for ln in data.decode("utf-8", "replace").splitlines())


@dataclass(frozen=True)
class Overlap:
    """What a child shares with one candidate parent, in own lines."""

    shared: int  # own lines of the child that are own lines of the parent (multiset)
    child: int  # the child's own lines
    parent: int  # the parent's own lines

    @property
    def inherited(self) -> float:
        return self.shared / self.child if self.child else 0.0

    @property
    def kept(self) -> float:
        return self.shared / self.parent if self.parent else 0.0


def overlap(child: Counter[str], parent: Counter[str]) -> Overlap:
    return Overlap(sum((child & parent).values()), sum(child.values()), sum(parent.values()))


def derives_by_code(o: Overlap) -> bool:
    """Whether the child kept a substantial part of the parent's own code."""
    return o.parent > 0 and o.kept >= KEPT_SHARE and o.shared >= min(KEPT_LINES, o.parent)


def confirms_declaration(o: Overlap) -> bool:
    """The lower bar a declared parent must pass: some of its own code is still there."""
    return o.shared >= 1 and o.kept >= DECLARED_SHARE


def inherited_share(child: dict[str, list[str]], parent: dict[str, list[str]],
                    boilerplate: frozenset[str] = frozenset()) -> float:
    """Share of the child's own lines that are the parent's own lines (see the module)."""
    return overlap(own_lines(child, boilerplate), own_lines(parent, boilerplate)).inherited


# ---------------------------------------------------------------- declarations
_DECLARED = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]{0,99})/([A-Za-z0-9][A-Za-z0-9_-]{0,63})")


def declared(repo: pygit2.Repository, commit: str, stop: set[str] = frozenset()
             ) -> str | None:
    """The `<team>/<name>` a `Derived-from:` trailer of the branch's own commits names:
    the newest such commit's, read along first parents from `commit` for at most
    MAX_TRAILER_COMMITS commits, stopping at a merge (a branch started from the default
    branch in the open phase starts at one) and at a commit of `stop` (another
    submission's version: its declaration is its own). Trailers are the
    last paragraph's `Key: value` lines, as git reads them (libgit2's parser); the key
    is matched without regard to case; a value that is no `<team>/<name>` is ignored."""
    try:
        c = repo[commit].peel(pygit2.Commit)
    except (KeyError, ValueError):
        return None
    for _ in range(MAX_TRAILER_COMMITS):
        if str(c.id) != commit and str(c.id) in stop:
            return None
        try:
            trailers = c.message_trailers
        except (pygit2.GitError, ValueError):
            trailers = {}
        for key, value in trailers.items():
            if key.lower() == TRAILER.lower():
                m = _DECLARED.fullmatch(value.strip())
                if m:
                    return f"{m.group(1)}/{m.group(2)}"
        if len(c.parents) != 1:
            return None
        c = c.parents[0]
    return None


# ---------------------------------------------------------------- the lineage
def compute(repo: pygit2.Repository, commit: str, tree: str, challenge: str,
            records: list[Result], boilerplate: frozenset[str] = frozenset(),
            files: Callable[[str], dict[str, list[str]]] | None = None) -> Lineage:
    """The lineage of the submission whose folder is `tree` at `commit`, among `records`
    (earlier versions; rejected ones and its own tree are left out), `boilerplate`
    being the starting kit's lines (`boilerplate_of`). `files` reads a submission
    folder's tree as {path: lines} (default `text_files`; the runner passes one that
    opens sealed folders with its key, `challenge.plagiarism.reader`)."""
    read = files or (lambda t: text_files(repo, t))
    by_commit: dict[str, list[Result]] = {}
    for r in records:
        if (r.challenge == challenge and r.commit and r.tree and r.tree != tree
                and r.status != REJECTED):
            by_commit.setdefault(r.commit, []).append(r)
    if not by_commit:
        return Lineage()
    claim = declared(repo, commit, set(by_commit))
    child = own_lines(read(tree), boilerplate)
    # (distance, overlap, record) of every ancestor version, nearest first
    found: list[tuple[int, Overlap, Result]] = []
    seen_versions: set[tuple[str, str]] = set()
    for distance, oid in _ancestors(repo, commit):
        for r in by_commit.get(oid, []):
            if (r.submission, r.tree) in seen_versions:
                continue
            seen_versions.add((r.submission, r.tree))
            found.append((distance, overlap(child, own_lines(read(r.tree), boilerplate)),
                           r))
    derived = [(d, o, r) for d, o, r in found if derives_by_code(o)]
    out = Lineage(declared=claim)
    confirmed = []
    if claim:
        named = [(d, o, r) for d, o, r in found if f"{r.team}/{r.submission}" == claim]
        confirmed = [x for x in named if confirms_declaration(x[1])]
        if not named:
            out.note = (f"declared {TRAILER}: {claim}, but no scored version of it is an "
                        "ancestor of this commit; not counted")
        elif not confirmed:
            out.note = (f"declared {TRAILER}: {claim}, but it keeps too little of that "
                        "submission's own code to confirm it; not counted")
    if confirmed:
        _, o, parent = max(confirmed, key=lambda x: (x[1].shared, -x[0]))
        basis = "declared"
    elif derived:
        _, o, parent = max(derived, key=lambda x: (x[1].shared, -x[0]))
        basis = "code"
    else:
        return out
    ancestors = {id(r): r for _, _, r in derived + confirmed}
    out.parent = version_label(parent.submission, parent.tree)
    out.parent_team = parent.team
    out.ancestors = [version_label(r.submission, r.tree) for _, _, r in found
                     if id(r) in ancestors]
    out.inherited_share, out.kept_share, out.basis = o.inherited, o.kept, basis
    return out


def _ancestors(repo: pygit2.Repository, commit: str):
    """(distance, commit id) of `commit` and its ancestors, breadth first."""
    start = repo[commit].peel(pygit2.Commit)
    queue = deque([(0, start)])
    seen = {start.id}
    while queue:
        d, c = queue.popleft()
        yield d, str(c.id)
        for p in c.parents:
            if p.id not in seen:
                seen.add(p.id)
                queue.append((d + 1, p))
