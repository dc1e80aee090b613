"""The files added, changed or gone between two git trees, read from the trees' raw
bytes.

A ledger folder holds a folder a submission: ten thousand entries in one tree, of
which a new result adds one. A tree's entries are sorted by name and written end to
end (`<mode> <name>\\0<id>`), so the entries two versions share come in runs of the
same bytes: the two trees are walked side by side, each run skipped by comparing
bytes, and only the entries between runs are read as entries. The first comparison
of a process took 19 to 23 ms through pygit2 (an object an entry) at 10,000
submissions, 14 to 18 ms so, most of it inflating the trees; libgit2's own diff cost
0.2 s the first time in a process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import pygit2

TREE_MODE = 0o040000
ID_SIZE = 20  # bytes of a SHA-1 object id, as a raw tree holds it


class RawEntry(NamedTuple):
    """A tree entry as its tree's bytes give it; `filemode` and `id` as pygit2's."""

    name: str
    filemode: int
    id: pygit2.Oid


def tree_changes(repo: pygit2.Repository, old, new, depth: int,
                 prefix: str = "") -> Iterator[tuple[str, RawEntry | None, RawEntry | None]]:
    """(path, old entry, new entry) of each file added (old None), changed or gone (new
    None) between the trees of ids `old` and `new` (either None: no tree). A folder
    whose id did not change is not opened, and a changed one `depth` levels down raises
    ValueError, as does a tree that does not read (the comparison stays bounded
    whatever the trees hold)."""
    if depth <= 0:
        raise ValueError(f"{prefix}: a changed folder deeper than the comparison goes")
    before_entries, after_entries = _differing(_raw(repo, old), _raw(repo, new))
    before = {e.name: e for e in before_entries}
    for e in after_entries:
        was = before.pop(e.name, None)
        # the same id: the same content, and a folder's modes are within it
        if was is not None and was.id == e.id and (e.filemode == TREE_MODE
                                                   or was.filemode == e.filemode):
            continue
        path = f"{prefix}{e.name}"
        was_tree = was is not None and was.filemode == TREE_MODE
        is_tree = e.filemode == TREE_MODE
        if was_tree or is_tree:
            yield from tree_changes(repo, was.id if was_tree else None,
                                    e.id if is_tree else None, depth - 1, f"{path}/")
        if was is not None and not was_tree and is_tree:  # a file became a folder
            yield path, was, None
        elif not is_tree:
            yield path, None if was_tree else was, e
    for name, was in before.items():  # gone
        if was.filemode == TREE_MODE:
            yield from tree_changes(repo, was.id, None, depth - 1, f"{prefix}{name}/")
        else:
            yield f"{prefix}{name}", was, None


def _raw(repo: pygit2.Repository, oid) -> bytes:
    if oid is None:
        return b""
    kind, data = repo.odb.read(oid)
    if kind != pygit2.GIT_OBJECT_TREE:
        raise ValueError(f"{oid}: not a tree")
    return data


def _starts(data: bytes) -> list[int]:
    """Where each entry of a raw tree starts, then where the last one ends."""
    out, at, end = [], 0, len(data)
    find = data.index  # ValueError: an entry with no end
    while at < end:
        out.append(at)
        at = find(b"\0", at) + 1 + ID_SIZE
    if at != end:
        raise ValueError("a tree's last entry is cut short")
    out.append(end)
    return out


def _end(data: bytes, at: int) -> int:
    """Where the entry starting at `at` ends."""
    end = data.index(b"\0", at) + 1 + ID_SIZE  # ValueError: an entry with no end
    if end > len(data):
        raise ValueError("a tree's last entry is cut short")
    return end


def _differing(a: bytes, b: bytes) -> tuple[list[RawEntry], list[RawEntry]]:
    """The entries of raw trees `a` and `b` but the runs of entries they share: walked
    side by side, each shared run found by comparing bytes, in steps that double then
    halve (a run of m entries costs about log m comparisons of a few times its bytes),
    and the entries between runs read one by one. Only `b` is split into entries
    whole: a run of `a` is the same bytes, so the same entries."""
    sb, la = _starts(b), len(a)
    nb = len(sb) - 1  # entries
    old: list[RawEntry] = []
    new: list[RawEntry] = []
    x = j = 0  # where the next entry of `a` starts; the next entry of `b`

    def same(m: int) -> bool:  # b's m entries from j are a's bytes from x
        size = sb[j + m] - sb[j]
        return x + size <= la and a[x:x + size] == b[sb[j]:sb[j + m]]

    while x < la and j < nb:
        most, m, step = nb - j, 0, 1  # same(m) holds
        while m + step <= most and same(m + step):
            m, step = m + step, step * 2
        while step > 1:
            step //= 2
            if m + step <= most and same(m + step):
                m += step
        x, j = x + sb[j + m] - sb[j], j + m
        if x == la or j == nb:
            break
        end_a = _end(a, x)
        ea, eb = _entry(a, x, end_a), _entry(b, sb[j], sb[j + 1])
        # the side whose entry comes first in git's order (a folder's name sorts as if
        # it ended with "/") has it alone; entries of the same name both changed. An
        # order mistaken would only cost reading more entries one by one.
        ka, kb = _order(ea), _order(eb)
        if ka <= kb:
            old.append(ea)
            x = end_a
        if kb <= ka:
            new.append(eb)
            j += 1
    while x < la:
        end_a = _end(a, x)
        old.append(_entry(a, x, end_a))
        x = end_a
    new += (_entry(b, sb[k], sb[k + 1]) for k in range(j, nb))
    return old, new


def _order(e: RawEntry) -> bytes:
    return e.name.encode() + (b"/" if e.filemode == TREE_MODE else b"")


def _entry(data: bytes, start: int, end: int) -> RawEntry:
    """The entry from `start` to `end`, as _starts or _end found them (its name ends
    with the first NUL after `start`, and its id fills the rest)."""
    head = end - 1 - ID_SIZE
    mode, space, name = data[start:head].partition(b" ")
    if not space:
        raise ValueError("a tree entry that does not read")
    # a name that is no UTF-8 raises (UnicodeDecodeError is a ValueError)
    return RawEntry(name.decode(), int(mode, 8), pygit2.Oid(raw=data[head + 1:end]))
