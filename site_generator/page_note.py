"""Which submission pages a rebuild must key again, without keying ten thousand.

A submission page shows its record (its digest), its parent's record, name and team,
and its children's names, versions and teams, besides what every page of its challenge
shows (`base`). A build notes, for each page, its record's digest, its version label
and its parent's label. The next build compares its entries with that note: only the
pages of records that came, went or changed, of their parents (a child came or went)
and of every version bearing a changed label (a parent changed) are keyed and perhaps
rendered; the others are kept with the key the manifest holds. Another `base`, or no
note, and every page is keyed as before.

The note is kept in the repository's .git (beside the other caches) under a token that
the output's manifest holds too: a note that is not the one of the manifest's build (a
build stopped between the two) is not used.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from . import kept

FILE = "pages.marshal"
VERSION = 1

# a page's note: (record digest, version label, parent's label or "")
Noted = tuple[str, str, str]


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

    def to_key(self, challenge: str, base: str, pages: dict[str, Noted],
               manifest_token: str | None) -> set[str] | None:
        """The pages (of `pages`: this build's notes by path) that may differ from the
        last build's; None when every one may (another base, no note or another note
        than the manifest's). Notes `pages` for the next build (see `new_token`)."""
        self._load()
        old = self.old.get(challenge)
        usable = (isinstance(old, dict) and old.get("base") == base
                  and isinstance(old.get("token"), str) and old["token"] == manifest_token
                  and isinstance(old.get("pages"), dict))
        if usable and old["pages"] == pages:
            return set()  # nothing shown on a submission page changed: the note stays
        self.new[challenge] = {"base": base, "pages": pages, "token": uuid.uuid4().hex}
        self.changed = True
        if not usable:
            return None
        before: dict = old["pages"]
        came = {p for p, note in pages.items() if before.get(p) != note}
        went = [before[p] for p in before.keys() - pages.keys()]
        moved = [pages[p] for p in came] + [before[p] for p in came if p in before] + went
        if not all(isinstance(n, tuple | list) and len(n) == 3 for n in moved):
            return None  # a damaged note: key every page
        labels = {n[1] for n in moved}  # their children show them
        parents = {n[2] for n in moved if n[2]}  # their pages list their children
        return came | {p for p, (_, label, parent) in pages.items()
                       if parent in labels or label in parents}

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
