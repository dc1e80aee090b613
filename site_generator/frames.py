"""Frames of board pages kept between builds: a page's HTML before and after its rows.

A new result moves every row below it down a rank, and every page's pager tells the
number of rows, so a rebuild rewrites every page of the boards it changes, though little
changed on each. Such a page is its kept frame (title, navigation, search form, pager:
all but the rows, with marks where the number of rows and the number of pages go) around
its rows joined from kept row texts (render.RowTexts): no template is rendered. A frame
is kept by the page's path and a digest of all it shows besides the rows and those two
numbers; the rows are written by the same call the template makes, so the page is byte
for byte the rendered one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from site_generator import kept
from site_generator.render import FrameRows, RowTexts

# (HTML before the rows, RowTexts.rows' arguments, HTML after, the marks of the number
# of rows and of the number of pages)
Frame = tuple[str, tuple, str, str, str]


class Hole(int):
    """A number a frame leaves open (a board's rows, its pages), printed as a mark: every
    page's pager tells it, and the kept frame serves whatever it becomes. It counts as
    its value; printed (in text, or formatted into a link) it is its mark."""

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
    VERSION = 3

    def __init__(self, folder: Path | None, row_texts: RowTexts):
        self.folder = folder
        self.row_texts = row_texts
        # where the rows and their number go while a frame is rendered: marks no page
        # or record holds (the number's is kept with the frame it is in)
        token = secrets.token_hex(8)
        self.marker = f"\0gitramp-rows-{token}\0"
        self.hole = f"\0gitramp-total-{token}\0"
        # the number of pages is also in links, so its mark is what a link keeps unquoted
        self.pages = f"~gitramp-pages-{token}~"
        self.old: dict[str, list] | None = None  # read when a page is first rendered
        self.new: dict[str, list] = {}

    def page(self, path: str, key: str, rows: list, columns: list, total: int, count: int,
             render: Callable[[list, int, int], str]) -> str:
        """The page at `path` holding `rows` of `total`, one of `count` pages:
        `render(rows, total, count)` renders it whole, writing its only board of these
        rows through RowTexts.rows with `columns`. Made from its kept frame when `key`
        (all the page shows besides the rows and the two numbers) is unchanged."""
        frame = self._get(path, key)
        if frame is None:
            pending = FrameRows(rows, self.marker)
            html = render(pending, Hole(total, self.hole), Hole(count, self.pages))
            parts = html.split(self.marker)
            calls = pending.calls
            if len(parts) != 2 or len(calls) != 1 or calls[0][0] is not columns:
                return render(rows, total, count)  # not one board of these rows: whole
            frame = (parts[0], calls[0][1:], parts[1], self.hole, self.pages)
            self.new[path] = [key, *frame]
        head, args, tail, hole, pages = frame
        n, c = str(total), str(count)
        # joined, not added: Markup + str would escape the frame
        return "".join((head.replace(hole, n).replace(pages, c),
                        self.row_texts.rows(rows, columns, *args),
                        tail.replace(hole, n).replace(pages, c)))

    def _get(self, path: str, key: str) -> Frame | None:
        if self.old is None:
            self.old = self._read()
        hit = self.old.get(path)
        if hit is None or hit[0] != key:
            return None
        return hit[1], tuple(hit[2]), hit[3], hit[4], hit[5]

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

