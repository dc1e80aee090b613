"""What a build leaves for the next to read only the records that came since.

A rebuild after one new result used to walk the ledger's ten thousand record files,
look each one up in the record cache and list the revealed private parts again. A
build of a committed ledger now keeps, for each challenge, the git tree of its ledger
folder and a row for each entry it read: where its record (and private part) is, its
digest, its verifications and selection. The next build asks the ledger what the
folder gained since that tree (`challenge.ledger.Ledger.records_added`). When new
records are all it gained, the old entries are made from these rows (their summaries
from the RecordCache, their full records read only if a page needs them) and only the
new records are read; anything else (a record changed or went, an act, a verification,
the state, the record cache's format) and the build reads the whole ledger.

The note is marshal files in the build cache (loading them runs no code): a head, and
the rows in parts of PART_ROWS, so that a new result rewrites the last part only. A
note that is missing, damaged or of another version only costs reading the whole
ledger.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from site_generator import kept

NOTE_DIR = "last-read"  # in the build cache: HEAD, and the parts it lists
HEAD = "head.marshal"
VERSION = 7
PART_ROWS = 1_000  # rows of a part: a new result, the newest, rewrites the last one only

# a row: what an entry was read from and made of (challenge.ledger.CommittedRecord's
# parts; the private part's blob id, or "" when it has none), and what it works out of
# them (model.Entry.derived); model makes and unpacks rows in this order
ROW = ("name", "stem", "digest", "oid", "record_folder", "file_name", "private_oid",
       "verifications", "chosen", "derived")
DERIVED = ROW.index("derived")


class LastRead:
    def __init__(self, folder: Path | None, cache_version: int):
        self.folder = folder / NOTE_DIR if folder is not None else None
        # the record cache's format too: a row names its summary by the cache's key
        self.version = [VERSION, cache_version]
        self.head: dict | None = None  # loaded when first asked
        self.parts: dict[str, list[tuple[str, list]]] = {}  # (file, rows) read, by challenge
        self.now: dict[str, dict] = {}

    def get(self, challenge: str) -> dict | None:
        """The last build's note of `challenge`: {"tree", "revealed", "rows", "skipped"},
        or None (none, damaged, another version)."""
        if self.head is None:
            self.head = (kept.part(kept.read(self.folder / HEAD, self.version), "challenges")
                         if self.folder is not None else {})
        note = self.head.get(challenge)
        if not isinstance(note, dict) or not isinstance(note.get("parts"), list):
            return None
        parts = []
        for name in note["parts"]:
            # a part is a file of the note's folder, as save() names them
            if not (isinstance(name, str) and name.endswith(".marshal") and "/" not in name):
                return None
            rows = kept.read(self.folder / name, self.version).get("rows")
            if not isinstance(rows, list):
                return None
            parts.append((name, rows))
        self.parts[challenge] = parts
        return {**note, "rows": [row for _, rows in parts for row in rows]}

    def keep(self, challenge: str, note: dict | None) -> None:
        """What this build read of `challenge` (None: nothing the next build can use)."""
        if note is not None:
            self.now[challenge] = note

    def save(self) -> None:
        """Write the notes kept: a part whose rows are the very rows read from it is
        not written again."""
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            head = {}
            for challenge, note in self.now.items():
                old = self.parts.get(challenge, [])
                rows, names = note["rows"], []
                for k in range(0, max(1, len(rows)), PART_ROWS):
                    chunk = rows[k:k + PART_ROWS]
                    i = k // PART_ROWS
                    if i < len(old) and len(old[i][1]) == len(chunk) and all(
                            a is b for a, b in zip(old[i][1], chunk, strict=True)):
                        names.append(old[i][0])
                        continue
                    name = f"{secrets.token_hex(8)}.marshal"
                    kept.write(self.folder / name, {"version": self.version, "rows": chunk})
                    names.append(name)
                head[challenge] = {key: value for key, value in note.items()
                                   if key != "rows"} | {"parts": names}
            if head == self.head:
                return
            kept.write(self.folder / HEAD, {"version": self.version, "challenges": head})
            listed = {n for note in head.values() for n in note["parts"]}
            for f in self.folder.iterdir():
                if f.name != HEAD and f.name not in listed:
                    f.unlink(missing_ok=True)
        except (OSError, ValueError):
            # a value marshal cannot hold: no note, so no stale one either
            shutil.rmtree(self.folder, ignore_errors=True)
