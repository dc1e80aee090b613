"""Builds the static site: model -> boards -> pages, plots and data files.

Layout of the output (every link relative, so it works from file://, a sub-path or
any static server):

    index.html                         the repository's challenges
    assets/                            CSS, the table-sorting script, code colours
    <challenge>/index.html             problem, team leaderboard, plots
    <challenge>/submissions.html       every scored submission
    <challenge>/private.html           the private team board (only once revealed)
    <challenge>/private-submissions.html  every scored submission on the private test set
    <challenge>/failed.html, teams.html, team/<team>.html, lineage.html
                                       (boards, teams and team pages in pages of
                                       page_rows rows: submissions-2.html, teams-2.html,
                                       team/<team>~2.html...)
    <challenge>/s/<name>~<version>.html one page per submission version (one folder for
                                       all: a folder per submission made a large site's
                                       build grow faster than linearly)
    <challenge>/leaderboard.json, leaderboard.csv, *.svg
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from json.encoder import encode_basestring_ascii
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from site_generator import code as codemod
from site_generator import kept, plots
from site_generator.boards import (
    PRIVATE,
    PUBLIC,
    Cell,
    Row,
    best_over_time,
    by_time,
    overall_best_over_time,
    private_board,
    private_team_board,
    rank,
    team_best,
)
from site_generator.export import leaderboard_csv, leaderboard_json, leaderboard_part
from site_generator.frames import Frames
from site_generator.last_boards import LastBoards
from site_generator.last_build import LastBuild
from site_generator.last_read import LastRead
from site_generator.model import (
    SUBMISSION_PAGES,
    SUBMISSION_PAGES_PREFIX,
    Challenge,
    Entry,
    Progress,
    RecordCache,
    Repository,
    read_records,
    read_repository,
    record_bucket,
    slug,
)
from site_generator.output import Output
from site_generator.render import (
    SPLIT_NAMES,
    TemplateCache,
    environment,
    generator_fingerprint,
    markdown,
)

ASSETS = "assets"
CACHE_DIR = "gitramp-site-cache"  # in the repository's .git folder
README_FILE = "readme.marshal"  # in CACHE_DIR: READMEs rendered, by their text
PAGE = attrgetter("page")  # an entry's submission page: s/<file> (model.submission_page)
PAGE_FILE = itemgetter(slice(len(SUBMISSION_PAGES_PREFIX), None))  # <file> of s/<file>
KEPT_READMES = 32
LEGACY_PAGE_NOTE = "pages.marshal"  # in CACHE_DIR, from earlier versions: removed


@dataclass
class BuildSummary:
    out_dir: Path
    challenges: list[str]
    submissions: int  # ledger records read
    pages_rendered: int  # submission pages rendered in this build
    pages_kept: int  # submission pages whose inputs had not changed
    files_written: int
    files_unchanged: int
    files_removed: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)  # read, pages (submission), ...
    skipped: list[str] = field(default_factory=list)  # "<file>: <why>" of records left out

    def __str__(self) -> str:
        return (f"site: {len(self.challenges)} challenge(s), {self.submissions} submission(s) "
                f"-> {self.out_dir}/index.html in {self.seconds:.2f} s "
                f"({self.pages_rendered} submission page(s) rendered, {self.pages_kept} kept; "
                f"{self.files_written} file(s) written, {self.files_unchanged} unchanged, "
                f"{self.files_removed} removed)")


PAGE_ROWS = 100  # rows of a board page: a 100,000-submission board is 1,000 small pages
PART_ROWS = 2_000  # rows of one part of a big data file (leaderboard.json, search index)
CSV_PART_ROWS = 10_000
FAMILIES = 10  # lineage families drawn, by credit
MAX_FAMILY_NODES = 150  # boxes in one family's graph (the newest)
MAX_DERIVED_ROWS = 500
RANKED = ("team_rows", "public_rows", "private_rows", "private_team_rows")  # rows with ranks
# the paged boards (ChallengeView lists) by name: their tabs, the titles of their pages
# after the first, and status.html's totals
BOARD_NAMES = {"team_rows": "Leaderboard", "public_rows": "All submissions",
               "private_team_rows": "Private leaderboard",
               "private_rows": "All submissions on the private test set",
               "failed": "Failed", "teams": "Teams"}


@dataclass(frozen=True)
class Options:
    """How the site is built, beyond the repository's content.

    `forge_url`: the hub repository's web address on its forge (GitHub or GitHub
    Enterprise, e.g. https://github.com/org/hub), for links to commits, pull requests
    and branches; None shows them as plain text (`gitramp site` reads it from the hub's
    gitramp.toml). `page_rows`: rows per board page, team page and teams page."""

    forge_url: str | None = None
    page_rows: int = PAGE_ROWS


def build(repo_path: str | Path, out_dir: str | Path, *,
          now: datetime | None = None, forge_url: str | None = None,
          page_rows: int = PAGE_ROWS, progress: Progress | None = None) -> BuildSummary:
    """Build (or update) the site of the repository at `repo_path` into `out_dir`.
    `progress(what, done, total)` is told of the long parts: each ledger record parsed
    (total None), each submission page rendered."""
    # A big ledger, and a big challenge's boards, are millions of small objects that live
    # until the build (or the challenge) is done. The cyclic collector would scan them
    # again and again while they are made, so it pauses; then they are frozen (never
    # scanned) and it runs while the submission pages are rendered, for their garbage
    # (`_collecting`). At 100,000 submissions its full scans cost 12.5 s of a 95 s build
    # when it ran over the boards and pages alike; 0.5 s so.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(repo_path, out_dir, now, collecting,
                      Options((forge_url or "").rstrip("/") or None, max(1, page_rows)),
                      progress)
    finally:
        gc.unfreeze()
        if collecting:
            gc.enable()


def _build(repo_path: str | Path, out_dir: str | Path, now: datetime | None,
           collecting: bool, options: Options, progress: Progress | None) -> BuildSummary:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    git = codemod.open_repository(Path(repo_path))
    kept = Path(git.path) / CACHE_DIR if git is not None else None
    cache = RecordCache(kept)
    repo = read_repository(repo_path)
    root = Path(out_dir).resolve()
    highlight = codemod.HighlightCache(kept / "highlight" if kept is not None else None)
    last = LastBuild(kept)
    builder = _Builder(Output(root), git, now, options, highlight, progress, collecting)
    whole = builder.unchanged_key(repo)
    if whole is not None:
        saved = last.load()
        if builder.keep_all(repo, saved, whole):  # nothing new: no record read
            stats = builder.out.finish()
            total = time.perf_counter() - started
            return BuildSummary(root, [c.name for c in repo.challenges], builder.kept, 0,
                                builder.kept, stats.written, stats.unchanged, stats.removed,
                                total, {"read": 0.0, "submission_pages": 0.0, "boards": 0.0,
                                        "other": total, "highlight": 0.0,
                                        "highlighted_files": 0, "highlight_hits": 0},
                                list(saved["skipped"]))
    read_records(repo, cache, progress, LastRead(kept, RecordCache.VERSION))
    read = time.perf_counter() - started
    gc.freeze()
    out = builder.out
    builder.assets()
    views = [builder.challenge(ch) for ch in repo.challenges]
    builder.page("index.html", "index.html", inputs_key=whole, root="", challenges=views)
    status = builder.status(views)
    builder.row_texts.save({e.key_line for c in repo.challenges for e in c.entries})
    builder.row_texts.clear()
    cache.save_records()  # those the pages had to parse
    highlight.save()
    builder.frames.save(out.paths())
    builder.last_boards.save()
    builder.save_readmes()
    if kept is not None:  # earlier versions' page note: the read note does its work
        (kept / LEGACY_PAGE_NOTE).unlink(missing_ok=True)
    stats = out.finish()
    submissions = sum(len(c.entries) for c in repo.challenges)
    if whole is not None:  # what the next build needs to find that nothing changed
        last.save({"key": whole, "folders": builder.folder_keys, "status": status,
                   "submissions": submissions, "skipped": repo.skipped})
    total = time.perf_counter() - started
    return BuildSummary(out.root, [c.name for c in repo.challenges], submissions,
                        builder.rendered, builder.kept, stats.written, stats.unchanged,
                        stats.removed, total,
                        {"read": read, "submission_pages": builder.page_seconds,
                         "boards": builder.board_seconds,
                         "other": total - read - builder.page_seconds - builder.board_seconds,
                         "highlight": highlight.seconds,
                         "highlighted_files": highlight.highlighted,
                         "highlight_hits": highlight.hits}, repo.skipped)


# ---------------------------------------------------------------------------- views
@dataclass
class PhaseView:
    name: str
    start_iso: str
    end_iso: str


@dataclass
class TeamView:
    name: str
    rank: int | None
    best: float | None
    rows: list[Row]  # its rows of the public board, best first
    failed: list[Entry]
    n: int


@dataclass
class ChallengeView:
    """What the challenge templates read; built from the model, nothing more."""

    name: str
    slug: str
    title: str
    description: str
    scores: list
    state: Any
    phases: list[PhaseView]
    phase: dict[str, str]
    tabs: list[tuple[str, str]]
    has_contributivity: bool
    public_rows: list[Row]
    team_rows: list[Row]
    private_rows: list[Row] = field(default_factory=list)
    private_team_rows: list[Row] = field(default_factory=list)
    failed: list[Entry] = field(default_factory=list)
    teams: list[TeamView] = field(default_factory=list)
    n_submissions: int = 0
    alt_best: str = ""
    alt_hist: str = ""
    open_mark: str = ""  # what the dashed line of the progress plot marks
    moderation: list = field(default_factory=list)  # the organizers' acts
    blend: dict = field(default_factory=dict)  # the blended score and its members
    n_scored: int = 0
    n_failed: int = 0

    @property
    def board_sizes(self) -> dict[str, int]:
        """Rows of each paged board, which its pages leave to the status file."""
        sizes = {"team_rows": len(self.team_rows), "public_rows": len(self.public_rows),
                 "failed": len(self.failed), "teams": len(self.teams)}
        if self.state.revealed:
            sizes.update(private_team_rows=len(self.private_team_rows),
                         private_rows=len(self.private_rows))
        return sizes

    @property
    def n_teams(self) -> int:
        return len(self.teams)

    @property
    def best_row(self) -> Row | None:
        return self.team_rows[0] if self.team_rows else None

    @property
    def best_value(self) -> float | None:
        return self.team_rows[0].value if self.team_rows else None


def current_phase(ch: Challenge, now: datetime) -> dict[str, str]:
    """The phase now, in words that agree with what the site shows: the dates say which
    phase is scheduled, the challenge's state (code visible, private board revealed) says
    what was done; where the two differ, both are said."""
    state = ch.state
    opened = f" on {state.opened_at[:10]}" if state.opened_at else ""
    for p in ch.phases:
        if p.start <= now < p.end:
            if p.name == "closed" and state.code_visible:
                return {"key": "open", "label": f"code opened early{opened}: submissions' "
                        f"code is visible, though the schedule's closed phase runs until "
                        f"{p.end:%Y-%m-%d}"}
            if p.name == "open" and not state.code_visible:
                return {"key": "closed", "label": f"open phase by the schedule, until "
                        f"{p.end:%Y-%m-%d}; the code is not opened yet"}
            label = f"{p.name} phase, until {p.end:%Y-%m-%d}"
            if state.revealed:
                label += "; private scores revealed"
            return {"key": p.name, "label": label}
    if ch.phases and now < ch.phases[0].start:
        return {"key": "before", "label": f"starts {ch.phases[0].start:%Y-%m-%d}"}
    if ch.phases:
        label = f"ended {ch.phases[-1].end:%Y-%m-%d}"
        if not state.revealed:
            label += "; private scores not revealed yet"
        return {"key": "ended", "label": label}
    return {"key": "none", "label": "no phases declared"}


TEAM_PAGE_SEP = "~"  # team/<team>~2.html: never a slug, so never another team's page


@dataclass
class StatusRow:
    """What status.html says of a challenge (from what status.js says of it)."""

    slug: str
    title: str
    phase: dict[str, str]
    n_scored: int
    n_teams: int
    n_failed: int
    # each paged board's name and rows: a reader without script finds here the totals
    # its pages leave to status.js (Pager.totals links it)
    boards: list[tuple[str, int]] = field(default_factory=list)


def challenge_folder(ch: Challenge) -> str:
    cdir = slug(ch.name)
    return f"{ASSETS}-challenge" if cdir == ASSETS else cdir


def _phase_views(ch: Challenge) -> list[PhaseView]:
    return [PhaseView(p.name, _iso(p.start), _iso(p.end)) for p in ch.phases]


def _tabs(ch: Challenge) -> list[tuple[str, str]]:
    tabs = [("index.html", BOARD_NAMES["team_rows"]),
            ("submissions.html", BOARD_NAMES["public_rows"])]
    if ch.state.revealed:
        tabs.append(("private.html", BOARD_NAMES["private_team_rows"]))
    return tabs + [("failed.html", BOARD_NAMES["failed"]), ("teams.html", BOARD_NAMES["teams"]),
                   ("lineage.html", "Lineage"), ("submit.html", "How to submit")]


LAST = "last"  # <base>-last.html: a board's last page, whatever its number


def board_page(base: str, i: int | str, sep: str = "-") -> str:
    """Page `i` (from 1, or LAST) of a paginated board whose first page is `base`."""
    if i != LAST and i <= 1:
        return base
    stem = base[:-5] if base.endswith(".html") else base
    return f"{stem}{sep}{i}.html"


@dataclass
class Pager:
    """Where a board page sits among its siblings (links for readers without script)."""

    base: str
    index: int  # from 1
    count: int
    first_rank: int = 1
    total: int = 0

    size: int = PAGE_ROWS
    sep: str = "-"
    # the board (a ChallengeView list) whose number of rows the shared status file tells:
    # a new result then leaves the pages above its row as they were. None: printed here
    board: str | None = None
    totals: str | None = None  # where a reader without script reads it (status.html)

    @property
    def last(self) -> int:
        return min(self.total, self.first_rank + self.size - 1)

    def href(self, i: int | str) -> str:  # a page number, or LAST
        return board_page(self.base, i, self.sep).rsplit("/", 1)[-1]

    @property
    def numbers(self) -> list[int | str | None]:
        """Pages to link: the first, two either side of this one, and the last; None for
        a gap. On a board whose number of rows the status file tells, the last page is
        linked by its alias (LAST), not its number: the pages far from the end then do
        not change when a new result adds a page, and need not be written again."""
        out: list[int | str | None] = [1]
        prev = 1
        for i in range(max(2, self.index - 2), min(self.count, self.index + 3)):
            if i > prev + 1:
                out.append(None)
            out.append(i)
            prev = i
        if self.count > 1:
            if self.count > prev + 1:
                out.append(None)
            out.append(LAST if self.board and self.index != self.count else self.count)
        return out


def page_of(entry: Entry) -> str:
    """A submission page, relative to its challenge folder (worked out once an entry:
    boards, keys, search and data rows all link it)."""
    return entry.page


def team_page(team: str) -> str:
    return f"team/{slug(team)}.html"


def _pct(value: Any) -> str:
    return f"{float(value) * 100:.0f} %" if isinstance(value, int | float) else "–"


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%MZ")


# --------------------------------------------------------------------------- builder
class _Builder:
    def __init__(self, out: Output, git, now: datetime, options: Options | None = None,
                 highlight: codemod.HighlightCache | None = None,
                 progress: Progress | None = None, collecting: bool = False):
        self.out = out
        self.progress = progress
        self.collecting = collecting  # whether the caller runs the cyclic collector
        self.git = git
        self.now = now
        self.options = options or Options()
        self.highlight = highlight
        self.env = environment()
        if git is not None and self.env.bytecode_cache is None:
            try:  # the process's environment keeps it for later builds
                self.env.bytecode_cache = TemplateCache(Path(git.path) / CACHE_DIR / "templates")
            except OSError:
                pass  # templates are compiled in each run
        self.fingerprint = generator_fingerprint()
        self.rendered = 0
        self.kept = 0
        self.page_seconds = 0.0
        self.board_seconds = 0.0  # board pages, data files and search index
        # Globals, not context: imported macros see only globals.
        self.env.globals.update(page=page_of, team_page=team_page, pct=_pct,
                                split_names=SPLIT_NAMES, forge=Forge(self.options.forge_url))
        self.row_texts = self.env.globals["row_text"]
        self.row_texts.configure(page_of, team_page, Path(git.path) / CACHE_DIR / "rows"
                                 if git is not None else None)
        self.lines = _Lines()
        self.folder_keys: dict[str, str] = {}  # each challenge's folder: its inputs' key
        self.cache = Path(git.path) / CACHE_DIR if git is not None else None
        self.frames = Frames(self.cache, self.row_texts)
        self.last_boards = LastBoards(self.cache)
        self.readmes: dict | None = None  # READMEs' HTML kept, by a digest of their text
        self.readmes_used: set[str] = set()
        self.readmes_changed = False
        self.boards_what, self.boards_rendered = "", 0  # for progress: see _board_rendered

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)

    def page(self, path: str, template: str, inputs_key: str | None = None,
             **context: Any) -> None:
        context.setdefault("code_css", False)
        self.out.write(path, self.render(template, **context), inputs_key=inputs_key)

    def assets(self) -> None:
        static = resources.files("site_generator").joinpath("static")
        for item in static.iterdir():
            if item.is_file():
                self.out.write(f"{ASSETS}/{item.name}", item.read_bytes())
        css = codemod.stylesheet_version()
        if not self.out.fresh(f"{ASSETS}/code.css", css):
            self.out.write(f"{ASSETS}/code.css", codemod.stylesheet(), inputs_key=css)
        self.out.write(".nojekyll", "")  # GitHub Pages: serve the files as they are

    # ------------------------------------------------------------------ a challenge
    def challenge(self, ch: Challenge) -> ChallengeView:
        cdir = challenge_folder(ch)
        public, private = self._rank(ch)
        best = team_best(public)
        revealed = ch.state.revealed
        # a final selection: each team's best private score among the chosen
        private_best = (team_best(private) if any(e.chosen for e in ch.entries) else
                        private_team_board(best, ch.scores, private)) if revealed else None
        failed = [e for e in ch.entries if not e.scored]
        tabs = _tabs(ch)
        view = ChallengeView(
            name=ch.name, slug=cdir, title=ch.title, description=ch.description,
            scores=ch.scores, state=ch.state,
            phases=_phase_views(ch),
            phase=current_phase(ch, self.now), tabs=tabs,
            has_contributivity=any(e.credit is not None for e in ch.entries),
            public_rows=public, team_rows=best, private_rows=private or [],
            private_team_rows=private_best or [], failed=failed,
            n_submissions=len(ch.entries), moderation=ch.moderation,
            blend=_blend_view(ch, public), n_scored=len(public), n_failed=len(failed))
        view.teams = self._teams(ch, public, best, failed)
        inputs = self.folder_keys[cdir] = self._inputs_key(
            ch, cdir, self._records(ch, ch.ledger_tree))
        if self.out.keep_folder(cdir, inputs):  # nothing it shows changed
            self.kept += len(ch.entries)
            return view
        self.row_texts.clear()
        self.boards_what, self.boards_rendered = f"rendering {ch.name}'s boards", 0
        self._plots(ch, view, public, cdir)
        n = self.options.page_rows
        shared = [self.fingerprint, view.title, view.tabs, [vars(c) for c in ch.scores],
                  view.has_contributivity, len(view.team_rows),
                  [a.describe() for a in ch.moderation], n]

        common = {"ch": view, "root": "../"}
        board = _key(shared)  # what every page of a board shows besides its rows
        # what the first page of the leaderboard shows besides: the challenge's facts
        facts = [len(public), len(failed), view.phase, view.phases, vars(ch.state),
                 view.blend, ch.readme, view.alt_best, view.alt_hist, view.open_mark,
                 ch.description]
        boards_started = time.perf_counter()
        self._paged(cdir, "index.html", "challenge.html", best, "team_rows", board, common,
                    first_key=facts, first_extra=lambda: {"readme": self.readme(ch.readme)})
        self._paged(cdir, "submissions.html", "submissions.html", public, "public_rows",
                    board, common)
        self._paged(cdir, "failed.html", "failed.html", failed, "failed", board, common,
                    rows_key=_entry_lines)
        self._paged(cdir, "teams.html", "teams.html", view.teams, "teams", board, common,
                    rows_key=_team_lines)
        if revealed:
            self._paged(cdir, "private.html", "private.html", private_best or [],
                        "private_team_rows", board, common,
                        first_key=[ch.state.revealed_at, len(public)])
            self._paged(cdir, "private-submissions.html", "private_submissions.html",
                        private or [], "private_rows", board, common)
        self.board_seconds += time.perf_counter() - boards_started
        kit = _kit_view(ch)
        submit_key = _key(shared, kit, bool(ch.kit_dir))
        if not self.out.fresh(f"{cdir}/submit.html", submit_key):
            self.out.write(f"{cdir}/submit.html", self.render(
                "submit.html", **common, kit=kit, hub=bool(ch.kit_dir), code_css=False),
                inputs_key=submit_key)
        for t in view.teams:
            self._team_pages(t, view, shared, cdir)
        by_label = _by_label(ch.entries)  # lineage and submission pages look parents up
        self._lineage_page(ch, view, cdir, by_label)
        boards_started = time.perf_counter()
        self._data(ch, cdir, public, best, private, private_best, failed)
        self._search_index(ch, cdir, public, failed)
        self.board_seconds += time.perf_counter() - boards_started
        self._submission_pages(ch, view, cdir, by_label)
        self.lines.clear()
        self.out.folder_made(cdir, inputs)
        return view

    def _rank(self, ch: Challenge) -> tuple[list[Row], list[Row] | None]:
        """The public board, and the private one once revealed: placing only the new
        entries in the last build's boards when it left them for these entries
        (last_boards), ranking every entry otherwise."""
        first = ch.ranking
        context = _key(first and (first.name, first.lower_is_better),
                       [a.describe() for a in ch.moderation])
        since = ch.since
        new = since.added if since is not None else []
        public = rank(ch.entries, ch.scores, PUBLIC,
                      self.last_boards.placed(ch.name, since, PUBLIC, context), new)
        private = private_board(public, ch.scores, self.last_boards.placed(
            ch.name, since, PRIVATE, context), new) if ch.state.revealed else None
        self.last_boards.keep(ch.name, ch.ledger_tree, ch.entries,
                              {PUBLIC: (context, public)} |
                              ({PRIVATE: (context, private)} if private is not None else {}))
        return public, private

    def readme(self, text: str) -> Markup:
        """A kit's README as HTML, kept between builds by its text: the leaderboard's
        first page changes with every result, and markdown-it costs more to load than
        the rest of that page."""
        if self.readmes is None:
            self.readmes = kept.read(self.cache / README_FILE, self.fingerprint) \
                if self.cache is not None else {}
        key = hashlib.sha1(text.encode()).hexdigest()
        html = self.readmes.get(key)
        if not isinstance(html, str):
            html = self.readmes[key] = str(markdown(text))
            self.readmes_changed = True
        self.readmes_used.add(key)
        return Markup(html)

    def save_readmes(self) -> None:
        """Keep the READMEs rendered, and those of challenges this build kept whole."""
        if self.cache is None or not self.readmes_changed:
            return
        held = {k: v for k, v in (self.readmes or {}).items() if k != "version"}
        # what this build used, then as many others as the file keeps
        keep = [*self.readmes_used, *(k for k in held if k not in self.readmes_used)]
        try:
            self.cache.mkdir(parents=True, exist_ok=True)
            kept.write(self.cache / README_FILE, {
                "version": self.fingerprint, **{k: held[k] for k in keep[:KEPT_READMES]}})
        except (OSError, ValueError):
            pass  # only costs rendering them again

    def _inputs_key(self, ch: Challenge, cdir: str, records: str) -> str:
        """What every file of the challenge's folder (`cdir`) is made of, besides the
        time: the generator, the options, the kit, the state, the organizers' acts, the
        blend, the phase now, and `records`: a digest of each record's version and
        digest in the ledger's order (a digest covers its content, revealed private
        part, verifications, selection and annulment), or what fixes them all (the
        ledger folder's tree). Unchanged, the folder is kept whole."""
        return _key(self.fingerprint, self.options.forge_url, self.options.page_rows,
                    self.git is not None, cdir, ch.title, ch.description, _tabs(ch),
                    current_phase(ch, self.now), [vars(p) for p in _phase_views(ch)],
                    [vars(c) for c in ch.scores], vars(ch.state), ch.readme, ch.kit_dir,
                    _kit_view(ch), [a.describe() for a in ch.moderation], ch.blend, records)

    def unchanged_key(self, repo: Repository) -> str | None:
        """What the whole site is made of but the time, with each challenge's records
        named by its ledger folder's tree; None when the ledger is not commits."""
        if repo.ledger_folders is None or self.git is None:
            return None
        folders = [(ch, challenge_folder(ch)) for ch in repo.challenges]
        return _key([(cdir, self._inputs_key(
            ch, cdir, self._records(ch, repo.ledger_folders.get(ch.name, ""))))
            for ch, cdir in folders])

    def _records(self, ch: Challenge, tree: str) -> str:
        """What names the challenge's records in its inputs key: its ledger folder's
        `tree` when the ledger is commits (it fixes every record, private part, act and
        the state, read or not), else a digest of every entry's line (hashing those of
        a committed ledger again cost 3.6 ms a build at 10,000 submissions)."""
        if tree and self.git is not None:
            return f"tree {tree}"
        return _hash_lines(map(_entry_line, ch.entries))

    def keep_all(self, repo: Repository, last: dict | None, key: str) -> bool:
        """When the last build was made of the same (`key`) and all it wrote is still in
        place: keep every file, write the build time's, and say so."""
        folders = [challenge_folder(ch) for ch in repo.challenges]
        if not last or last.get("key") != key or sorted(last["folders"]) != sorted(folders):
            return False
        if not (all(self.out.keep_folder(c, last["folders"][c]) for c in folders)
                and self.out.fresh("index.html", key)):
            self.out = Output(self.out.root)  # some files were marked kept: start afresh
            return False
        self.assets()
        self.write_status(last["status"])
        self.kept = last["submissions"]
        return True

    def _team_pages(self, t: TeamView, view: ChallengeView, shared: list, cdir: str) -> None:
        """A team's submissions, scored (best first) then failed, `page_rows` a page:
        team/<team>.html, then team/<team>~2.html... ("~" never occurs in a slug, so no
        team's first page is another's second). A new result elsewhere leaves most team
        pages as they were: those are skipped."""
        n = self.options.page_rows
        items = len(t.rows) + len(t.failed)
        count = max(1, -(-items // n))
        base = team_page(t.name)
        for i in range(1, count + 1):
            lo, hi = (i - 1) * n, i * n
            rows = t.rows[lo:hi]
            failed = t.failed[max(0, lo - len(t.rows)):max(0, hi - len(t.rows))]
            path = f"{cdir}/{board_page(base, i, TEAM_PAGE_SEP)}"
            key = _key(shared, t.rank, i, count, len(t.rows), len(t.failed),
                       _hash_lines(map(_row_key_line, rows)),
                       _hash_lines(map(_entry_line, failed)))
            if self.out.fresh(path, key):
                continue
            # ranked within the team, so other teams' results leave the page be (made
            # here for the pages rendered: not replace(), ten times the cost)
            rows = [Row(r.item, r.result, lo + k + 1, r.value, r.columns, r.split,
                        r.public_rank) for k, r in enumerate(rows)]
            pager = Pager(base, i, count, lo + 1, items, n, TEAM_PAGE_SEP)
            self.out.write(path, self.render(
                "team.html", team=t, rows=rows, failed=failed, pg=pager, ch=view,
                root="../../", code_css=False), inputs_key=key)
            self._board_rendered()

    def _board_rendered(self) -> None:
        """Tell `progress` of one more board or team page rendered. How many will be is
        not known before: a rebuild keeps most of them."""
        if self.progress is not None:
            self.boards_rendered += 1
            self.progress(self.boards_what, self.boards_rendered, None)

    def _paged(self, cdir: str, base: str, template: str, rows: list, attr: str,
               board_key: str, common: dict, *, first_key: Any = None,
               first_extra=None, rows_key=None) -> None:
        """A board split in pages of `page_rows` rows: `base` holds the first (in its own
        template, showing what `first_key` names and `first_extra()` gives besides),
        `<base>-2.html`... the others, and `<base>-last.html` the last again (the other
        pages link it: see Pager.numbers), titled with the board's name (BOARD_NAMES
        of `attr`). A page is rendered again only when its rows, its pager's links, or
        what every page shows (`board_key`) changed."""
        n = self.options.page_rows
        count = max(1, -(-len(rows) // n))
        view = common["ch"]
        line = rows_key or _row_lines
        for i in range(1, count + 1):
            chunk = rows[(i - 1) * n: i * n]
            path = f"{cdir}/{board_page(base, i)}"
            own = first_key if i == 1 else None
            links = Pager(base, i, count, board=attr).numbers
            # the number of rows and of pages is not on the page (status.js tells them),
            # but the last page's rows end at it
            key = _key(board_key, own, i, links, self.lines.key(rows, line, (i - 1) * n, i * n))
            alias = f"{cdir}/{board_page(base, LAST)}" if i == count > 1 else None
            fresh = self.out.fresh(path, key)
            if fresh and (alias is None or self.out.fresh(alias, key)):
                continue

            def render(chunk, total, i=i) -> str:
                pager = Pager(base, i, count, (i - 1) * n + 1, total, n, board=attr,
                              totals=f"{common['root']}status.html#{view.slug}")
                paged = replace(view, **{attr: chunk})
                if i == 1:
                    return self.render(template, **{**common, "ch": paged, "pg": pager,
                                                     "code_css": False,
                                                     **(first_extra() if first_extra else {})})
                return self.render("board_page.html", **{**common, "ch": paged},
                                   pg=pager, attr=attr, title=BOARD_NAMES[attr],
                                   code_css=False)
            if attr in RANKED:  # the page around its rows is kept: ranks shift often
                html = self.frames.page(path, _key(board_key, own, i, links, bool(chunk)),
                                        chunk, view.scores, len(rows), render)
            else:
                html = render(chunk, len(rows))
            if not fresh:
                self.out.write(path, html, inputs_key=key)
            if alias is not None:
                self.out.write(alias, html, inputs_key=key)
            self._board_rendered()

    def _data(self, ch: Challenge, cdir: str, public: list[Row], best: list[Row],
              private: list[Row] | None, private_best: list[Row] | None,
              failed: list[Entry]) -> None:
        """leaderboard.json and .csv; on a big board their long lists go to parts of
        PART_ROWS rows (data/...), listed in leaderboard.json, so that no file is huge."""
        lists = {"submissions": public, "failed": failed}
        if private is not None:
            lists["private"] = private
        big = max(len(v) for v in lists.values()) > PART_ROWS
        parts: dict[str, list[str]] = {}
        # each file is made again only when what it holds changed (its rows, in order)
        head = [self.fingerprint, ch.name, ch.title, [vars(c) for c in ch.scores],
                vars(ch.state)]
        if big:
            for name, items in lists.items():
                parts[name] = []
                line = _entry_lines if name == "failed" else _row_lines
                for k in range(0, max(1, len(items)), PART_ROWS):
                    part = f"data/{name}-{k // PART_ROWS + 1}.json"
                    parts[name].append(part)
                    chunk = items[k:k + PART_ROWS]
                    key = _key(head, name, self.lines.key(items, line, k, k + PART_ROWS))
                    if not self.out.fresh(f"{cdir}/{part}", key):
                        self.out.write(f"{cdir}/{part}", leaderboard_part(
                            ch, name, chunk, page_of, self.row_texts.kept), inputs_key=key)
        key = _key(head, self.lines.key(best, _row_lines),
                   self.lines.key(private_best or [], _row_lines), private is None,
                   parts, [] if big else [self.lines.key(v, line) for line, v in (
                       (_row_lines, public), (_entry_lines, failed),
                       (_row_lines, private or []))])
        if not self.out.fresh(f"{cdir}/leaderboard.json", key):
            self.out.write(f"{cdir}/leaderboard.json", leaderboard_json(
                ch, public, best, private, private_best, failed, page_of,
                parts=parts or None, kept=self.row_texts.kept), inputs_key=key)
        private_rows = None  # by entry, made for the first part written
        # a line holds the private rank and scores too: the private board's lines key
        # every part (the lines were made for its pages)
        private_key = self.lines.key(private, _row_lines) if private is not None else None
        for k in range(0, max(1, len(public)), CSV_PART_ROWS):
            chunk = public[k:k + CSV_PART_ROWS]
            name = "leaderboard.csv" if k == 0 else f"leaderboard-{k // CSV_PART_ROWS + 1}.csv"
            key = _key(head, private_key,
                       self.lines.key(public, _row_lines, k, k + CSV_PART_ROWS))
            if not self.out.fresh(f"{cdir}/{name}", key):
                if private is not None and private_rows is None:
                    private_rows = {id(r.entry): r for r in private}
                self.out.write(f"{cdir}/{name}", leaderboard_csv(
                    ch, chunk, private, self.row_texts.kept, private_rows),
                    inputs_key=key)

    def _search_index(self, ch: Challenge, cdir: str, public: list[Row],
                      failed: list[Entry]) -> None:
        """The compact index the board's search and filters read (with script only):
        teams, phases and statuses once (in name order), the number of ranked rows,
        then one short array a submission (the board's rows in rank order, then the
        failed ones; a row's rank is its place), in parts of a script each (they load
        from file:// too), loaded on the first search. A row's text depends on its
        record and those lists only: it is kept between builds, so a new result costs
        its own row and the join."""
        first = ch.ranking
        entries = ch.entries
        teams = sorted({e.team for e in entries})
        statuses = sorted({e.status for e in entries})
        phases = sorted({e.phase for e in entries})
        spec = f".{first.precision}f" if first else ""
        texts = self.row_texts.kept.kind(
            "search", context=_key(self.fingerprint, teams, statuses, phases, spec))
        held = texts.lookup()
        team = {t: i for i, t in enumerate(teams)}
        status = {s: i for i, s in enumerate(statuses)}
        phase = {p: i for i, p in enumerate(phases)}
        q = encode_basestring_ascii  # a JSON string, as json.dumps writes it

        def row(e: Entry, score: str) -> str:
            # the page is left to the script (0) when the name and version are their
            # slugs (a slug holds no "~": the page is then exactly s/<name>~<version>.html)
            page = e.page
            plain = page == f"{SUBMISSION_PAGES_PREFIX}{e.name}~{e.stem}.html"
            text = (f"[{team[e.team]},{q(e.name)},{q(e.stem)},{q(score)},"
                    f"{status[e.status]},{phase[e.phase]},{0 if plain else q(page)}]"
                    ).replace("</", "<\\/")  # no text ends the script
            texts.put(e.key_line, text)
            return text

        # each row written as JSON text: ten thousand lists a build, made and then
        # encoded, cost several times more
        rows = [held(r.entry.key_line) or row(r.entry, format(r.value, spec) if first else "")
                for r in public]
        rows += [held(e.key_line) or row(e, "") for e in failed]
        n_parts = max(1, -(-len(rows) // (PART_ROWS * 10)))
        size = -(-len(rows) // n_parts) if rows else 1
        head = {"challenge": cdir, "score": first.name if first else None,
                "teams": teams, "phases": phases, "statuses": statuses,
                "ranked": len(public), "parts": [f"search-{k + 1}.js" for k in range(n_parts)],
                "total": len(rows)}
        self.out.write(f"{cdir}/search.js", "gitrampSearch.head(" + _js(head) + ");\n")
        for k in range(n_parts):
            part = ",".join(rows[k * size:(k + 1) * size])
            self.out.write(f"{cdir}/search-{k + 1}.js",
                           f'gitrampSearch.part({{"k":{k},"at":{k * size},"rows":[{part}]}});\n')

    def status(self, views: list[ChallengeView]) -> dict:
        """The one file every page reads the build time and each phase from (status.js),
        and its page for readers without script (status.html): a new build rewrites
        these two, not every page. Gives what they say of each challenge."""
        challenges = {v.slug: {"title": v.title, "phase": v.phase["label"],
                               "key": v.phase["key"], "rows": v.board_sizes} for v in views}
        self.write_status(challenges)
        return challenges

    def write_status(self, challenges: dict) -> None:
        built = _iso(self.now)
        data = {"built": built, "challenges": challenges}
        self.out.write("status.js", "gitrampStatus(" + _js(data) + ");\n")
        rows = [StatusRow(slug, c["title"], {"key": c["key"], "label": c["phase"]},
                          c["rows"]["public_rows"], c["rows"]["teams"], c["rows"]["failed"],
                          [(BOARD_NAMES[b], n) for b, n in c["rows"].items()
                           if b in BOARD_NAMES])
                for slug, c in challenges.items()]
        self.page("status.html", "status.html", root="", challenges=rows, built=built)

    def _teams(self, ch: Challenge, public: list[Row], best: list[Row],
               failed: list[Entry]) -> list[TeamView]:
        rank_of = {r.entry.team: r for r in best}
        teams: dict[str, TeamView] = {}
        for e in ch.entries:
            t = teams.setdefault(e.team, TeamView(e.team, None, None, [], [], 0))
            t.n += 1
        for r in public:  # its public rows, best first (ranked within the team on its page)
            teams[r.entry.team].rows.append(r)
        for e in failed:
            teams[e.team].failed.append(e)
        for name, t in teams.items():
            if name in rank_of:
                t.rank, t.best = rank_of[name].rank, rank_of[name].value
        return sorted(teams.values(), key=lambda t: (t.rank is None, t.rank or 0, t.name))

    def _plots(self, ch: Challenge, view: ChallengeView, public: list[Row], cdir: str) -> None:
        first = ch.ranking
        if first is None:
            svg_best = plots.empty("Best score over time", "this challenge declares no score")
            svg_hist = plots.empty("Score distribution", "this challenge declares no score")
            view.alt_best = view.alt_hist = "No score declared."
        else:
            marks = [plots.Mark(_iso(p.start), f"{p.name} phase") for p in ch.phases[1:]]
            if ch.state.opened_at:
                marks = [plots.Mark(ch.state.opened_at, "code opened")]
            view.open_mark = ("the opening of the code" if ch.state.opened_at else
                              "the start of the open phase" if marks else "")
            timeline = by_time(public, ch.entries)  # once: the two series follow it
            teams = best_over_time(timeline, first.lower_is_better, timed=True)
            overall = overall_best_over_time(timeline, first.lower_is_better, timed=True)
            svg_best = plots.best_over_time(f"Best {first.name} over time", first.name,
                                            first.precision, first.lower_is_better, teams,
                                            overall, marks)
            values = [r.value for r in public]
            svg_hist = plots.histogram(f"Distribution of {first.name}", first.name,
                                       first.precision, values)
            if overall:
                view.alt_best = (f"Step chart of the best {first.name} over time for "
                                 f"{len(teams)} team(s); the overall best reached "
                                 f"{overall[-1][1]:.{first.precision}f}.")
            else:
                view.alt_best = "No scored submission yet."
            view.alt_hist = (f"Histogram of {first.name} over {len(values)} scored "
                             f"submission(s)." if values else "No scored submission yet.")
        self.out.write(f"{cdir}/best_over_time.svg", svg_best)
        self.out.write(f"{cdir}/score_distribution.svg", svg_hist)

    def _lineage_page(self, ch: Challenge, view: ChallengeView, cdir: str,
                      by_label: dict[str, Entry]) -> None:
        """Per-family graphs: a family is a first submission and every version built on it
        (transitively). The FAMILIES families with the most credit (historical
        contributivity, then size) are drawn; the page says how many are left out."""
        parent_of = {e.label: e.parent_label for e in by_label.values()
                     if e.parent_label and e.parent_label in by_label}
        root_of: dict[str, str] = {}

        def root(label: str) -> str:
            path = []
            while label not in root_of and label in parent_of and label not in path:
                path.append(label)
                label = parent_of[label]
            top = root_of.get(label, label)
            for p in path:
                root_of[p] = top
            return top

        families: dict[str, list[Entry]] = {}
        for e in by_label.values():
            if e.label in parent_of:
                families.setdefault(root(e.label), []).append(e)
        for r in list(families):
            families[r].insert(0, by_label[r])

        def credit(members: list[Entry]) -> float:
            return sum(m.credit or 0.0 for m in members)
        ranked = sorted(families.values(), key=lambda m: (-credit(m), -len(m), m[0].label))
        drawn = ranked[:FAMILIES]
        derived = [(e, by_label.get(e.parent_label or "")) for fam in drawn for e in fam
                   if e.parent_label][:MAX_DERIVED_ROWS]
        n_derived = sum(1 for e in ch.entries if e.parent_label)
        path = f"{cdir}/lineage.html"
        # what the page shows of a member is read from its record: its key line names
        # the record's bytes (its summary is never loaded for the key)
        key = _key(self.fingerprint, view.title, view.tabs, len(ranked), n_derived, _digest(
            (e.key_line, e.label, e.team, e.submitted_at, e.parent_label)
            for fam in drawn for e in fam))
        if self.out.fresh(path, key):  # most new results derive from nothing
            return
        graphs = []
        for i, fam in enumerate(drawn):
            labels = {e.label for e in fam}
            nodes = [plots.Node(e.label, e.name, e.team, e.page, e.submitted_at)
                     for e in fam]
            edges = [(parent_of[e.label], e.label) for e in fam if e.label in parent_of
                     and parent_of[e.label] in labels]
            graphs.append({"root": fam[0], "size": len(fam), "credit": credit(fam),
                           "teams": len({e.team for e in fam}),
                           "svg": Markup(plots.lineage_graph(
                               f"Family {i + 1} of {ch.title}: {fam[0].name}", nodes, edges,
                               max_nodes=MAX_FAMILY_NODES)),
                           "cut": max(0, len(fam) - MAX_FAMILY_NODES)})
        left = ranked[FAMILIES:]
        self.out.write(path, self.render(
            "lineage.html", ch=view, root="../", graphs=graphs, derived=derived,
            n_families=len(ranked), left_out=len(left),
            left_out_members=sum(len(f) for f in left), n_derived=n_derived,
            max_nodes=MAX_FAMILY_NODES, code_css=False), inputs_key=key)

    # ------------------------------------------------------------- submission pages
    def _submission_pages(self, ch: Challenge, view: ChallengeView, cdir: str,
                          by_label: dict[str, Entry]) -> None:
        started = time.perf_counter()
        self._render_submissions(ch, view, cdir, by_label)
        self.page_seconds += time.perf_counter() - started

    def _render_submissions(self, ch: Challenge, view: ChallengeView, cdir: str,
                            by_label: dict[str, Entry]) -> None:
        """Key each submission page that may have changed (`_to_key`) and render
        those whose key did."""
        children: dict[str, list[Entry]] = {}
        for e in ch.entries:
            if e.parent_label:
                children.setdefault(e.parent_label, []).append(e)
        folder = f"{ch.kit_dir}/submissions" if ch.kit_dir else "submissions"
        show_code = ch.state.code_visible and self.git is not None
        base_key = hashlib.sha1(json.dumps([
            self.fingerprint, view.title, view.tabs, [vars(c) for c in ch.scores],
            ch.state.code_visible, ch.state.revealed, folder, self.options.forge_url,
            ]).encode()).hexdigest()
        sha1, fresh = hashlib.sha1, self.out.fresh
        stale = []
        for e in self._to_key(ch, cdir, base_key):  # thousands a build: kept plain
            parent = by_label.get(e.parent_label) if e.parent_label else None
            kids = children.get(e.label, ())
            path = f"{cdir}/{e.page}"
            text = (f"{base_key}\0{e.digest}\0{parent.digest}\0{parent.name}\0{parent.team}"
                    if parent else f"{base_key}\0{e.digest}\0\0\0")
            if kids:
                text += "".join(f"\0{k.name}/{k.stem}/{k.team}" for k in kids)
            key = sha1(text.encode()).hexdigest()
            if fresh(path, key):
                self.kept += 1
            else:
                stale.append((e, parent, kids, path, key))
        # in the order the record cache keeps them: each of its buckets is read once and
        # let go as its records' pages are made (Entry.release), not all held at once
        stale.sort(key=_kept_bucket)
        # the pages read their parents' summaries (commit, code's tree): read first, to
        # be frozen with the rest (on a big site, every part of the record cache)
        for _, parent, *_ in stale:
            if parent is not None:
                parent.summary  # noqa: B018 (read when first asked for)
        with _collecting(self.collecting):
            self._render_pages(ch, view, folder, show_code, stale)

    def _render_pages(self, ch: Challenge, view: ChallengeView, folder: str,
                      show_code: bool, stale: list[tuple]) -> None:
        """Render the pages `stale` lists: (entry, parent, children, path, key)."""
        told = self.progress if stale else None
        if told is not None:
            what = f"rendering {ch.name}'s submission pages"
            told(what, 0, len(stale))
        for done, (e, parent, kids, path, key) in enumerate(stale, 1):
            code, note = None, "The code of submissions is shown once the open phase starts."
            if ch.state.code_visible and self.git is None:
                note = ("The code is not shown: this folder is no git repository, so the "
                        "scored version of the code cannot be read.")
            if show_code:
                code, note = self._code(e, parent, folder)
            r = e.result
            splits = [s for s in ("train", "valid", "test") if any(s in f.scores for f in r.folds)]
            summary = {s: _summary(r, s) for s in splits}
            html = self.render("submission.html", ch=view, e=e, r=r, root="../../",
                               croot="../", self_href=e.page.rsplit("/", 1)[-1],
                               parent=parent, children=kids, code=code, code_note=note,
                               splits=splits, summary=summary, code_css=code is not None,
                               folder=f"{folder}/{e.name}", branch=f"submit/{e.team}/{e.name}",
                               scored_first=bool(r.scored_at and r.submitted_at
                                                 and str(r.scored_at) < str(r.submitted_at)))
            self.out.write(path, html, inputs_key=key)
            self.rendered += 1
            e.release()
            if told is not None:
                told(what, done, len(stale))

    def _to_key(self, ch: Challenge, cdir: str, base: str) -> list[Entry]:
        """The entries whose submission page may have changed since the last build; the
        others' pages are kept as they are. The manifest marks the submission pages
        with what they were made of: `base` (what every page shows besides its records)
        and the ledger folder's tree. When this build's entries are the last build's
        note and the records added since the tree it read (model.Since), and the pages
        were made of that tree and this `base`, only the pages showing a record that
        came are keyed (`with_kin`). Else (a record changed or went, a folder ledger,
        a build stopped before its manifest) every page is keyed."""
        entries = ch.entries
        mark = f"{cdir}/{SUBMISSION_PAGES_PREFIX}"  # the manifest's: what they were made of
        since = ch.since
        usable = since is not None and self.out.last_mark(mark) == f"{base} {since.tree}"
        if ch.ledger_tree:
            self.out.mark(mark, f"{base} {ch.ledger_tree}")
        if not usable:
            return entries
        to_key = with_kin(entries, since.added)
        kept = dict(zip(map(PAGE, entries), entries, strict=True))
        for e in to_key:
            kept.pop(e.page, None)
        # a page is s/<file> (submission_page): one folder's files, kept in set
        # operations; a page gone from the folder is made again
        missing = self.out.keep(f"{cdir}/{SUBMISSION_PAGES}", map(PAGE_FILE, kept))
        self.kept += len(kept) - len(missing)
        return to_key + [kept[SUBMISSION_PAGES_PREFIX + name] for name in missing]

    def _code(self, e: Entry, parent: Entry | None, folder: str):
        tree = codemod.submission_tree(self.git, e.result.tree, e.result.commit,
                                       f"{folder}/{e.name}")
        if tree is None:
            return None, ("The code of this version is not in this repository "
                          "(its commit has not been fetched).")
        parent_tree = None
        if parent is not None:
            parent_tree = codemod.submission_tree(self.git, parent.summary.tree,
                                                  parent.summary.commit,
                                                  f"{folder}/{parent.name}")
        return codemod.read_code(self.git, tree, parent_tree, self.highlight), ""


class Forge:
    """Links to the hub repository on its forge: GitHub and GitHub Enterprise share
    their URL patterns (<base>/commit/<sha>, /pull/<n>, /tree/<branch>). Without a base
    URL every link is None and pages print plain text."""

    def __init__(self, base: str | None):
        self.base = base

    # Each part read from a record is quoted: a commit or a number is one path segment.
    def commit(self, sha: str | None) -> str | None:
        return f"{self.base}/commit/{quote(str(sha), safe='')}" if self.base and sha else None

    def pull(self, number: int | None) -> str | None:
        return f"{self.base}/pull/{quote(str(number), safe='')}" if self.base and number else None

    def branch(self, name: str | None) -> str | None:
        return f"{self.base}/tree/{quote(name, safe='/')}" if self.base and name else None


def with_kin(entries: list[Entry], came: list[Entry]) -> list[Entry]:
    """The entries whose submission page shows a record that `came`: those records,
    their parents (they list their children) and every version whose parent's label
    is a new record's (their parent may now be it), in the entries' order."""
    if not came:
        return []
    new = set(map(id, came))
    labels = {e.label for e in came}
    parents = {e.parent_label for e in came if e.parent_label}
    return [e for e in entries
            if id(e) in new or e.label in parents or e.parent_label in labels]


def _js(data: Any) -> str:
    """JSON for a script: compact, and never closing a <script> element."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False,
                      default=str).replace("</", "<\\/")


def _digest(items) -> str:
    """A digest of tuples of texts and numbers (their reprs: one line each, whatever
    the texts hold); a big board's keys hash tens of thousands of rows a build, a third
    cheaper so than through JSON."""
    return hashlib.sha1("\n".join(map(repr, items)).encode()).hexdigest()


def _hash_lines(lines) -> str:
    """A digest of lines that `_row_lines` or `_entry_line` made."""
    return hashlib.sha1("\n".join(lines).encode()).hexdigest()


def _row_lines(rows: list[Row]) -> list[str]:
    """What a board's keys read of its rows: each row's record and version as one line
    (the texts quoted, so none can end the line or a field early), and on a private
    board its public rank. Not the rank: it is the row's place in the list."""
    if rows and rows[0].public_rank is not None:
        return [f"{r.entry.key_line}\0{r.public_rank}" for r in rows]
    return list(map(_row_key_line, rows))


_row_key_line = attrgetter("entry.key_line")


# an entry's record and version as one line (Entry.key_line): what every board and data
# file showing it keys
_entry_line = attrgetter("key_line")


def _entry_lines(entries: list[Entry]) -> list[str]:
    return list(map(_entry_line, entries))


def _team_lines(teams: list[TeamView]) -> list[str]:
    return [repr((t.name, t.rank, t.best, t.n, len(t.failed))) for t in teams]


class _Lines:
    """Each row of a board as one line of text (`lines(rows)`), made once a build
    however many keys read it (a board's pages, its data parts, the whole file), and
    digests of runs of them."""

    def __init__(self):
        self.memo: dict[tuple, tuple[list, list[str]]] = {}

    def key(self, rows: list, lines, lo: int = 0, hi: int | None = None) -> str:
        hit = self.memo.get((id(rows), lines))
        if hit is None or hit[0] is not rows:  # the list is held, so its id is not reused
            hit = self.memo[(id(rows), lines)] = (rows, lines(rows))
        return _hash_lines(hit[1][lo:hi])

    def clear(self) -> None:
        self.memo.clear()


def _blend_view(ch: Challenge, public: list[Row]) -> dict:
    """The blended score of the challenge's ledger (blend.yml) and its members (the
    versions with a share of the blend), each with its board row when it has one."""
    b = ch.blend
    if not b or b.get("blended_valid") is None:
        return {}
    by_label = {r.entry.label: r for r in public}
    members = []
    for version, c in (b.get("contributivity") or {}).items():
        share = c.get("blend") if isinstance(c, dict) else None
        if isinstance(share, int | float) and share > 0:
            row = by_label.get(version)
            members.append({"version": version, "share": float(share),
                            "name": row.entry.name if row else version.split("@")[0],
                            "team": row.entry.team if row else "",
                            "href": page_of(row.entry) if row else None})
    members.sort(key=lambda m: -m["share"])
    return {"score": b.get("score"), "value": b.get("blended_valid"),
            "best_single": b.get("best_single_valid"), "n": b.get("n_submissions"),
            "folds": b.get("n_folds"), "members": members}


def _kit_view(ch: Challenge) -> dict:
    """What the "how to submit" page says of the kit: its starting kit's files."""
    files: list[str] = []
    try:
        start = ch.kit.submission_dir("starting_kit")
        if start.is_dir():
            files = sorted(p.relative_to(start).as_posix() for p in start.rglob("*")
                           if p.is_file() and "__pycache__" not in p.parts)
    except (OSError, AttributeError, ValueError):
        pass
    folder = f"{ch.kit_dir}/submissions" if ch.kit_dir else "submissions"
    return {"folder": folder, "kit_dir": ch.kit_dir or ".", "files": files,
            "phases": ch.phases}


def _key(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()


@contextmanager
def _collecting(on: bool) -> Iterator[None]:
    """The cyclic collector running (when `on`) over what is made inside, everything
    made before frozen: the challenge's boards, the summaries they read and the list
    of pages to render live until it is done, and each full collection that rendering
    thousands of pages sets off would scan them again."""
    gc.freeze()
    if on:
        gc.enable()
    try:
        yield
    finally:
        gc.disable()


def _kept_bucket(page: tuple) -> int:
    return record_bucket(page[0].kept_ident)


def _by_label(entries: list[Entry]) -> dict[str, Entry]:
    """The latest record of each version (a rescored version keeps one page per record)."""
    out: dict[str, Entry] = {}
    for e in entries:
        out[e.label] = e
    return out


def _summary(result, split: str) -> dict[str, Cell]:
    means, stds = result.mean(split), result.std(split)
    return {n: Cell(None, means.get(n), stds.get(n)) for n in result.score_names}
