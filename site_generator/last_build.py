"""What a build leaves for the next to find that nothing changed, without reading records.

A build of a committed ledger keeps (in the repository's .git, beside the other caches)
the key of all the site is made of but the time, with each challenge's records named by
its ledger folder's git tree, which fixes every record, act and state read from it; each
challenge folder's inputs key, as the output's manifest holds it; what status.js says of
each challenge; and the records left out. The next build reads the kits and the trees
only: with the same key and every file of the last build in place (the manifest says
which), the site is the same but for the build time, and only status.js and status.html
are written. A site job run after a merge or a scoring run that recorded nothing then
costs no reading nor ranking of records (seconds at 100,000).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FILE = "last-build.json"
VERSION = 1


class LastBuild:
    def __init__(self, folder: Path | None):
        self.path = folder / FILE if folder is not None else None

    def load(self) -> dict | None:
        """The last build's note, or None (none, damaged, another version: the next
        build then reads the records, which costs only time)."""
        if self.path is None:
            return None
        try:
            data = json.loads(self.path.read_text())
            if data.get("version") != VERSION:
                return None
            if not (isinstance(data["key"], str) and isinstance(data["submissions"], int)
                    and _all(data["folders"], _text) and _all(data["status"], _told)
                    and isinstance(data["skipped"], list)
                    and all(isinstance(line, str) for line in data["skipped"])):
                return None
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            return None
        return data

    def save(self, note: dict) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            part = self.path.with_suffix(".part")
            part.write_text(json.dumps({"version": VERSION, **note}))
            os.replace(part, self.path)  # never half a note
        except OSError:
            pass  # the next build reads the records


def _all(mapping, test) -> bool:
    """Whether `mapping` is a dict of texts to values that pass `test`."""
    return isinstance(mapping, dict) and all(isinstance(k, str) and test(v)
                                             for k, v in mapping.items())


def _text(v) -> bool:
    return isinstance(v, str)


def _count(v) -> bool:
    return isinstance(v, int)


def _told(c) -> bool:
    """What status.js says of a challenge, as the builder's status() gives it."""
    return (isinstance(c, dict) and all(isinstance(c.get(k), str)
                                        for k in ("title", "phase", "key"))
            and _all(c.get("rows"), _count)
            and {"public_rows", "teams", "failed"} <= set(c["rows"]))
