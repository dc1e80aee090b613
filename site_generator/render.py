"""The Jinja2 environment, its filters, and the kit README rendered as safe Markdown."""

from __future__ import annotations

import functools
import hashlib
import math
import mmap
import shutil
import zlib
from datetime import datetime
from importlib import resources
from itertools import accumulate, repeat
from pathlib import Path
from urllib.parse import quote

import jinja2
import jinja2.bccache
from markupsafe import Markup, escape

from site_generator import kept


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("site_generator", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # the templates are this package's files, which no build changes; Jinja's
        # check stats a template and those it extends and imports for each page it
        # renders (sixty thousand calls in a full build of 10,000 submissions)
        auto_reload=False,
    )
    env.filters.update(num=num, pm=plus_minus, secs=seconds, when=when, url=url,
                       change=change)
    env.globals["row_text"] = RowTexts()
    env.globals["fold_table"] = fold_table
    return env


class TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs in `folder` (the repository's .git), so a
    `gitramp site` run does not compile them again: 0.07 s for the templates a rebuild
    after one new result renders, 0.2 s for all. Jinja checks each against its
    template's source; a file that cannot be read or written only costs compiling
    again."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        super().__init__(str(folder))

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # unpickling and unmarshalling a damaged file fail in many ways
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


# the libraries whose output is in the pages: a new version may write it otherwise
SHAPING_LIBRARIES = ("jinja2", "markupsafe", "pygments", "markdown-it-py")


def library_versions(names: tuple[str, ...] = SHAPING_LIBRARIES) -> str:
    """The installed versions of `names`, as one line."""
    from importlib import metadata
    out = []
    for name in names:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} not installed")
    return ", ".join(out)


def source_digest(*modules: str) -> str:
    """A short digest of the generator's `modules` (file names in site_generator): the
    version of what a kept cache holds when those modules make it."""
    folder = Path(__file__).parent
    return hashlib.sha1(b"".join((folder / m).read_bytes() for m in modules)).hexdigest()[:12]


@functools.cache
def generator_fingerprint() -> str:
    """Changes when any template, asset or module of the generator, or a library that
    writes part of the pages, changes, so kept pages are made again (a newer generator
    may render the same inputs otherwise)."""
    h = hashlib.sha1(library_versions().encode())
    root = resources.files("site_generator")
    items = sorted((i for i in root.iterdir() if i.name.endswith(".py")),
                   key=lambda p: p.name)
    for folder in ("templates", "static"):
        items += sorted(root.joinpath(folder).iterdir(), key=lambda p: p.name)
    for item in items:
        if item.is_file():
            h.update(item.name.encode() + b"\0" + item.read_bytes())
    return h.hexdigest()


def num(value: float | None, precision: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{precision}f}"


def plus_minus(cell, precision: int = 3) -> Markup:
    """`mean ± std` of a ranking Cell."""
    if cell is None or cell.mean is None:
        return Markup("–")
    return Markup(f"{num(cell.mean, precision)}&nbsp;±&nbsp;{num(cell.std or 0.0, precision)}")


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def when(iso: str | None) -> Markup:
    """An ISO time as a <time> element readable by people and machines."""
    if not iso:
        return Markup("–")
    try:
        t = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return escape(iso)
    shown = t.strftime("%Y-%m-%d %H:%M") + (" UTC" if t.utcoffset() is not None else "")
    return Markup(f'<time datetime="{escape(iso)}">{escape(shown)}</time>')


@functools.lru_cache(maxsize=1 << 16)
def url(path: str) -> str:
    """Quote a relative path for an href, keeping its slashes."""
    return quote(path, safe="/#.-_~")


@functools.lru_cache(maxsize=1 << 12)
def change(value: int | None) -> Markup:
    if value is None:
        return Markup("–")
    if value > 0:
        return Markup(f'<span class="up">▲&nbsp;{value}<span class="vh"> places up</span></span>')
    if value < 0:
        return Markup(f'<span class="down">▼&nbsp;{-value}<span class="vh"> places down'
                      f"</span></span>")
    return Markup('<span class="same">=<span class="vh"> no change</span></span>')


# ------------------------------------------------------------------------------ markdown
@functools.cache
def _markdown():
    # imported here: a rebuild that renders no README (most) does not pay for it
    from markdown_it import MarkdownIt

    # "html": False escapes any raw HTML of a README; links go through markdown-it's
    # validation (no javascript: URLs).
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.enable("strikethrough")
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    md.add_render_rule("heading_open", _heading)
    md.add_render_rule("heading_close", _heading)
    md.add_render_rule("th_open", _th_open)
    return md


def markdown(text: str) -> Markup:
    return Markup(_markdown().render(text))


def _is_external(href: str) -> bool:
    return href.startswith(("http://", "https://", "mailto:"))


def _link_open(self, tokens, idx, options, env):
    """Links to other sites stay; links to the kit's own files (not on the site) become
    plain text, so the site has no broken link."""
    href = tokens[idx].attrGet("href") or ""
    if _is_external(href) or href.startswith("#"):
        if _is_external(href):
            tokens[idx].attrSet("rel", "noopener noreferrer")
        return self.renderToken(tokens, idx, options, env)
    tokens[idx].meta["dropped"] = True
    for close in tokens[idx + 1:]:
        if close.type == "link_close":
            close.meta["dropped"] = True
            break
    return ""


def _link_close(self, tokens, idx, options, env):
    return "" if tokens[idx].meta.get("dropped") else self.renderToken(tokens, idx, options, env)


def _heading(self, tokens, idx, options, env):
    """A README's headings sit under the page's own h1 and h2: shift them down two."""
    level = min(6, int(tokens[idx].tag[1]) + 2)
    tokens[idx].tag = f"h{level}"
    return self.renderToken(tokens, idx, options, env)


def _th_open(self, tokens, idx, options, env):
    tokens[idx].attrSet("scope", "col")  # a README's table headers are column headers
    return self.renderToken(tokens, idx, options, env)


def _image(self, tokens, idx, options, env):
    """No image is fetched from anywhere: its alt text is shown instead."""
    alt = self.renderInlineAsText(tokens[idx].children or [], options, env)
    return f'<span class="img-alt">[image: {escape(alt)}]</span>'


# --------------------------------------------------------------------- submission scores
SPLIT_NAMES = {"train": "Train", "valid": "Validation", "test": "Private test"}


def fold_table(result, splits: list[str], columns, summary: dict) -> Markup:
    """The scores of one submission per CV fold (and their mean ± std, and the bagged
    score), written here rather than in the template: a page has dozens of cells and a
    site has one page per submission."""
    n = len(columns)
    out = ['<div class="scroll" tabindex="0" role="region" aria-label="Scores per fold">\n'
           '<table class="folds">\n<caption>Scores per CV fold',
           ", with the revealed private test scores" if "test" in splits else "",
           '</caption>\n<thead>\n<tr><th scope="col" rowspan="2">Fold</th>\n']
    out += [f'<th scope="colgroup" colspan="{n}">{SPLIT_NAMES[s]}</th>' for s in splits]
    out.append('\n<th scope="col" rowspan="2" class="num">Train time</th><th scope="col" '
               'rowspan="2" class="num">Test time</th></tr>\n<tr>')
    heads = "".join(f'<th scope="col" class="num">{escape(c.name)}</th>' for c in columns)
    out += [heads] * len(splits)
    out.append("</tr>\n</thead>\n<tbody>\n")
    for i, f in enumerate(result.folds):
        out.append(f'<tr><th scope="row">{i}</th>\n')
        for s in splits:
            values = f.scores.get(s, {})
            out += [f'<td class="num">{num(values.get(c.name), c.precision)}</td>'
                    for c in columns]
        out.append(f'\n<td class="num">{seconds(f.fit_time)}</td><td class="num">'
                   f'{seconds(f.predict_time)}</td></tr>\n')
    out.append('</tbody>\n<tfoot>\n<tr><th scope="row">mean ± std</th>\n')
    for s in splits:
        out += [f'<td class="num">{plus_minus(summary[s].get(c.name), c.precision)}</td>'
                for c in columns]
    out.append(f'\n<td class="num">{seconds(result.fit_time)}</td><td class="num">'
               f'{seconds(result.predict_time)}</td></tr>\n<tr><th scope="row">bagged</th>\n')
    for s in splits:
        values = result.bagged.get(s, {})
        out += [f'<td class="num">{num(values.get(c.name), c.precision)}</td>'
                for c in columns]
    out.append("\n<td></td><td></td></tr>\n</tfoot>\n</table>\n</div>\n")
    return Markup("".join(out))


# ------------------------------------------------------------------------------ board rows
class RowTexts:
    """The cells of a board row, formatted once per entry and split however many boards
    show it; big boards spend most of their time formatting and escaping cells.

    One instance serves a whole build: Jinja caches imported macro modules with the
    globals they first saw, so this object is never replaced, only cleared."""

    def __init__(self):
        self.page = self.team_page = None
        self.memo: dict[int, dict] = {}
        self.kept = KeptTexts(None)
        self._salts: dict[int, tuple] = {}

    def configure(self, page, team_page, folder: Path | None = None) -> None:
        """`folder`: where row texts are kept between builds (None: not kept)."""
        self.page, self.team_page = page, team_page
        self.kept = KeptTexts(folder)

    def clear(self) -> None:
        self.memo.clear()
        self._salts.clear()

    def save(self, live: set[str]) -> None:
        self.kept.save(live)

    def _salt(self, columns) -> str:
        hit = self._salts.get(id(columns))
        if hit is None or hit[0] is not columns:
            hit = self._salts[id(columns)] = (columns, "|".join(
                f"{c.name}:{c.precision}" for c in columns))
        return hit[1]

    def __call__(self, row, columns) -> dict:
        key = id(row.cells)
        hit = self.memo.get(key)
        if hit is None or hit["_entry"] is not row.entry or hit["_columns"] is not columns:
            hit = self.memo[key] = self._format(row, columns)
        return hit

    def _format(self, row, columns) -> dict:
        e, r = row.entry, row.entry.result
        cells = []
        for c in columns:
            cell = row.cells[c.name]
            cells.append((_sort(cell.bagged), num(cell.bagged, c.precision),
                          _sort(cell.mean), plus_minus(cell, c.precision)))
        contrib = r.contributivity
        contrib_text = (Markup(f"{num(contrib.get('blend'), 1)}&nbsp;% / "
                               f"{num(contrib.get('historical'), 1)}&nbsp;%")
                        if contrib else Markup("–"))
        fit, pred = r.fit_time, r.predict_time
        return {"_entry": e, "_columns": columns, "_tail": None, "_contrib": None,
                "href": url(self.page(e)),
                "team_href": url(self.team_page(e.team)),
                "cells": cells, "contrib": (_sort(contrib.get("blend")), contrib_text),
                "fit": (_sort(fit), seconds(fit)), "pred": (_sort(pred), seconds(pred)),
                "submitted": (e.submitted_at, when(e.submitted_at))}


    def rows(self, rows, columns, croot: str, private: bool, team_column: bool,
             contributivity: bool) -> Markup:
        """The <tr> elements of a board, written here: a board page has a hundred rows
        of a dozen cells, and a site thousands of such pages. The cells after the team
        are the same on every board showing the entry, so they are made once."""
        if isinstance(rows, FrameRows):  # a page's frame is rendered: the rows come later
            rows.calls.append((columns, croot, private, team_column, contributivity))
            return Markup(rows.marker)
        out = []
        # the links and cells after the rank depend on the record (its key line: digest,
        # name and version), the split, the columns and the page's place only: kept
        # between builds, a rebuild formats new records only
        same = f"{contributivity}\0{self._salt(columns)}\0{croot}\0{team_column}"
        texts, team = None, None  # where the rows' texts are kept (a team page: by team)
        held = None
        ranks = self._ranks
        for row in rows:
            e = row.item
            if texts is None or (not team_column and e.team != team):
                texts, team = self._kind(row.split, team_column, e.team, same), e.team
                held = texts.lookup()
            kept_key = e.key_line
            tail = held(kept_key)
            if tail is not None:
                out.append(ranks(row, private) + tail)
                continue
            t = self(row, columns)
            tail = t.get("_tail")
            if tail is None or t["_contrib"] is not contributivity:
                parts = []
                for b_sort, b_text, m_sort, m_text in t["cells"]:
                    parts.append(f'<td class="num{" opt" if parts else ""}" '
                                 f'data-sort="{b_sort}">{b_text}</td>\n'
                                 f'<td class="num opt" data-sort="{m_sort}">{m_text}</td>\n')
                if contributivity:
                    parts.append(f'<td class="num opt" data-sort="{t["contrib"][0]}">'
                                 f'{t["contrib"][1]}</td>\n')
                parts.append(f'<td class="num opt" data-sort="{t["fit"][0]}">{t["fit"][1]}</td>\n'
                             f'<td class="num opt" data-sort="{t["pred"][0]}">{t["pred"][1]}</td>\n'
                             f'<td class="opt" data-sort="{escape(t["submitted"][0])}">'
                             f'{t["submitted"][1]}</td>\n</tr>\n')
                tail = t["_tail"] = "".join(parts)
                t["_contrib"] = contributivity
            tail = self._links(row, croot, team_column, t["team_href"], t["href"]) + tail
            texts.put(kept_key, tail)
            out.append(ranks(row, private) + tail)
        return Markup("".join(out))

    def _kind(self, split: str, team_column: bool, team: str, context: str) -> KindTexts:
        """Where the texts of a board's rows are kept: a board's (a team column: any
        team's rows) by split; a team page's by split and a group of teams, so that
        the one team page a new result changes reads its group's texts only."""
        if team_column:
            return self.kept.kind(f"row-{split}", context=context)
        group = zlib.crc32(team.encode()) % TEAM_GROUPS
        return self.kept.kind(f"team-{split}-{group:02d}", buckets=1, context=context)

    @staticmethod
    def _ranks(row, private: bool) -> str:
        """A row's rank (and on a private board its public rank and change): what
        differs from board to board and from build to build."""
        if not private:
            return f'<tr>\n<td class="num">{row.rank}</td>\n'
        pub = row.public_rank if row.public_rank is not None else "–"
        ch = row.change
        return (f'<tr>\n<td class="num">{row.rank}</td>\n<td class="num opt">{pub}</td>\n'
                f'<td class="num opt" data-sort="{"" if ch is None else ch}">{change(ch)}'
                '</td>\n')

    @staticmethod
    def _links(row, croot: str, team_column: bool, team_href: str, href: str) -> str:
        """A row's team and submission cells."""
        e = row.entry
        head = ""
        if team_column:
            head = (f'<td><a href="{escape(croot)}{escape(team_href)}">'
                    f'{escape(e.team)}</a></td>\n')
        return (f'{head}<td><a href="{escape(croot)}{escape(href)}">'
                f'{escape(e.name)}</a></td>\n')


class FrameRows(list):
    """A board's rows standing in for themselves while the frame of a page is rendered
    (site_generator.frames): `RowTexts.rows` writes `marker` where they go and notes
    how it was called. It holds the rows, so the template sees what it would see."""

    def __init__(self, rows, marker: str):
        super().__init__(rows)
        self.marker = marker
        self.calls: list[tuple] = []


TEAM_GROUPS = 32  # team pages' row texts are kept in this many groups of teams


class KeptTexts:
    """Texts kept between builds in a folder (the repository's .git), by the key line of
    the record they show (Entry.key_line: digest, name and version). Each kind of text
    (a board's rows on one split, a group of teams' team-page rows, the JSON and CSV
    rows, the search index's rows) has its own files, which also hold the kind's
    `context`: all else the texts depend on (columns, links' root...; the search rows,
    which build.py formats, name the generator's fingerprint there). A file of another
    context reads as empty and is written over. The files of a kind are loaded when a
    text of that kind is first asked for: the one team page a new result changes reads
    its group's texts only. A build keeps the texts of the records still in the
    ledger, and rewrites a file only when it gained one (dropping there the texts of
    records gone).
    The code that formats them (this module and export.py) is their version and names
    their folder: a changed formatter starts afresh, and its first save removes what
    the old one kept."""

    BUCKETS = 16  # of a kind: a new record's one text of each kind rewrites one of each
    VERSION = source_digest("render.py", "export.py")  # board rows, data rows

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.here = folder / self.VERSION if folder is not None else None
        self.kinds: dict[tuple[str, str], KindTexts] = {}  # by (name, context)

    def kind(self, name: str, buckets: int = BUCKETS, context: str = "") -> KindTexts:
        """The texts of kind `name` (a file-name-safe word) made in `context`, in
        `buckets` files. A kind asked for in two contexts in one build keeps the last
        one's texts of each file it writes (right, if slower)."""
        hit = self.kinds.get((name, context))
        if hit is None:
            hit = self.kinds[name, context] = KindTexts(self.here, name, buckets,
                                                        self.VERSION, context)
        return hit

    def save(self, live: set[str]) -> None:
        """Write the buckets that changed. A text is kept while its record is `live`
        (its key line one of the ledger's: a rebuild renders few pages, and the other
        texts serve the next one)."""
        try:
            if any([texts.save(live) for texts in self.kinds.values()]):
                for old in self.folder.iterdir():  # another formatter's
                    if old.name == self.VERSION:
                        continue
                    if old.is_dir():
                        shutil.rmtree(old)
                    else:
                        old.unlink()
        except (OSError, ValueError):
            pass  # only costs formatting again
        self.kinds = {}


class KindTexts:
    """The kept texts of one kind (see KeptTexts): `<kind>-<bucket>.texts` files, each
    holding its texts' keys and their lengths, then the texts end to end as one UTF-8
    blob (kept.write's `blob`). A kind loads as a few objects, not a string a text (a
    board's row texts are 9 MB at 10,000 submissions, of which a rebuild reads a few
    thousand), and a text is cut from the file's bytes (mapped: kept.mapped) when
    asked for."""

    def __init__(self, folder: Path | None, kind: str, buckets: int, version: str,
                 context: str = ""):
        self.folder, self.name, self.buckets, self.version = folder, kind, buckets, version
        self.context = context
        self._forget()

    def _forget(self) -> None:
        """Hold nothing of the files: they are loaded again when a text is asked for."""
        self.old: dict[str, int] | None = None  # key -> its text's number; loaded when asked
        # text i is blobs[i][starts[i]:ends[i]]: each file's bytes where they lie
        # (kept.mapped; joined or unmarshalled, ten megabytes a kind were copied again)
        self.blobs: list[bytes | mmap.mmap] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.old_buckets: dict[int, list[str]] = {}  # each file's keys
        self.new: dict[str, str] = {}  # made in this build (they are not in old)
        self.dirty: set[int] = set()

    def _file(self, b: int) -> Path:
        return self.folder / f"{self.name}-{b:02d}.texts"

    def _load(self) -> None:
        self.old = {}
        n = 0
        if self.folder is not None and self.folder.is_dir():
            for b in range(self.buckets):  # missing, damaged or another context's: made again
                keys, lens, blob, start = _texts_file(
                    *kept.read_with_blob(self._file(b), self.version), self.context)
                try:
                    places = dict(zip(keys, range(n, n + len(keys)), strict=True))
                except TypeError:  # a damaged file's key that no mapping can hold
                    keys, lens, blob, places = [], [], b"", {}
                self.old.update(places)
                n += len(keys)
                self.old_buckets[b] = keys
                offsets = list(accumulate(lens, initial=start))
                self.starts += offsets[:-1]
                self.ends += offsets[1:]
                self.blobs += repeat(blob, len(keys))

    def _bucket(self, key: str) -> int:
        return zlib.crc32(key.encode()) % self.buckets

    def get(self, key: str) -> str | None:
        return self.lookup()(key)

    def lookup(self):
        """`get` for loops over ten thousand rows (the kind loaded once)."""
        if self.folder is None:
            return {}.get  # finds nothing
        if self.old is None:
            self._load()
        index, blobs, starts, ends, new = self.old, self.blobs, self.starts, self.ends, self.new

        def get(key: str) -> str | None:
            i = index.get(key)
            if i is None:
                return new.get(key)
            try:
                return blobs[i][starts[i]:ends[i]].decode()
            except UnicodeDecodeError:  # a damaged file: the text is made again
                return None
        return get

    def put(self, key: str, text: str) -> None:
        if self.folder is not None:
            self.new[key] = text
            self.dirty.add(self._bucket(key))
            if self.old is not None:  # what `lookup` gave reads the new text
                self.old.pop(key, None)

    def save(self, live: set[str]) -> bool:
        """Write the files that gained a text; whether there were any."""
        if self.folder is None or not self.dirty:
            return False
        buckets = self._to_write(live)
        # the files read (maps, see kept.mapped) are let go before they are written
        # over; what is asked for afterwards is read from the files written
        self._forget()
        self.folder.mkdir(parents=True, exist_ok=True)
        for b, texts in buckets.items():
            kept.write(self._file(b), {
                "version": self.version, "context": self.context,
                "keys": [k for k, _ in texts], "lengths": [len(t) for _, t in texts]},
                blob=b"".join(t for _, t in texts))
        return True

    def _to_write(self, live: set[str]) -> dict[int, list[tuple[str, bytes]]]:
        """The texts of each file that gained one: the new ones and those it holds of
        `live` records. The texts of records gone are dropped from the files written
        anyway (the others keep theirs until a build writes them: no file is written
        for that)."""
        if self.old is None:  # put without a get: the files written keep what they held
            self._load()
        index, blobs, starts, ends, new = self.old, self.blobs, self.starts, self.ends, self.new
        buckets: dict[int, list[tuple[str, bytes]]] = {b: [] for b in self.dirty}
        for b in self.dirty:
            held = buckets[b]
            for key in self.old_buckets.get(b, ()):
                i = index.get(key)
                if i is not None and key in live and key not in new:
                    held.append((key, blobs[i][starts[i]:ends[i]]))
        for key, text in new.items():
            buckets[self._bucket(key)].append((key, text.encode()))
        return buckets


def _texts_file(head: dict, data: bytes, start: int,
                context: str) -> tuple[list[str], list[int], bytes, int]:
    """A texts file's keys, lengths, bytes and where its texts start in them (see
    kept.read_with_blob), or nothing when it is of another context or does not hold
    together."""
    keys, lens = head.get("keys"), head.get("lengths")
    try:
        # a float among the lengths makes their sum a float: a slice would not take it
        if (head.get("context") == context and type(keys) is list and type(lens) is list
                and len(keys) == len(lens) and type(total := sum(lens)) is int
                and total == len(data) - start and min(lens, default=0) >= 0):
            return keys, lens, data, start
    except TypeError:  # a length that is no number
        pass
    return [], [], b"", 0


def _sort(value) -> str:
    return "" if value is None else repr(value)
