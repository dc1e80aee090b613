"""Files of the site's build caches, kept in the repository's .git between builds
(parsed records and their summaries, highlighted code, row texts, page frames).

They are marshal files: several times faster to read than JSON, and loading one runs
no code. Each holds a mapping with its format's `version`; a file that is missing,
damaged or of another version reads as empty, which only costs the work it would
have saved. A file may carry a blob of bytes after its mapping (`write(..., blob=)`,
`read_with_blob`): the blob is then used where it lies, not unmarshalled (a copy of
megabytes a file) nor copied again.
"""

from __future__ import annotations

import marshal
import mmap
import os
import weakref
from pathlib import Path

try:
    import resource
except ImportError:  # not a Unix
    resource = None


def read(path: Path, version: int) -> dict:
    """The mapping in the file at `path` when it has this `version`, else {}."""
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return data if isinstance(data, dict) and data.get("version") == version else {}


def part(data: dict, key: str) -> dict:
    """`data[key]` when it is a mapping, else {} (a damaged file costs the work again)."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


HEAD_SIZE = 8  # bytes of a file with a blob giving its mapping's length (little-endian)


def read_with_blob(path: Path, version: int | str) -> tuple[dict, bytes | mmap.mmap, int]:
    """The mapping, the file's bytes and where its blob starts in them, of a file
    written with a blob at `path` when it has this `version`; else ({}, b"", 0). The
    bytes are the file mapped read-only (see `mapped`) or read."""
    try:
        data = mapped(path)
        size = int.from_bytes(data[:HEAD_SIZE], "little")
        start = HEAD_SIZE + size
        head = marshal.loads(memoryview(data)[HEAD_SIZE:start]) \
            if len(data) >= start > HEAD_SIZE else None
    except (OSError, ValueError, EOFError, TypeError):
        head = None
    if isinstance(head, dict) and head.get("version") == version:
        return head, data, start
    return {}, b"", 0


def write(path: Path, data: dict, blob: bytes | None = None) -> None:
    """Write `data` whole: a reader sees the old file or the new one, never a part.
    With `blob`: the mapping's length, the mapping, then `blob` (read_with_blob).
    The file is made under a name of this process's own, so that two builds writing
    the same file at once never write into one that is in place: a file in place, as
    mapped, never changes."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    head = marshal.dumps(data)
    try:
        tmp.write_bytes(head if blob is None else
                        b"".join((len(head).to_bytes(HEAD_SIZE, "little"), head, blob)))
        os.replace(tmp, path)
    except BaseException:  # a write cut short leaves no file behind
        tmp.unlink(missing_ok=True)
        raise


# Mapped files: their pages are read from the system's file cache when first touched,
# where a file read whole is copied into fresh memory first (a big board's row texts
# are forty megabytes, of which a rebuild reads about half). Python holds a file
# descriptor for each map until it is freed, so only so many are mapped at once; the
# other files are read. The files are replaced whole (`write`), never changed in
# place, so a map keeps showing the file as it was when mapped.
_maps: weakref.WeakSet = weakref.WeakSet()


def _maps_at_most() -> int:
    if resource is None:
        return 0
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return 0
    return 1024 if soft == resource.RLIM_INFINITY else min(1024, soft // 4)


MAPS_AT_MOST = _maps_at_most()


def mapped(path: Path) -> bytes | mmap.mmap:
    """The bytes of the file at `path`: mapped read-only while fewer than
    MAPS_AT_MOST maps are alive, else read."""
    with open(path, "rb") as f:
        if len(_maps) < MAPS_AT_MOST:
            try:
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # an empty file, a file system without maps
                return f.read()
            _maps.add(data)
            return data
        return f.read()


def maps_alive() -> int:
    """How many maps `mapped` made are still alive (each holds a descriptor)."""
    return len(_maps)
