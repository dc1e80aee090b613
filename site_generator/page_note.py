"""Which submission pages a rebuild must key again, without keying ten thousand.

A submission page shows its record, its parent's record, name and team, and its
children's names, versions and teams, besides what every page of its challenge shows
(`base`). A build notes each page's record by its entry's key line (record digest,
name and version: the digest covers the record, so its label and its parent's label
too). The next build compares its key lines with that note, as sets of strings. When
records only came, the pages keyed are theirs, their parents' (a child came) and those
of every version whose parent's label is a new record's (their parent may now be it);
the others are kept with the key the manifest holds. A record that changed or went, a
damaged note or another `base`, and every page is keyed, as without a note.

The note is kept in the repository's .git (beside the other caches) under a token that
the output's manifest holds too: a note that is not the one of the manifest's build (a
build stopped between the two) is not used.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from . import kept
from .model import Entry

FILE = "pages.marshal"
VERSION = 2


class PageNote:
    def __init__(self, folder: Path | None):
        self.path = folder / FILE if folder is not None else None
        self.loaded = False  # read when first asked: a build with nothing new reads none
        self.old: dict = {}
        self.new: dict = {}
        self.changed = False

    def _load(self) -> None:
        if not self.loaded:
            self.loaded = True
            data = kept.read(self.path, VERSION) if self.path is not None else {}
            self.old = kept.part(data, "challenges")
            self.new = dict(self.old)  # a challenge kept whole keeps its note

    def token(self, challenge: str) -> str | None:
        """The token the last build noted the challenge's pages under."""
        self._load()
        old = self.old.get(challenge)
        return old.get("token") if isinstance(old, dict) else None

    def to_key(self, challenge: str, base: str, entries: list[Entry],
               manifest_token: str | None) -> list[Entry] | None:
        """The entries whose submission page may differ from the last build's, in their
        order; None when every one may (see the module). Notes `entries` for the next
        build (see `new_token`)."""
        self._load()
        old = self.old.get(challenge)
        lines = [e.key_line for e in entries]
        usable = (isinstance(old, dict) and old.get("base") == base
                  and isinstance(old.get("token"), str) and old["token"] == manifest_token
                  and isinstance(old.get("lines"), list))
        if usable and old["lines"] == lines:
            return []  # nothing shown on a submission page changed: the note stays
        self.new[challenge] = {"base": base, "lines": lines, "token": uuid.uuid4().hex}
        self.changed = True
        if not usable:
            return None
        try:
            before = set(old["lines"])
        except TypeError:  # a damaged note
            return None
        if not before.issubset(lines):
            return None  # a record changed or went: its kin are not noted
        new = [line not in before for line in lines]
        came = [e for e, is_new in zip(entries, new, strict=True) if is_new]
        labels = {e.label for e in came}  # the children of a new record's label show it
        parents = {e.parent_label for e in came if e.parent_label}  # they list it
        return [e for e, is_new in zip(entries, new, strict=True)
                if is_new or e.label in parents or e.parent_label in labels]

    def new_token(self, challenge: str) -> str | None:
        new = self.new.get(challenge)
        return new.get("token") if isinstance(new, dict) else None

    def save(self, challenges: set[str]) -> None:
        """Write the note of the hub's `challenges` (before the manifest that names its
        tokens): a challenge gone from the hub leaves its note behind."""
        self._load()
        if self.path is None or not (self.changed or self.new.keys() - challenges):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            kept.write(self.path, {"version": VERSION, "challenges": {
                name: note for name, note in self.new.items() if name in challenges}})
        except (OSError, ValueError):
            pass  # the next build keys every page
