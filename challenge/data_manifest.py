"""The hidden data a runner scores with, checked by its hash.

Several runners of one hub must score with the same hidden data, whether each reads it
from a shared file system or keeps a copy of its own. The organizer computes the data
folder's hash once (`gitramp data hash DIR`, optionally writing the manifest with
`--manifest FILE`), and each runner's configuration names the folder and that hash
(`--data-hash`). A scan checks the folder before it claims anything and refuses to
score with data whose hash differs, naming what differs: with a manifest file, the
files added, missing or changed; with the hash alone, the two hashes and the folder's
file count and size.

The manifest lists every regular file under the folder (links are listed by their
target, never followed), one line each: `<sha256>  <size>  <path>`, sorted by path.
The folder's hash is `sha256:` and the SHA-256 of those lines.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from challenge.errors import GitrampError

PREFIX = "sha256:"
HEADER = "# gitramp data manifest"


class DataMismatch(GitrampError):
    pass


@dataclass(frozen=True)
class Entry:
    path: str
    sha256: str
    size: int

    def line(self) -> str:
        return f"{self.sha256}  {self.size}  {self.path}"


def entries(folder: str | Path) -> list[Entry]:
    """The manifest of `folder`: every file below it, sorted by path."""
    root = Path(folder)
    if not root.is_dir():
        raise DataMismatch(f"{root}: the hidden data folder does not exist (or is not a "
                           "folder) on this runner")
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = Path(full).relative_to(root).as_posix()
            if os.path.islink(full):
                target = os.readlink(full).encode()
                out.append(Entry(rel, "link:" + hashlib.sha256(target).hexdigest(), 0))
                continue
            h = hashlib.sha256()
            size = 0
            with open(full, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
                    size += len(chunk)
            out.append(Entry(rel, h.hexdigest(), size))
    return sorted(out, key=lambda e: e.path)


def digest(items: list[Entry]) -> str:
    h = hashlib.sha256()
    for e in items:
        h.update(e.line().encode("utf-8", "surrogateescape") + b"\n")
    return PREFIX + h.hexdigest()


def folder_hash(folder: str | Path) -> str:
    return digest(entries(folder))


def manifest_text(items: list[Entry]) -> str:
    total = sum(e.size for e in items)
    return "\n".join([f"{HEADER}: {len(items)} file(s), {total} bytes, {digest(items)}",
                      *(e.line() for e in items)]) + "\n"


def read_manifest(path: str | Path) -> list[Entry]:
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError as e:
        raise DataMismatch(f"{path}: the data manifest cannot be read ({e.strerror})") \
            from None
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("  ", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            raise DataMismatch(f"{path}:{n}: not a manifest line (<sha256>  <size>  <path>); "
                               "write it with gitramp data hash DIR --manifest FILE")
        out.append(Entry(parts[2], parts[0], int(parts[1])))
    return sorted(out, key=lambda e: e.path)


def expected(value: str) -> tuple[str, list[Entry] | None]:
    """(hash, manifest or None) of a `--data-hash` value: a hash, or a manifest file."""
    if value.startswith(PREFIX):
        return value, None
    items = read_manifest(value)
    return digest(items), items


def check(folder: str | Path, value: str) -> str:
    """The folder's hash when it is the one `value` (a hash or a manifest file) expects,
    else DataMismatch naming the difference."""
    want, manifest = expected(value)
    found = entries(folder)
    got = digest(found)
    if got == want:
        return got
    head = f"{folder}: the hidden data differs from the expected data ({got}, expected {want})"
    if manifest is None:
        total = sum(e.size for e in found)
        raise DataMismatch(f"{head}; this folder holds {len(found)} file(s), {total} bytes. "
                           "Compare with the organizer's manifest (gitramp data hash DIR "
                           "--manifest FILE, then give --data-hash FILE to see which files)")
    raise DataMismatch(f"{head}: " + describe(manifest, found))


def describe(want: list[Entry], found: list[Entry], most: int = 5) -> str:
    """The files that differ, by kind: missing, added, changed."""
    a = {e.path: e for e in want}
    b = {e.path: e for e in found}
    parts = []
    for label, names in (("missing", sorted(a.keys() - b.keys())),
                         ("unexpected", sorted(b.keys() - a.keys())),
                         ("changed", sorted(p for p in a.keys() & b.keys()
                                            if a[p].sha256 != b[p].sha256))):
        if names:
            more = f" and {len(names) - most} more" if len(names) > most else ""
            parts.append(f"{label} {', '.join(names[:most])}{more}")
    return "; ".join(parts) or "the same files, listed differently"
