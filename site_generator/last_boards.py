"""Each board's order as the last build ranked it, so that a rebuild ranks only what came.

Ranking a board sorts every ranked entry by its key (value, submission time, name,
version): at 10,000 submissions, with the private board, about a tenth of a rebuild
after one new result. When a challenge's entries are the last build's (read through its
note, last_read) and the records added since (model.Since), the last build's order of
each board still holds for its entries: a record's key is its content's, and anything
else that changes a rank (an act, the state) makes the ledger be read whole. So a build
keeps, for each challenge and board, the positions of the board's entries in its entry
list (the note's order) and their values, with the ledger tree they were read from and
what ranking means there (`context`: the score, its direction, the acts). The next
build gets them back as its own entries and places only the new ones
(`challenge.ranking.extend_board`, which hands back `board`'s order or nothing).

A marshal file in the build cache; missing, damaged or of another build, it costs a
ranking of every entry, nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from site_generator import kept

FILE = "boards.marshal"
VERSION = 1


class LastBoards:
    def __init__(self, folder: Path | None):
        self.path = folder / FILE if folder is not None else None
        self.old: dict | None = None  # loaded when first asked
        self.now: dict[str, dict] = {}

    def placed(self, challenge: str, since: Any, board: str, context: str
               ) -> list[tuple[Any, float]] | None:
        """The last build's `board` of `challenge` as (entry, value) in its order, each
        entry this build's (of `since.before`, model.Since); None when there is none
        for these entries and this `context`."""
        if since is None or self.path is None:
            return None
        if self.old is None:
            self.old = kept.part(kept.read(self.path, VERSION), "challenges")
        saved = self.old.get(challenge)
        before = since.before
        if not (isinstance(saved, dict) and saved.get("tree") == since.tree
                and saved.get("entries") == len(before)):
            return None
        order = kept.part(saved, "boards").get(board)
        if not (isinstance(order, list) and len(order) == 3 and order[0] == context
                and isinstance(order[1], list) and isinstance(order[2], list)
                and len(order[1]) == len(order[2])):
            return None
        positions, values = order[1], order[2]
        # what a damaged file could hold: positions not counts, out of range or twice
        if positions and (not all(type(i) is int for i in positions)
                          or min(positions) < 0 or max(positions) >= len(before)
                          or len(set(positions)) != len(positions)
                          or not all(type(v) is float for v in values)):
            return None
        return list(zip(map(before.__getitem__, positions), values, strict=True))

    def keep(self, challenge: str, tree: str, entries: list, boards: dict[str, tuple]) -> None:
        """This build's boards of `challenge` ({board: (context, rows)}, each row's
        `entry` one of `entries`), read from the ledger `tree`."""
        if not tree:  # a folder ledger: no note, so no order either
            return
        at = {id(e): i for i, e in enumerate(entries)}
        self.now[challenge] = {
            "tree": tree, "entries": len(entries),
            "boards": {name: [context, [at[id(r.entry)] for r in rows],
                              [float(r.value) for r in rows]]
                       for name, (context, rows) in boards.items()}}

    def save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            kept.write(self.path, {"version": VERSION, "challenges": self.now})
        except (OSError, ValueError):
            pass  # the file left names an older tree (or holds this order): no harm
