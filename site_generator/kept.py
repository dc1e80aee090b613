"""Files of the site's build caches, kept in the repository's .git between builds
(parsed records and their summaries, highlighted code, row texts, page frames).

They are marshal files: several times faster to read than JSON, and loading one runs
no code. Each holds a mapping with its format's `version`; a file that is missing,
damaged or of another version reads as empty, which only costs the work it would
have saved. A file may carry a blob of bytes after its mapping (`write(..., blob=)`,
`read_with_blob`): the blob is then used as read, not unmarshalled (a copy of
megabytes a file) nor copied again.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path


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


def read_with_blob(path: Path, version: int | str) -> tuple[dict, bytes, int]:
    """The mapping, the file's bytes and where its blob starts in them, of a file
    written with a blob at `path` when it has this `version`; else ({}, b"", 0)."""
    try:
        data = path.read_bytes()
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
    With `blob`: the mapping's length, the mapping, then `blob` (read_with_blob)."""
    tmp = path.with_name(path.name + ".tmp")
    head = marshal.dumps(data)
    tmp.write_bytes(head if blob is None else
                    b"".join((len(head).to_bytes(HEAD_SIZE, "little"), head, blob)))
    os.replace(tmp, path)
