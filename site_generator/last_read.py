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

The note is a marshal file in the build cache (loading it runs no code); a note that is
missing, damaged or of another version only costs reading the whole ledger.
"""

from __future__ import annotations

from pathlib import Path

from site_generator import kept

FILE = "last-read.marshal"
VERSION = 2

# a row: what an entry was read from and made of (challenge.ledger.CommittedRecord's
# parts; the private part's blob id, or "" when it has none), and what it works out of
# them (model.Entry.derived)
(NAME, STEM, DIGEST, OID, FOLDER, FILE_NAME, PRIVATE_OID, VERIFICATIONS, CHOSEN,
 DERIVED) = range(10)


class LastRead:
    def __init__(self, folder: Path | None, cache_version: int):
        self.path = folder / FILE if folder is not None else None
        # the record cache's format too: a row names its summary by the cache's key
        self.version = [VERSION, cache_version]
        self.old: dict | None = None  # loaded when first asked
        self.now: dict[str, dict] = {}

    def get(self, challenge: str) -> dict | None:
        """The last build's note of `challenge`: {"tree", "revealed", "rows", "skipped"}."""
        if self.old is None:
            self.old = (kept.part(kept.read(self.path, self.version), "challenges")
                        if self.path is not None else {})
        note = self.old.get(challenge)
        return note if isinstance(note, dict) and isinstance(note.get("rows"), list) else None

    def keep(self, challenge: str, note: dict | None) -> None:
        """What this build read of `challenge` (None: nothing the next build can use)."""
        if note is not None:
            self.now[challenge] = note

    def save(self) -> None:
        if self.path is None:
            return
        if self.old is not None and self.now.keys() == self.old.keys() and all(
                self.old[c].get("tree") == n["tree"] and self.old[c] is n
                for c, n in self.now.items()):
            return  # the same note
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            kept.write(self.path, {"version": self.version, "challenges": self.now})
        except (OSError, ValueError):
            try:  # a value marshal cannot hold: no note, so no stale one either
                self.path.unlink(missing_ok=True)
            except OSError:
                pass
