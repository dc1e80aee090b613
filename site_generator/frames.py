"""Frames of board pages kept between builds: a page's HTML before and after its rows.

A new result moves every row below it down a rank, so a rebuild rewrites every page
below it, though little changed on each. Such a page is its kept frame (title,
navigation, search form, pager: all but the rows, with a mark where the number of rows
goes, which the last page's row range ends at) around its rows joined from kept row
texts (render.RowTexts): no template is rendered. A frame is kept by the page's path and
a digest of all it shows besides the rows and that number; the rows are written by the
same call the template makes, so the page is byte for byte the rendered one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from site_generator import kept
from site_generator.render import FrameRows, RowTexts

# (HTML before the rows, RowTexts.rows' arguments, HTML after, the mark of the number
# of rows)
Frame = tuple[str, tuple, str, str]


class Hole(int):
    """A number a frame leaves open (a board's rows), printed as a mark, so that the kept
    frame serves whatever it becomes. It counts as its value; printed (in text, or
    formatted) it is its mark."""

    def __new__(cls, value: int, mark: str):
        hole = super().__new__(cls, value)
        hole.mark = mark
        return hole

    def __html__(self) -> str:
        return self.mark

    def __format__(self, spec: str) -> str:
        return self.mark if not spec else super().__format__(spec)

    def __str__(self) -> str:
        return self.mark


class Frames:
    FILE = "frames.marshal"
    VERSION = 4

    def __init__(self, folder: Path | None, row_texts: RowTexts):
        self.folder = folder
        self.row_texts = row_texts
        # where the rows and their number go while a frame is rendered: marks no page
        # or record holds (the number's is kept with the frame it is in)
        token = secrets.token_hex(8)
        self.marker = f"\0gitramp-rows-{token}\0"
        self.hole = f"\0gitramp-total-{token}\0"
        self.old: dict[str, list] | None = None  # read when a page is first rendered
        self.new: dict[str, list] = {}

    def page(self, path: str, key: str, rows: list, columns: list, total: int,
             render: Callable[[list, int], str]) -> str:
        """The page at `path` holding `rows` of `total`: `render(rows, total)` renders it
        whole, writing its only board of these rows through RowTexts.rows with
        `columns`. Made from its kept frame when `key` (all the page shows besides the
        rows and their number) is unchanged."""
        frame = self._get(path, key)
        if frame is None:
            pending = FrameRows(rows, self.marker)
            html = render(pending, Hole(total, self.hole))
            parts = html.split(self.marker)
            calls = pending.calls
            if len(parts) != 2 or len(calls) != 1 or calls[0][0] is not columns:
                return render(rows, total)  # not one board of these rows: whole
            frame = (parts[0], calls[0][1:], parts[1], self.hole)
            self.new[path] = [key, *frame]
        head, args, tail, hole = frame
        n = str(total)
        # joined, not added: Markup + str would escape the frame
        return "".join((head.replace(hole, n), self.row_texts.rows(rows, columns, *args),
                        tail.replace(hole, n)))

    def _get(self, path: str, key: str) -> Frame | None:
        if self.old is None:
            self.old = self._read()
        hit = self.old.get(path)
        if hit is None or hit[0] != key:
            return None
        return hit[1], tuple(hit[2]), hit[3], hit[4]

    def _read(self) -> dict[str, list]:
        if self.folder is None:
            return {}
        # missing or damaged: the pages are rendered whole
        return kept.part(kept.read(self.folder / self.FILE, self.VERSION), "frames")

    def save(self, pages: set[str]) -> None:
        """Keep the frames of the pages the site still has (`pages`), when some changed."""
        if self.folder is None or not self.new:
            return
        frames = {p: f for p, f in (self.old or {}).items() if p in pages}
        frames.update(self.new)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            kept.write(self.folder / self.FILE, {"version": self.VERSION, "frames": frames})
        except (OSError, ValueError):
            pass  # only costs rendering the pages whole next time
        self.old, self.new = None, {}

