"""Files of the site's build caches, kept in the repository's .git between builds
(parsed records and their summaries, highlighted code, row texts, page frames).

They are marshal files: several times faster to read than JSON, and loading one runs
no code. Each holds a mapping with its format's `version`; a file that is missing,
damaged or of another version reads as empty, which only costs the work it would
have saved.
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


def write(path: Path, data: dict) -> None:
    """Write `data` whole: a reader sees the old file or the new one, never a part."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(marshal.dumps(data))
    os.replace(tmp, path)
