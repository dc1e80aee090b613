"""Builds the static site: model -> boards -> pages, plots and data files.

Layout of the output (every link relative, so it works from file://, a sub-path or
any static server):

    index.html                         the repository's challenges
    assets/                            CSS, the table-sorting script, code colours
    <challenge>/index.html             problem, team leaderboard, plots
    <challenge>/submissions.html       every scored submission
    <challenge>/private.html           the private board (only once revealed)
    <challenge>/failed.html, teams.html, team/<team>.html, lineage.html
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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup

from site_generator import code as codemod
from site_generator import plots
from site_generator.boards import (
    PUBLIC,
    Cell,
    Row,
    best_over_time,
    overall_best_over_time,
    private_board,
    private_team_board,
    rank,
    team_best,
)
from site_generator.export import leaderboard_csv, leaderboard_json
from site_generator.model import Challenge, Entry, RecordCache, read_repository, slug
from site_generator.output import Output
from site_generator.render import environment, markdown, templates_fingerprint

ASSETS = "assets"
CACHE_DIR = "gitramp-site-cache"  # in the repository's .git folder
SPLIT_NAMES = {"train": "Train", "valid": "Validation", "test": "Private test"}


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


def build(repo_path: str | Path, out_dir: str | Path, *,
          now: datetime | None = None) -> BuildSummary:
    """Build (or update) the site of the repository at `repo_path` into `out_dir`."""
    # A big ledger is millions of small objects. The cyclic collector would rescan them
    # again and again while they are read, so it pauses; then they are frozen (never
    # scanned) and it runs again for the garbage that rendering makes.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(repo_path, out_dir, now, collecting)
    finally:
        gc.unfreeze()
        if collecting:
            gc.enable()


def _build(repo_path: str | Path, out_dir: str | Path, now: datetime | None,
           collecting: bool) -> BuildSummary:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    git = codemod.open_repository(Path(repo_path))
    cache = RecordCache(Path(git.path) / CACHE_DIR if git is not None else None)
    repo = read_repository(repo_path, cache)
    read = time.perf_counter() - started
    gc.freeze()
    if collecting:
        gc.enable()
    out = Output(Path(out_dir).resolve())
    builder = _Builder(out, git, now)
    builder.assets()
    views = [builder.challenge(ch) for ch in repo.challenges]
    builder.page("index.html", "index.html", root="", challenges=views)
    builder.row_texts.clear()
    stats = out.finish()
    total = time.perf_counter() - started
    return BuildSummary(out.root, [c.name for c in repo.challenges],
                        sum(len(c.entries) for c in repo.challenges), builder.rendered,
                        builder.kept, stats.written, stats.unchanged, stats.removed, total,
                        {"read": read, "submission_pages": builder.page_seconds,
                         "other": total - read - builder.page_seconds}, repo.skipped)


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
    rows: list[Row]
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
    for p in ch.phases:
        if p.start <= now < p.end:
            return {"key": p.name, "label": f"{p.name} phase, until {p.end:%Y-%m-%d}"}
    if ch.phases and now < ch.phases[0].start:
        return {"key": "before", "label": f"starts {ch.phases[0].start:%Y-%m-%d}"}
    if ch.phases:
        return {"key": "ended", "label": f"ended {ch.phases[-1].end:%Y-%m-%d}"}
    return {"key": "none", "label": "no phases declared"}


def page_of(entry: Entry) -> str:
    """A submission page, relative to its challenge folder."""
    return submission_page(entry.name, entry.stem)


def submission_page(name: str, stem: str) -> str:
    """The page of the version of submission `name` whose ledger file is `<stem>.yml`,
    relative to the challenge's folder; PR comments link to it too."""
    return f"s/{slug(name)}~{slug(stem)}.html"  # "~" never occurs in a slug


def team_page(team: str) -> str:
    return f"team/{slug(team)}.html"


def _pct(value: Any) -> str:
    return f"{float(value) * 100:.0f} %" if isinstance(value, int | float) else "–"


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%MZ")


# --------------------------------------------------------------------------- builder
class _Builder:
    def __init__(self, out: Output, git, now: datetime):
        self.out = out
        self.git = git
        self.now = now
        self.env = environment()
        self.fingerprint = templates_fingerprint()
        self.rendered = 0
        self.kept = 0
        self.page_seconds = 0.0
        # Globals, not context: imported macros see only globals.
        self.env.globals.update(page=page_of, team_page=team_page, pct=_pct,
                                split_names=SPLIT_NAMES)
        self.row_texts = self.env.globals["row_text"]
        self.row_texts.configure(page_of, team_page)

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)

    def page(self, path: str, template: str, **context: Any) -> None:
        context.setdefault("code_css", False)
        self.out.write(path, self.render(template, **context))

    def assets(self) -> None:
        static = resources.files("site_generator").joinpath("static")
        for item in static.iterdir():
            if item.is_file():
                self.out.write(f"{ASSETS}/{item.name}", item.read_bytes())
        self.out.write(f"{ASSETS}/code.css", codemod.stylesheet())
        self.out.write(".nojekyll", "")  # GitHub Pages: serve the files as they are

    # ------------------------------------------------------------------ a challenge
    def challenge(self, ch: Challenge) -> ChallengeView:
        cdir = slug(ch.name)
        if cdir == ASSETS:
            cdir = f"{ASSETS}-challenge"
        public = rank(ch.entries, ch.scores, PUBLIC)
        best = team_best(public)
        revealed = ch.state.revealed
        private = private_board(public, ch.scores) if revealed else None
        private_best = private_team_board(best, ch.scores) if revealed else None
        failed = [e for e in ch.entries if not e.scored]
        tabs = [("index.html", "Leaderboard"), ("submissions.html", "All submissions")]
        if revealed:
            tabs.append(("private.html", "Private leaderboard"))
        tabs += [("failed.html", "Failed"), ("teams.html", "Teams"),
                 ("lineage.html", "Lineage")]
        view = ChallengeView(
            name=ch.name, slug=cdir, title=ch.title, description=ch.description,
            scores=ch.scores, state=ch.state,
            phases=[PhaseView(p.name, _iso(p.start), _iso(p.end)) for p in ch.phases],
            phase=current_phase(ch, self.now), tabs=tabs,
            has_contributivity=any(e.result.contributivity for e in ch.entries),
            public_rows=public, team_rows=best, private_rows=private or [],
            private_team_rows=private_best or [], failed=failed,
            n_submissions=len(ch.entries), moderation=ch.moderation)
        view.teams = self._teams(ch, public, best, failed)
        self.row_texts.clear()
        self._plots(ch, view, public, cdir)

        common = {"ch": view, "root": "../"}
        self.page(f"{cdir}/index.html", "challenge.html", readme=markdown(ch.readme), **common)
        self.page(f"{cdir}/submissions.html", "submissions.html", **common)
        self.page(f"{cdir}/failed.html", "failed.html", **common)
        self.page(f"{cdir}/teams.html", "teams.html", **common)
        if revealed:
            self.page(f"{cdir}/private.html", "private.html", **common)
        shared = [self.fingerprint, view.title, view.tabs, [vars(c) for c in ch.scores],
                  view.has_contributivity, len(view.team_rows),
                  [a.describe() for a in ch.moderation]]
        for t in view.teams:
            # a new result elsewhere leaves most team pages as they were: skip those
            path = f"{cdir}/{team_page(t.name)}"
            key = _key(shared, t.rank, [(r.entry.digest, r.entry.name, r.entry.stem)
                                        for r in t.rows], [e.digest for e in t.failed])
            if not self.out.fresh(path, key):
                self.out.write(path, self.render("team.html", team=t, ch=view, root="../../",
                                                 code_css=False), inputs_key=key)
        self._lineage_page(ch, view, cdir)
        self.out.write(f"{cdir}/leaderboard.json", leaderboard_json(
            ch, public, best, private, private_best, failed, page_of))
        self.out.write(f"{cdir}/leaderboard.csv", leaderboard_csv(ch, public, private))
        self._submission_pages(ch, view, cdir)
        return view

    def _teams(self, ch: Challenge, public: list[Row], best: list[Row],
               failed: list[Entry]) -> list[TeamView]:
        rank_of = {r.entry.team: r for r in best}
        teams: dict[str, TeamView] = {}
        for e in ch.entries:
            t = teams.setdefault(e.team, TeamView(e.team, None, None, [], [], 0))
            t.n += 1
        for r in public:  # ranked within the team, so other teams' results leave it be
            rows = teams[r.entry.team].rows
            rows.append(replace(r, rank=len(rows) + 1))
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
            teams = best_over_time(public, first.lower_is_better)
            overall = overall_best_over_time(public, first.lower_is_better)
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

    def _lineage_page(self, ch: Challenge, view: ChallengeView, cdir: str) -> None:
        by_label = _by_label(ch.entries)
        derived = [(e, by_label.get(e.parent_label or "")) for e in ch.entries
                   if e.parent_label]
        path = f"{cdir}/lineage.html"
        key = _key(self.fingerprint, view.title, view.tabs, [
            (e.label, e.name, e.stem, e.team, e.submitted_at, e.parent_label,
             e.result.lineage.get("parent_team"), e.result.lineage.get("inherited_share"),
             p and (p.label, p.name, p.stem, p.team, p.submitted_at)) for e, p in derived])
        if self.out.fresh(path, key):  # most new results derive from nothing
            return
        nodes = [plots.Node(e.label, e.name, e.team, page_of(e), e.submitted_at)
                 for e in by_label.values()]
        edges = [(e.parent_label, e.label) for e in by_label.values()
                 if e.parent_label and e.parent_label in by_label]
        graph = plots.lineage_graph(f"Lineage of {ch.title}", nodes, edges)
        self.out.write(path, self.render("lineage.html", ch=view, root="../",
                                         graph=Markup(graph), derived=derived, code_css=False),
                       inputs_key=key)

    # ------------------------------------------------------------- submission pages
    def _submission_pages(self, ch: Challenge, view: ChallengeView, cdir: str) -> None:
        started = time.perf_counter()
        self._render_submissions(ch, view, cdir)
        self.page_seconds += time.perf_counter() - started

    def _render_submissions(self, ch: Challenge, view: ChallengeView, cdir: str) -> None:
        by_label = _by_label(ch.entries)
        children: dict[str, list[Entry]] = {}
        for e in ch.entries:
            if e.parent_label:
                children.setdefault(e.parent_label, []).append(e)
        folder = f"{ch.kit_dir}/submissions" if ch.kit_dir else "submissions"
        show_code = ch.state.code_visible and self.git is not None
        base_key = hashlib.sha1(json.dumps([
            self.fingerprint, view.title, view.tabs, [vars(c) for c in ch.scores],
            ch.state.code_visible, ch.state.revealed, folder]).encode()).hexdigest()
        for e in ch.entries:
            parent = by_label.get(e.parent_label or "")
            kids = children.get(e.label, [])
            path = f"{cdir}/{page_of(e)}"
            key = hashlib.sha1("\0".join(
                [base_key, e.digest, parent.digest if parent else "", parent.name if parent
                 else "", parent.team if parent else ""]
                + [f"{k.name}/{k.stem}/{k.team}" for k in kids]).encode()).hexdigest()
            if self.out.fresh(path, key):
                self.kept += 1
                continue
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
                               croot="../", self_href=page_of(e).rsplit("/", 1)[-1],
                               parent=parent, children=kids, code=code, code_note=note,
                               splits=splits, summary=summary, code_css=code is not None)
            self.out.write(path, html, inputs_key=key)
            self.rendered += 1

    def _code(self, e: Entry, parent: Entry | None, folder: str):
        tree = codemod.submission_tree(self.git, e.result.tree, e.result.commit,
                                       f"{folder}/{e.name}")
        if tree is None:
            return None, ("The code of this version is not in this repository "
                          "(its commit has not been fetched).")
        parent_tree = None
        if parent is not None:
            parent_tree = codemod.submission_tree(self.git, parent.result.tree,
                                                  parent.result.commit,
                                                  f"{folder}/{parent.name}")
        return codemod.read_code(self.git, tree, parent_tree), ""


def _key(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()


def _by_label(entries: list[Entry]) -> dict[str, Entry]:
    """The latest record of each version (a rescored version keeps one page per record)."""
    out: dict[str, Entry] = {}
    for e in entries:
        out[e.label] = e
    return out


def _summary(result, split: str) -> dict[str, Cell]:
    means, stds = result.mean(split), result.std(split)
    return {n: Cell(None, means.get(n), stds.get(n)) for n in result.score_names}
