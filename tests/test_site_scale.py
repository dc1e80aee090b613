"""The site at scale: team pages and the teams list in pages of bounded size, and the
links back to git taken from the hub's configuration."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from gitramp.main import main as gitramp
from scorer.result import SCORED
from site_generator import build
from site_generator.output import COMPLETE, MANIFEST
from synthetic import Plan, make_repo
from tests.site_checks import links_of

NOW = datetime(2026, 12, 20, tzinfo=UTC)
ROWS = 40  # rows a page in these builds (100 by default)
MB = 1_000_000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    # one team with every submission of its challenge, and a challenge of many teams
    srepo = make_repo(root / "repo", [
        Plan("solo", "One big team", 130, n_teams=1, commits=False, fail_every=5, seed=3),
        Plan("crowd", "Many teams", 100, n_teams=400, commits=False, revealed=True,
             seed=4)])
    site = root / "site"
    build(srepo.path, site, now=NOW, page_rows=ROWS)
    return srepo, site


def site_files(folder) -> dict[str, bytes]:
    """Every file of a built site by its path, but the build's manifest."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and MANIFEST not in p.relative_to(folder).parts}


def site_in_parts(tmp_path, monkeypatch, n: int, seed: int):
    """A challenge of `n` submissions (code visible, private scores revealed) built with
    its data in parts of 8 rows and boards of 7, as a big board is: (its repo, site)."""
    monkeypatch.setattr(importlib.import_module("site_generator.build"), "PART_ROWS", 8)
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", n, n_teams=4, code_visible=True,
                                               revealed=True, seed=seed)])
    site = tmp_path / "site"
    build(srepo.path, site, now=NOW, page_rows=7)
    return srepo, site


def rows_in(page) -> int:
    return len(re.findall(r'<td><a href="\.\./s/', page.read_text()))


def numbered(folder, stem: str) -> list:
    """A board's pages in order: <stem>.html, <stem>-2.html... (not its -last alias)."""
    pages = [folder / f"{stem}.html"]
    while (folder / f"{stem}-{len(pages) + 1}.html").is_file():
        pages.append(folder / f"{stem}-{len(pages) + 1}.html")
    return pages


def test_a_big_team_is_paged_and_every_version_is_on_one_of_its_pages(big):
    srepo, site = big
    versions = srepo.challenges["solo"].versions
    team = versions[0].team
    pages = sorted((site / "solo/team").glob(f"{team}*.html"))
    assert len(pages) == -(-len(versions) // ROWS) == 4
    assert pages[0].name == f"{team}.html" and (site / f"solo/team/{team}~2.html").is_file()
    shown = set()
    for page in pages:
        assert rows_in(page) <= ROWS
        shown |= set(re.findall(r'href="\.\./(s/[^"]+\.html)"', page.read_text()))
    assert shown == {f"s/{v.name}~{v.stem}.html" for v in versions}
    scored = sum(v.result.status == SCORED for v in versions)
    first = pages[0].read_text()
    assert f"Rows 1–{ROWS} of {len(versions)}" in first and 'rel="next"' in first
    assert f"{len(versions)} submission(s), {len(versions) - scored} failed" in first
    for page in pages:
        for _, link in links_of(page):
            if "://" not in link and not link.startswith("#"):
                assert (page.parent / unquote(link.split("#")[0])).resolve().is_file(), link


def test_no_page_grows_with_a_team_or_the_number_of_teams(big):
    """A page holds at most ROWS rows whatever the ledger's size, so its size is bounded:
    the largest page here, with rows as long as the synthetic ones, times the 100 rows of
    a default page, stays far under 1 MB (the bound at 100,000 submissions)."""
    srepo, site = big
    sizes = {p: p.stat().st_size for p in site.rglob("*.html")}
    largest = max(sizes.values())
    assert largest * 100 / ROWS < MB
    n_teams = len({v.team for v in srepo.challenges["crowd"].versions})
    assert n_teams > 2 * ROWS
    teams = numbered(site / "crowd", "teams")
    assert len(teams) == -(-n_teams // ROWS)
    # the pages far from the end link the last by its alias: a copy of it
    assert (site / "crowd/teams-last.html").read_bytes() == teams[-1].read_bytes()
    assert 'href="teams-last.html">Last</a>' in teams[0].read_text()
    listed = [len(re.findall(r'<td><a href="team/', p.read_text())) for p in teams]
    assert max(listed) == ROWS and sum(listed) == n_teams
    # the number of teams is left to the status file, so a new team rewrites one page
    assert f"Teams 1–{ROWS}<span class=\"of\" data-board=\"teams\" hidden>" in \
        (site / "crowd/teams.html").read_text()
    # without script, each page's pager links the build page, which tells every board's
    # rows (that page is rewritten by every build anyway)
    link = '<span class="totals"> · <a href="../status.html#crowd">how many rows</a></span>'
    for page in teams + numbered(site / "crowd", "submissions"):
        assert link in page.read_text(), page.name
    told = re.search(r'<dt id="crowd">.*?</dd>', (site / "status.html").read_text(), re.S)
    scored = sum(v.result.status == SCORED for v in srepo.challenges["crowd"].versions)
    assert f"Teams {n_teams}," in told.group(0)
    assert f"All submissions {scored}," in told.group(0)


def test_the_private_boards_are_paged_like_the_public_ones(big):
    """Once revealed, the private team board (every team) and the private board of every
    submission are paged too: at 100,000 submissions the team board alone was 2.8 MB."""
    srepo, site = big
    versions = [v for v in srepo.challenges["crowd"].versions if v.result.status == SCORED]
    teams = numbered(site / "crowd", "private")
    everyone = numbered(site / "crowd", "private-submissions")
    n_teams = len({v.team for v in versions})
    assert len(teams) == -(-n_teams // ROWS) and len(everyone) == -(-len(versions) // ROWS)
    def rows(page) -> int:  # a board row links its team's page, then its submission's
        return len(re.findall(r'<td><a href="team/[^"]+">[^<]*</a></td>\s*<td><a href="s/',
                              page.read_text()))

    for page in teams + everyone:
        assert 0 < rows(page) <= ROWS
    assert sum(rows(p) for p in teams) == n_teams
    assert sum(rows(p) for p in everyone) == len(versions)
    first = (site / "crowd/private.html").read_text()
    assert 'href="private-submissions.html"' in first and 'href="private-2.html"' in first
    status = (site / "status.js").read_text()
    assert f'"private_team_rows":{n_teams}' in status
    assert f'"private_rows":{len(versions)}' in status


def test_submission_pages_link_to_the_forge_named_in_gitramp_toml(tmp_path, capsys):
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 4, n_teams=2, fail_every=0)])
    (srepo.path / "gitramp.toml").write_text('forge = "https://git.example.org/org/hub/"\n')
    v = srepo.challenges["c"].versions[0]
    out = tmp_path / "site"
    assert gitramp(["site", "--repo", str(srepo.path), "--out", str(out)]) == 0
    page = (out / "c/s" / f"{v.name}~{v.stem}.html").read_text()
    assert f'href="https://git.example.org/org/hub/commit/{v.result.commit}"' in page
    assert f'href="https://git.example.org/org/hub/pull/{v.result.pr}"' in page
    assert f"git fetch origin pull/{v.result.pr}/head" in page
    # the command line wins over the file
    assert gitramp(["site", "--repo", str(srepo.path), "--out", str(out),
                    "--forge-url", "https://github.com/other/hub"]) == 0
    page = (out / "c/s" / f"{v.name}~{v.stem}.html").read_text()
    assert f'href="https://github.com/other/hub/commit/{v.result.commit}"' in page
    assert "git.example.org" not in page


def test_what_builds_keep_in_git_makes_the_same_site_as_a_first_build(tmp_path,
                                                                      monkeypatch):
    """Parsed records, highlighted code and diffs, board rows and data rows are kept
    between builds (in .git, by content); a site made from them is byte for byte the
    first build's, and the data split in parts holds the rows of the whole file."""
    import json
    import shutil

    from site_generator.build import CACHE_DIR

    site_build = importlib.import_module("site_generator.build")  # the module, not build()

    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 30, n_teams=4, code_visible=True,
                                               revealed=True, seed=5)])
    whole = build(srepo.path, tmp_path / "whole", now=NOW)
    assert whole.submissions == 30
    data = json.loads((tmp_path / "whole/c/leaderboard.json").read_text())
    monkeypatch.setattr(site_build, "PART_ROWS", 8)  # parts as a big board has
    first = build(srepo.path, tmp_path / "one", now=NOW, page_rows=7)
    index = json.loads((tmp_path / "one/c/leaderboard.json").read_text())
    for name, want in (("submissions", data["submissions"]),
                       ("private", data["private"]["submissions"]),
                       ("failed", data["failed"])):
        got = [row for part in index["parts"][name]
               for row in json.loads((tmp_path / "one/c" / part).read_text())["rows"]]
        assert got == want
    assert len(index["parts"]["submissions"]) == len(index["parts"]["private"]) > 1
    kept = srepo.path / ".git" / CACHE_DIR
    assert (kept / "rows").is_dir() and (kept / "highlight").is_dir()
    records = {p.name: p.read_bytes() for p in kept.glob("[0-9]*.marshal")}
    assert records
    again = build(srepo.path, tmp_path / "two", now=NOW, page_rows=7)
    # every page rendered again, each record read once from what is kept (a full
    # record is dropped once its page is made): none parsed again, no bucket rewritten
    assert again.pages_rendered == 30
    assert {p.name: p.read_bytes() for p in kept.glob("[0-9]*.marshal")} == records
    # a record a page reads that is no longer kept is parsed, and kept again at the end
    import marshal
    lost = sorted(records)[0]
    (kept / lost).unlink()
    build(srepo.path, tmp_path / "three", now=NOW, page_rows=7)
    assert marshal.loads((kept / lost).read_bytes())["records"].keys() == \
        marshal.loads(records[lost])["records"].keys()
    assert whole.timings["highlighted_files"] > 0
    assert first.timings["highlighted_files"] == again.timings["highlighted_files"] == 0

    one, two = site_files(tmp_path / "one"), site_files(tmp_path / "two")
    assert one.keys() == two.keys() and len(one) > 60
    assert [f for f in one if one[f] != two[f]] == []
    # a damaged row bucket is only formatted again
    buckets = list((kept / "rows").rglob("*.texts"))
    assert len(buckets) > 10
    for bucket in buckets:
        bucket.write_bytes(b"\x00garbage")
    shutil.rmtree(tmp_path / "two")
    build(srepo.path, tmp_path / "two", now=NOW, page_rows=7)
    assert site_files(tmp_path / "two") == one


def test_a_rebuild_after_a_new_result_is_the_site_a_fresh_build_makes(tmp_path,
                                                                       monkeypatch):
    """A rebuild after a result that moves other rows down (their ranks on the public and
    private boards, board pages, data parts, the search index) writes the same bytes as a
    first build of the same ledger with nothing kept; so does a rebuild after a second."""
    import json
    import shutil

    from site_generator.build import CACHE_DIR
    from synthetic import add_submission

    srepo, site = site_in_parts(tmp_path, monkeypatch, 40, seed=6)

    for round_ in (1, 2):
        new = add_submission(srepo, "c", seed=round_)
        again = build(srepo.path, site, now=NOW, page_rows=7)
        assert again.pages_rendered == 1
        board = json.loads((site / "c/leaderboard.json").read_text())
        rows = [r for part in board["parts"]["submissions"]
                for r in json.loads((site / "c" / part).read_text())["rows"]]
        rank = next(r["rank"] for r in rows if r["submission"] == new.name)
        assert rank < len(rows) - 1  # rows below it moved down a rank
        fresh = tmp_path / f"fresh{round_}"
        shutil.rmtree(srepo.path / ".git" / CACHE_DIR)
        build(srepo.path, fresh, now=NOW, page_rows=7)
        one, two = site_files(site), site_files(fresh)
        assert sorted(one) == sorted(two)
        assert [f for f in one if one[f] != two[f]] == []


def test_a_rebuild_after_a_generator_upgrade_is_the_upgraded_generator_s_fresh_build(
        tmp_path, monkeypatch):
    """An upgrade that changes how data rows are written (here the CSV's numbers and the
    JSON's spacing) reaches every file: the data parts and the CSV, whose inputs (the
    rows) did not change, are written again, not kept from the old generator."""
    import shutil

    from site_generator import export, render
    from site_generator.build import CACHE_DIR

    site_build = importlib.import_module("site_generator.build")
    srepo, site = site_in_parts(tmp_path, monkeypatch, 30, seed=7)
    old_csv = (site / "c/leaderboard.csv").read_text()
    # the upgrade: another generator (its fingerprint, and the row texts' version, which
    # both follow the generator's source files) writing numbers and JSON otherwise
    monkeypatch.setattr(site_build, "generator_fingerprint", lambda: "upgraded")
    monkeypatch.setattr(render.KeptTexts, "VERSION", "upgraded")
    monkeypatch.setattr(export, "_f", lambda v: "" if v is None else f"{float(v):.4f}")
    dumps = export._dumps
    monkeypatch.setattr(export, "_dumps", lambda v: dumps(v).replace(",", ", "))
    build(srepo.path, site, now=NOW, page_rows=7)
    assert (site / "c/leaderboard.csv").read_text() != old_csv
    # the old formatter's row texts are gone from the cache, the new one's are there
    assert [p.name for p in (srepo.path / ".git" / CACHE_DIR / "rows").iterdir()] == \
        ["upgraded"]
    shutil.rmtree(srepo.path / ".git" / CACHE_DIR)
    build(srepo.path, tmp_path / "fresh", now=NOW, page_rows=7)

    one, two = site_files(site), site_files(tmp_path / "fresh")
    assert sorted(one) == sorted(two)
    assert [f for f in one if one[f] != two[f]] == []


def test_a_kept_text_of_another_context_is_made_again(tmp_path):
    """Row texts are kept by the record's key line; all else a text depends on (its
    columns, its links' root) is the kind's context, held in its files: a text kept in
    another context is not given, and the file is written over with this one's."""
    from site_generator.render import KeptTexts

    texts = KeptTexts(tmp_path)
    texts.kind("csv", context="acc,nll").put("'d1'\0'a'\0's'", "0.5,0.1")
    texts.save({"'d1'\0'a'\0's'"})
    assert KeptTexts(tmp_path).kind("csv", context="acc,nll").get("'d1'\0'a'\0's'") == \
        "0.5,0.1"
    other = KeptTexts(tmp_path)
    moved = other.kind("csv", context="nll,acc")
    assert moved.get("'d1'\0'a'\0's'") is None  # the columns changed: made again
    moved.put("'d1'\0'a'\0's'", "0.1,0.5")
    other.save({"'d1'\0'a'\0's'"})
    again = KeptTexts(tmp_path)
    assert again.kind("csv", context="nll,acc").get("'d1'\0'a'\0's'") == "0.1,0.5"
    assert again.kind("csv", context="acc,nll").get("'d1'\0'a'\0's'") is None
    # a record gone from the ledger loses its text when its file is written next (a
    # new record's text, kept in the same file)
    kind = again.kind("csv", context="nll,acc")
    same_file = next(k for k in (f"'d{i}'\0'b'\0's'" for i in range(2, 999))
                     if kind._bucket(k) == kind._bucket("'d1'\0'a'\0's'"))
    kind.put(same_file, "0.2,0.4")
    again.save({same_file})
    last = KeptTexts(tmp_path).kind("csv", context="nll,acc")
    assert last.get(same_file) == "0.2,0.4"
    assert last.get("'d1'\0'a'\0's'") is None


def test_a_rebuild_reads_the_team_page_texts_of_the_new_result_s_team_group_only(
        tmp_path, monkeypatch):
    """Row texts are kept by kind: the one team page a new result changes reads its
    group of teams' texts, not every team's (at 10,000 submissions those are 9 MB),
    and the texts it adds are kept in that group's file."""
    from site_generator import kept as kept_files
    from site_generator.build import CACHE_DIR
    from site_generator.render import KeptTexts
    from synthetic import add_submission

    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 60, n_teams=12, code_visible=True,
                                               revealed=True, seed=8)])
    site = tmp_path / "site"
    build(srepo.path, site, now=NOW, page_rows=7)
    rows = srepo.path / ".git" / CACHE_DIR / "rows"
    groups = set(rows.rglob("team-*.texts"))
    assert len(groups) > 3  # twelve teams, in several groups
    new = add_submission(srepo, "c", seed=3)
    read = []
    real = kept_files.read_with_blob
    monkeypatch.setattr(kept_files, "read_with_blob",
                        lambda path, version: read.append(path) or real(path, version))
    build(srepo.path, site, now=NOW, page_rows=7)
    team_texts = [p for p in read if p in groups]
    assert len(team_texts) == 1
    texts = kept_files.read_with_blob(team_texts[0], KeptTexts.VERSION)[0]["keys"]
    # kept by the record's key line (digest, name and version)
    assert any(key.endswith(f"\0{new.stem!r}") for key in texts)
    assert any(p.name.startswith("row-") for p in read)  # the boards' rows were read


def test_a_rebuild_shows_the_team_s_failures_without_reading_their_summaries(
        tmp_path, monkeypatch):
    """The team page a new result changes lists the team's failures, their stage and
    reason, from the last build's note: their summaries lie in any part of the record
    cache (at 100,000 submissions, reading them loaded nearly all of it)."""
    import html

    from site_generator import model
    from synthetic import add_submission

    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 60, n_teams=3, code_visible=True,
                                               revealed=True, seed=8)])
    site = tmp_path / "site"
    build(srepo.path, site, now=NOW, page_rows=100)
    new = add_submission(srepo, "c", seed=3)
    read: list[str] = []
    real = model._noted_summary
    monkeypatch.setattr(model, "_noted_summary",
                        lambda cache, key, load: read.append(key) or real(cache, key, load))
    build(srepo.path, site, now=NOW, page_rows=100)
    team = next(v.team for v in srepo.challenges["c"].versions if v.name == new.name)
    page = (site / "c" / "team" / f"{team}.html").read_text()
    failed = [e for e in _entries(srepo.path) if e.team == team and e.status != "scored"]
    assert failed  # the team has failures, on the page that was made again
    for e in failed:
        assert html.escape(e.summary.reason or "no reason recorded", quote=False) in page
    assert not {e.kept_ident for e in failed} & {k.split("\0")[0] for k in read}


def test_the_lineage_page_is_made_without_reading_summaries(tmp_path, monkeypatch):
    """The lineage page's table says each derived submission's parent team and
    inherited share from the last build's note: their summaries lie in every part of
    the record cache (at 100,000 submissions, loading them all cost 2.9 s of a build)."""
    import html

    from site_generator import model

    build_module = importlib.import_module("site_generator.build")
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 60, n_teams=3, code_visible=True,
                                               revealed=True, seed=8)])
    build(srepo.path, tmp_path / "first", now=NOW)
    read: list[str] = []
    in_lineage = [False]
    real_summary, real_page = model._noted_summary, build_module._Builder._lineage_page

    def summary(cache, key, load):
        if in_lineage[0]:
            read.append(key)
        return real_summary(cache, key, load)

    def lineage_page(self, *args):
        in_lineage[0] = True
        try:
            return real_page(self, *args)
        finally:
            in_lineage[0] = False
    monkeypatch.setattr(model, "_noted_summary", summary)
    monkeypatch.setattr(build_module._Builder, "_lineage_page", lineage_page)
    site = tmp_path / "site"
    build(srepo.path, site, now=NOW)  # a whole site, of the entries the note kept
    page = (site / "c" / "lineage.html").read_text()
    table = page.split('aria-label="Derived submissions"', 1)[1]
    # the derived submissions of the families drawn
    shown = [e for e in _entries(srepo.path)
             if e.parent_label and f'<tr><td><a href="{e.page}">' in table]
    assert shown and not read
    for e in shown:
        share = e.summary.lineage["inherited_share"]
        row = table.split(f'<tr><td><a href="{e.page}">', 1)[1].split("</tr>", 1)[0]
        assert (f"<td>{html.escape(e.summary.lineage['parent_team'])}</td>\n"
                f'<td class="num" data-sort="{share}">{share * 100:.0f} %</td>') in row
    assert page == (tmp_path / "first" / "c" / "lineage.html").read_text()


def _entries(path):
    """Every entry of the repository's one challenge, read whole."""
    from site_generator import model

    repo = model.read_repository(path)
    model.read_records(repo)
    return repo.challenges[0].entries


def test_a_new_pygments_highlights_the_code_again_and_renders_every_page(tmp_path,
                                                                         monkeypatch):
    """The pages hold what Pygments, Jinja and markdown-it write: a new version of one of
    them makes every page again, and code is highlighted again rather than served from
    what the old Pygments highlighted."""
    from importlib import metadata

    from site_generator import render

    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 12, n_teams=3, code_visible=True,
                                               seed=8)])
    site = tmp_path / "site"
    first = build(srepo.path, site, now=NOW)
    assert first.timings["highlighted_files"] > 0
    same = build(srepo.path, site, now=NOW)
    assert same.pages_rendered == 0 and same.timings["highlighted_files"] == 0
    version = metadata.version
    monkeypatch.setattr(metadata, "version",
                        lambda name: "99.0" if name == "pygments" else version(name))
    render.generator_fingerprint.cache_clear()
    try:
        upgraded = build(srepo.path, site, now=NOW)
    finally:
        render.generator_fingerprint.cache_clear()
    assert upgraded.pages_rendered == upgraded.submissions == 12
    assert upgraded.timings["highlighted_files"] == first.timings["highlighted_files"]


def test_a_new_page_at_the_end_leaves_the_pages_far_from_it_as_they_were(tmp_path,
                                                                       monkeypatch):
    """A result that adds a page to a board changes the pager of the pages near the end
    only: the number of pages is left to the status file, and the pages far from the end
    link the last one by its alias. Those far pages above the new row are not written at
    all; the others keep their frames (no template rendered) but the last four; the
    alias is the new last page, and the site is a fresh build's."""
    import json
    import shutil

    from site_generator.build import CACHE_DIR, _Builder, board_page
    from site_generator.output import Output
    from synthetic import add_submission

    rows = 3
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 30, n_teams=3, revealed=True,
                                               seed=24)])
    site = tmp_path / "site"
    build(srepo.path, site, now=NOW, page_rows=rows)
    scored = len(json.loads((site / "c/leaderboard.json").read_text())["submissions"])
    for k in range(-scored % rows):  # a full last page: the next result opens a page
        add_submission(srepo, "c", seed=20 + k)
    build(srepo.path, site, now=NOW, page_rows=rows)
    before = -(-(scored + (-scored % rows)) // rows)
    assert before >= 8
    rendered, written = [], set()
    real, write = _Builder.render, Output.write

    def render(self, template, **context):
        pg = context.get("pg")
        if pg is not None:
            rendered.append((pg.base, pg.index))
        return real(self, template, **context)

    def record(self, path, *args, **kwargs):
        written.add(path)
        return write(self, path, *args, **kwargs)
    monkeypatch.setattr(_Builder, "render", render)
    monkeypatch.setattr(Output, "write", record)
    def boards():  # each row as a page shows it: the version, its ranks
        data = json.loads((site / "c/leaderboard.json").read_text())
        return {base: [(r["version"], r["rank"], r.get("public_rank")) for r in board]
                for base, board in (("submissions.html", data["submissions"]), (
                    "private-submissions.html", data["private"]["submissions"]))}
    old = boards()
    add_submission(srepo, "c", seed=40)
    build(srepo.path, site, now=NOW, page_rows=rows)
    monkeypatch.undo()
    after = before + 1
    # near the end the pager's links change shape (page i links i+1, i+2 and the last)
    near = set(range(before - 3, after + 1))
    for base, now in boards().items():
        assert {i for b, i in rendered if b == base} == near, base
        # a page is written when its pager or its rows changed (rows moved down a rank
        # below the new one; on the private board, public ranks moved too)
        pages = [f"c/{board_page(base, i)}" for i in range(1, after + 1)]
        moved = {i for i in range(1, after + 1)
                 if now[(i - 1) * rows:i * rows] != old[base][(i - 1) * rows:i * rows]}
        assert len(moved - near) < 3  # the new row ranks low: most pages stay
        assert {p for p in pages if p in written} == {
            pages[i - 1] for i in range(1, after + 1) if i in moved | near}, base
        assert f"c/{board_page(base, 'last')}" in written
        last = (site / pages[-1]).read_bytes()
        assert (site / f"c/{board_page(base, 'last')}").read_bytes() == last
        first = (site / pages[0]).read_text()
        assert f'href="{board_page(base, "last")}">Last</a>' in first
        assert "page 1<span" in first and f" of {after}<" not in first
    shutil.rmtree(srepo.path / ".git" / CACHE_DIR)
    build(srepo.path, tmp_path / "fresh", now=NOW, page_rows=rows)

    one, two = site_files(site), site_files(tmp_path / "fresh")
    assert sorted(one) == sorted(two)
    assert [f for f in one if one[f] != two[f]] == []


def test_a_build_stopped_half_way_is_mended_by_the_next(tmp_path):
    """Changed files are written over in place, so a build that stops half way (here: a
    folder in the way of a data file written after the board pages) must leave no
    manifest claiming the old contents: the next build then writes every file."""
    from synthetic import add_submission

    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 30, n_teams=4, seed=7)])
    site = tmp_path / "site"
    build(srepo.path, site, now=NOW, page_rows=7)
    add_submission(srepo, "c")
    (site / "c/leaderboard.csv").unlink()
    (site / "c/leaderboard.csv").mkdir()
    with pytest.raises(OSError):
        build(srepo.path, site, now=NOW, page_rows=7)
    assert not (site / MANIFEST / COMPLETE).exists()
    (site / "c/leaderboard.csv").rmdir()
    build(srepo.path, site, now=NOW, page_rows=7)
    build(srepo.path, tmp_path / "fresh", now=NOW, page_rows=7)  # into an empty folder

    assert site_files(site) == site_files(tmp_path / "fresh")


def test_a_lost_manifest_leaves_no_page_of_a_record_gone(tmp_path):
    """A site folder kept between builds (a runner's, or the site job's cache) whose
    manifest does not read (a build stopped half way, another version's manifest) does
    not say which files the last build made: the next build removes every file it does
    not make itself, so that the page of a record removed meanwhile is not published
    still. A folder no build wrote keeps its files."""
    from synthetic import add_submission, commit_ledger

    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 8, n_teams=2, seed=9)])
    gone = add_submission(srepo, "c")
    site = tmp_path / "site"
    build(srepo.path, site, now=NOW)
    page = site / "c/s" / f"{gone.name}~{gone.stem}.html"
    assert page.is_file()
    (site / MANIFEST / COMPLETE).unlink()  # as a build stopped half way leaves it
    (site / "c/old-layout").mkdir()
    (site / "c/old-layout/page.html").write_text("a page of an older generator")
    (srepo.path / "leaderboard_data/c" / gone.name / f"{gone.stem}.yml").unlink()
    commit_ledger(srepo.path, "a record removed")
    summary = build(srepo.path, site, now=NOW)
    assert not page.exists() and not (site / "c/old-layout").exists()
    assert summary.files_removed == 2

    fresh = tmp_path / "fresh"
    build(srepo.path, fresh, now=NOW)

    assert site_files(site) == site_files(fresh)

    other = tmp_path / "other"  # not a site: what is in it stays
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    build(srepo.path, other, now=NOW)
    assert (other / "notes.txt").read_text() == "mine"


def test_a_rebuild_with_nothing_new_reads_no_record(tmp_path, monkeypatch):
    """With the same kits, options and phase, and each challenge's ledger folder the same
    git tree, a build finds that nothing changed without reading or ranking a record:
    it writes the build time's two files, and the site is what reading every record
    makes. Any change of those goes through reading."""
    from site_generator.build import CACHE_DIR
    from site_generator.last_build import FILE
    from synthetic import add_submission

    site_build = importlib.import_module("site_generator.build")  # the package's name is
    # its build function
    srepo = make_repo(tmp_path / "repo", [Plan("a", "A", 12, n_teams=3, seed=3),
                                          Plan("b", "B", 9, n_teams=2, seed=4)])
    site = tmp_path / "site"
    first = build(srepo.path, site, now=NOW)
    reads: list[int] = []
    real = site_build.read_records
    monkeypatch.setattr(site_build, "read_records",
                        lambda *a, **k: (reads.append(1), real(*a, **k))[1])

    def as_read(now):  # the same site, made by reading every record into a new folder
        out = tmp_path / f"read{len(list(tmp_path.glob('read*')))}"
        build(srepo.path, out, now=now)
        return site_files(out)

    def quiet(now):
        before = len(reads)
        summary = build(srepo.path, site, now=now)
        assert len(reads) == before, "a record was read"
        assert summary.pages_rendered == 0 and summary.pages_kept == summary.submissions
        assert site_files(site) == as_read(now)
        return summary

    later = NOW + timedelta(minutes=5)
    summary = quiet(later)
    assert summary.files_written == 2 and summary.submissions == first.submissions
    assert "2026-12-20T00:05Z" in (site / "status.js").read_text()

    def changed(now=NOW, rendered=None):
        before = len(reads)
        summary = build(srepo.path, site, now=now)
        assert len(reads) == before + 1, "the change was not seen"
        assert site_files(site) == as_read(now)
        if rendered is not None:
            assert summary.pages_rendered == rendered
        quiet(now)  # and the next build finds nothing new again

    add_submission(srepo, "a")  # a new record
    changed(rendered=1)
    readme = srepo.path / "kits/b/README.md"  # a kit's text, from the work tree
    readme.write_text(readme.read_text() + "\nOne more line.\n")
    changed(rendered=0)
    changed(now=NOW + timedelta(days=400))  # another phase
    next(site.glob("b/s/*.html")).unlink()  # a page gone from the folder
    changed(now=NOW + timedelta(days=400), rendered=1)
    note = srepo.path / ".git" / CACHE_DIR / FILE
    note.write_text("{damaged")
    changed(now=NOW + timedelta(days=400), rendered=0)
    odd = json.loads(note.read_text())  # the right key, but not what a build writes
    odd["status"]["a"]["rows"] = "many"
    note.write_text(json.dumps(odd))
    changed(now=NOW + timedelta(days=400), rendered=0)


def test_a_later_run_compiles_no_template_and_a_damaged_cache_costs_only_time(
        tmp_path, monkeypatch):
    """Each `gitramp site` run is a process of its own: the templates it compiles are kept
    in the repository's .git, and the next run compiles none of them; a damaged kept
    file is compiled again, never a failed build."""
    import jinja2

    from site_generator import render
    from site_generator.build import CACHE_DIR

    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 6, n_teams=2, seed=8)])
    compiled = []
    real = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile",
                        lambda self, *a, **k: compiled.append(a[1:2]) or real(self, *a, **k))

    def run(out: str) -> dict:
        render.environment.cache_clear()  # as in a new process
        compiled.clear()
        build(srepo.path, tmp_path / out, now=NOW)
        return {p.relative_to(tmp_path / out).as_posix(): p.read_bytes()
                for p in (tmp_path / out).rglob("*.html")}

    try:
        first = run("one")
        assert len(compiled) >= 5  # the pages' templates, their base and macros
        kept = sorted((srepo.path / ".git" / CACHE_DIR / "templates").iterdir())
        assert len(kept) == len(compiled)
        assert run("two") == first and compiled == []
        for path in kept:
            path.write_bytes(path.read_bytes()[:40])  # cut short
        # compiled again, those still rendered (board pages come from their kept frames)
        assert run("three") == first and 0 < len(compiled) <= len(kept)
    finally:
        render.environment.cache_clear()


def test_a_challenge_with_nothing_new_is_kept_whole_and_rebuilt_when_it_changes(
        tmp_path, monkeypatch):
    """In a hub, a new result of one challenge rewrites none of the other's files, nor
    even works out their keys; a rebuild with nothing new works out none; a change the
    kept challenge shows (its README) or a file of it gone rebuilds it, to the same
    site a first build makes."""
    import shutil

    from site_generator.build import CACHE_DIR, _Builder
    from synthetic import add_submission

    keyed = []  # the challenges whose submission pages were looked at, build by build
    pages = _Builder._render_submissions

    def spy(self, ch, *args):
        keyed.append(ch.name)
        return pages(self, ch, *args)
    monkeypatch.setattr(_Builder, "_render_submissions", spy)

    srepo = make_repo(tmp_path / "repo", [
        Plan("a", "A", 30, n_teams=4, code_visible=True, seed=8),
        Plan("b", "B", 30, n_teams=4, code_visible=True, revealed=True, seed=9)])
    site = tmp_path / "site"
    first = build(srepo.path, site, now=NOW, page_rows=7)
    assert first.pages_rendered == 60

    def files(folder):
        return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
                for p in folder.rglob("*") if p.is_file()}

    before = files(site / "b")
    add_submission(srepo, "a")
    keyed.clear()
    again = build(srepo.path, site, now=NOW, page_rows=7)
    assert again.pages_rendered == 1  # the new version's page, in a
    assert keyed == ["a"]
    assert files(site / "b") == before  # not one byte nor one write in b
    keyed.clear()
    noop = build(srepo.path, site, now=NOW, page_rows=7)
    assert (noop.pages_rendered, noop.files_written, keyed) == (0, 0, [])
    from synthetic import OPEN_END
    keyed.clear()
    build(srepo.path, site, now=OPEN_END, page_rows=7)  # the phase now, on every board
    assert keyed == ["a", "b"] and "ended" in (site / "b/index.html").read_text()
    build(srepo.path, site, now=NOW, page_rows=7)

    readme = srepo.path / "kits/b/README.md"
    readme.write_text(readme.read_text() + "\nA line the organizers added.\n")
    (site / "b/s").joinpath(sorted(p.name for p in (site / "b/s").iterdir())[0]).unlink()
    keyed.clear()
    mended = build(srepo.path, site, now=NOW, page_rows=7)
    assert "A line the organizers added." in (site / "b/index.html").read_text()
    assert mended.pages_rendered == 1  # the page that was gone
    assert keyed == ["b"]
    shutil.rmtree(srepo.path / ".git" / CACHE_DIR)
    build(srepo.path, tmp_path / "fresh", now=NOW, page_rows=7)
    mine = {k: v[0] for k, v in files(site).items() if MANIFEST not in k}
    theirs = {k: v[0] for k, v in files(tmp_path / "fresh").items() if MANIFEST not in k}
    assert sorted(mine) == sorted(theirs)
    assert [f for f in mine if mine[f] != theirs[f]] == []


def test_a_readme_is_rendered_again_only_when_its_text_changes(tmp_path, monkeypatch):
    """Every result changes its leaderboard's first page, which shows the kit's README:
    its HTML is kept by its text, for each challenge of a hub."""
    build_module = importlib.import_module("site_generator.build")  # not the function
    from synthetic import add_submission

    srepo = make_repo(tmp_path / "repo", [Plan("a", "A", 8, n_teams=2, seed=3),
                                          Plan("b", "B", 8, n_teams=2, seed=4)])
    site = tmp_path / "site"
    build(srepo.path, site, now=NOW)
    rendered = []
    real = build_module.markdown

    def markdown(text):
        rendered.append(text)
        return real(text)
    monkeypatch.setattr(build_module, "markdown", markdown)
    for name in ("a", "b"):
        add_submission(srepo, name)
    build(srepo.path, site, now=NOW)
    assert rendered == []  # both first pages written again, from the kept READMEs
    readme = srepo.path / "kits/b/README.md"
    readme.write_text(readme.read_text() + "\nA *new* line.\n")
    add_submission(srepo, "a")
    build(srepo.path, site, now=NOW)
    assert len(rendered) == 1 and rendered[0].endswith("A *new* line.\n")
    assert "A <em>new</em> line." in (site / "b/index.html").read_text()
    assert "A <em>new</em> line." not in (site / "a/index.html").read_text()


def test_a_rebuild_keys_the_pages_of_the_records_that_came_and_of_their_kin(
        tmp_path, monkeypatch):
    """A rebuild works out the keys of the submission pages showing a record that came
    (its own, its parent's, its label's children's), not of every page: a new version
    built on an old one keys its page and its parent's, which lists it; a page gone from
    the folder is made again; a damaged read note, or one of another build than the
    manifest's (a build stopped between them), keys every page. Each rebuild is a fresh
    build's site."""
    import shutil

    from site_generator.build import CACHE_DIR
    from site_generator.last_read import NOTE_DIR
    from site_generator.model import submission_page
    from synthetic import add_submission

    site_build = importlib.import_module("site_generator.build")
    asked = []  # the pages each build keyed, when it did not key every one
    with_kin = site_build.with_kin

    def spy(entries, came):
        out = with_kin(entries, came)
        asked.append(sorted(f"c/{e.page}" for e in out))
        return out
    monkeypatch.setattr(site_build, "with_kin", spy)

    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 24, n_teams=3, code_visible=True,
                                               revealed=True, seed=7)])
    site, note = tmp_path / "site", srepo.path / ".git" / CACHE_DIR / NOTE_DIR
    build(srepo.path, site, now=NOW, page_rows=7)
    assert asked == []  # no note yet: every page keyed

    def page(v) -> str:
        return f"c/{submission_page(v.name, v.stem)}"

    versions = srepo.challenges["c"].versions
    parent = next(v for v in versions if v.result.status == SCORED)
    child = add_submission(srepo, "c", seed=3, parent=parent)
    again = build(srepo.path, site, now=NOW, page_rows=7)
    assert asked == [sorted([page(parent), page(child)])]
    assert again.pages_rendered == 2
    assert f'href="../{submission_page(child.name, child.stem)}"' in \
        (site / page(parent)).read_text()  # the parent lists its new child

    grandchild = add_submission(srepo, "c", seed=4, parent=child)
    asked.clear()
    build(srepo.path, site, now=NOW, page_rows=7)
    assert asked == [sorted([page(child), page(grandchild)])]

    (site / page(versions[0])).unlink()  # gone from the folder: made again
    asked.clear()
    mended = build(srepo.path, site, now=NOW, page_rows=7)
    assert (asked, mended.pages_rendered) == ([[]], 1)

    # a note that is not the manifest build's (a build stopped between the two) is
    # not used for the pages: the records it reads since are not what they lack
    shutil.copytree(note, tmp_path / "old-note")
    add_submission(srepo, "c", seed=5)
    build(srepo.path, site, now=NOW, page_rows=7)
    shutil.rmtree(note)
    shutil.copytree(tmp_path / "old-note", note)
    add_submission(srepo, "c", seed=7)
    asked.clear()
    stale = build(srepo.path, site, now=NOW, page_rows=7)
    assert asked == [] and stale.pages_rendered == 1
    for part in note.iterdir():
        part.write_bytes(b"\x00damaged")
    add_submission(srepo, "c", seed=6, parent=grandchild)
    asked.clear()
    damaged = build(srepo.path, site, now=NOW, page_rows=7)
    assert asked == [] and damaged.pages_rendered == 2

    shutil.rmtree(srepo.path / ".git" / CACHE_DIR)
    build(srepo.path, tmp_path / "fresh", now=NOW, page_rows=7)
    mine, theirs = site_files(site), site_files(tmp_path / "fresh")
    assert sorted(mine) == sorted(theirs)
    assert [f for f in mine if mine[f] != theirs[f]] == []


def version(label: str, parent: str | None = None):
    """What with_kin reads of an entry."""
    from types import SimpleNamespace
    return SimpleNamespace(label=label, parent_label=parent)


def test_the_pages_keyed_are_the_new_records_and_their_kin():
    """Records that came key their pages, their parent's and the pages of their label's
    children, in the entries' order; nothing came, nothing is keyed."""
    from site_generator.build import with_kin

    a, b, other = version("a@1"), version("b@1", "a@1"), version("o@1")
    child = version("c@1", "b@1")
    assert with_kin([a, b, other, child], [child]) == [b, child]
    rescored = version("b@1", "a@1")  # the same code scored again: same label
    # its parent (a new child) and its label's child (whose parent may now be it); the
    # other version of its label shows neither
    assert with_kin([a, b, other, child, rescored], [rescored]) == [a, child, rescored]
    assert with_kin([a, b, other, child, rescored], []) == []


def test_a_challenge_kept_whole_keeps_the_mark_of_its_pages(tmp_path, monkeypatch):
    """In a hub, a challenge with nothing new is kept whole, its pages' mark with it: a
    later result of its own keys its kin's pages only, not every page."""
    from synthetic import add_submission

    site_build = importlib.import_module("site_generator.build")
    keyed = []
    with_kin = site_build.with_kin
    monkeypatch.setattr(site_build, "with_kin",
                        lambda entries, came: keyed.append(came) or with_kin(entries, came))
    srepo = make_repo(tmp_path / "repo", [
        Plan("a", "A", 12, n_teams=2, code_visible=True, seed=1),
        Plan("b", "B", 12, n_teams=2, code_visible=True, seed=2)])
    site = tmp_path / "site"
    build(srepo.path, site, now=NOW, page_rows=7)
    add_submission(srepo, "a", seed=3)
    build(srepo.path, site, now=NOW, page_rows=7)  # b is kept whole
    keyed.clear()
    new = add_submission(srepo, "b", seed=4)
    again = build(srepo.path, site, now=NOW, page_rows=7)
    assert [[(e.name, e.stem) for e in came] for came in keyed] == [[(new.name, new.stem)]]
    assert again.pages_rendered == 1


def test_the_manifest_rewrites_only_the_parts_whose_entries_changed(tmp_path):
    """A rebuild's manifest is the last one with what changed: the parts holding a
    file written, gone or keyed anew are rewritten, the others left as they were, and
    the manifest read back is exactly what this build made."""
    from site_generator.output import PARTS, Output, _part

    site = tmp_path / "site"
    first = Output(site)
    for i in range(300):
        first.write(f"p/{i}.html", f"page {i}", inputs_key=f"k{i}")
    first.mark("p/", "folder key")
    first.finish()
    parts = {p.name: p.read_bytes() for p in (site / MANIFEST).glob("*.json")}
    assert len(parts) == PARTS  # every part exists, even an empty one

    second = Output(site)
    assert second.keep("p", {f"{i}.html" for i in range(3, 300)}) == set()
    second.write("p/0.html", "page 0, changed", inputs_key="k0 changed")
    second.write("p/1.html", "page 1", inputs_key="k1")  # same bytes and key
    second.write("p/new.html", "a new page")
    second.mark("p/", "folder key")  # p/2.html is gone
    second.finish()

    changed = {f"{_part(p):02d}.json" for p in ("p/0.html", "p/2.html", "p/new.html")}
    now = {p.name: p.read_bytes() for p in (site / MANIFEST).glob("*.json")}
    assert {n for n in parts if now[n] != parts[n]} == changed
    assert not (site / "p/2.html").exists()

    # submission and team pages have parts apart: a new result, which changes one of
    # each and many board pages, rewrites one or two of theirs
    quiet = {_part(f"c/{folder}/{i}.html") for folder in ("s", "team") for i in range(500)}
    loud = {_part(f"c/{name}-{i}.html") for name in ("submissions", "index") for i in range(500)}
    assert quiet.isdisjoint(loud) and len(quiet) + len(loud) == PARTS

    third = Output(site)
    expect = {f"p/{i}.html" for i in range(300) if i != 2} | {"p/new.html"}
    assert third._old_files.keys() == expect
    assert third._old_files["p/0.html"] == hashlib.sha1(b"page 0, changed").hexdigest()
    assert third.fresh("p/0.html", "k0 changed") and not third.fresh("p/0.html", "k0")
    assert third.fresh("p/299.html", "k299") and third.last_mark("p/") == "folder key"

    # a manifest whose mark sits in another part than its path's (edited by hand)
    # still reads, and the mark, gone from this build, is gone from the next manifest
    mine, other = (site / MANIFEST / f"{_part('p/'):02d}.json",
                   site / MANIFEST / f"{(_part('p/') + 1) % PARTS:02d}.json")
    files, inputs = json.loads(mine.read_text())
    mark = inputs.pop("p/")
    mine.write_text(json.dumps([files, inputs]))
    ofiles, oinputs = json.loads(other.read_text())
    other.write_text(json.dumps([ofiles, {**oinputs, "p/": mark}]))
    fourth = Output(site)
    assert fourth.last_mark("p/") == "folder key"
    # kept, then written again after all: the manifest holds what was written
    assert fourth.keep("p", {p[2:] for p in expect} - {"new.html"} | {"gone.html"}) == \
        {"gone.html"}
    fourth.write("p/new.html", "a new page")
    fourth.write("p/5.html", "page 5, changed", inputs_key="k5 changed")
    fourth.finish()
    fifth = Output(site)
    assert fifth.last_mark("p/") is None and fifth._old_files.keys() == expect
    assert fifth.fresh("p/5.html", "k5 changed") and fifth.fresh("p/6.html", "k6")
    assert (site / "p/5.html").read_text() == "page 5, changed"


@pytest.mark.parametrize("path", ["../outside.html", "c/s/../../../x.html", "/etc/x",
                                  "c//x.html", "c/./x.html"])
def test_the_output_writes_no_file_outside_its_folder(tmp_path, path):
    from site_generator.output import Output

    out = Output(tmp_path / "site")
    with pytest.raises(ValueError, match="not a file of the site's folder"):
        out.write(path, "x")
    out.write("c/s/a~b.html", "x")  # a page of its own folder is written
    assert (tmp_path / "site/c/s/a~b.html").read_text() == "x"
    assert not (tmp_path / "outside.html").exists()


def test_an_earlier_versions_page_note_is_removed_from_the_cache(tmp_path):
    """The submission pages are keyed from the read note now: the note earlier versions
    kept beside it (a megabyte at 10,000 submissions) goes at the next build."""
    from site_generator.build import CACHE_DIR, LEGACY_PAGE_NOTE

    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 6, n_teams=2, seed=1)])
    old = srepo.path / ".git" / CACHE_DIR / LEGACY_PAGE_NOTE
    old.parent.mkdir(parents=True)
    old.write_bytes(b"an earlier version's note")
    build(srepo.path, tmp_path / "site", now=NOW)
    assert not old.exists()
    assert (srepo.path / ".git" / CACHE_DIR).is_dir()  # the other caches stay


def test_a_rebuild_places_the_new_records_in_the_last_build_s_boards(tmp_path,
                                                                      monkeypatch):
    """A rebuild after new results ranks only them, each placed in the last build's
    public and private boards (last_boards); its site is a fresh build's, byte for byte.
    A boards file that is damaged, or left by a build of another ledger tree, costs a
    ranking of every record and changes nothing else."""
    import shutil

    from challenge import ranking
    from site_generator.build import CACHE_DIR
    from site_generator.last_boards import FILE
    from synthetic import add_submission

    placed = []  # (split, placed rows, new records, whether it gave the board)
    extend = ranking.extend_board

    def spy(rows, items, score, split="valid", *args, **kwargs):
        items = list(items)
        out = extend(rows, items, score, split, *args, **kwargs)
        placed.append((split, len(rows), len(items), out is not None))
        return out
    monkeypatch.setattr(ranking, "extend_board", spy)
    srepo, site = site_in_parts(tmp_path, monkeypatch, 30, seed=9)
    cache = srepo.path / ".git" / CACHE_DIR
    assert placed == []  # nothing to place in: every record ranked

    def same_as_fresh(k: int) -> None:
        fresh = tmp_path / f"fresh{k}"
        shutil.copytree(cache, tmp_path / "kept-cache")
        shutil.rmtree(cache)
        build(srepo.path, fresh, now=NOW, page_rows=7)
        shutil.rmtree(cache)
        shutil.copytree(tmp_path / "kept-cache", cache)
        shutil.rmtree(tmp_path / "kept-cache")
        one, two = site_files(site), site_files(fresh)
        assert sorted(one) == sorted(two)
        assert [f for f in one if one[f] != two[f]] == []

    versions = srepo.challenges["c"].versions
    scored = [v for v in versions if v.result.status == SCORED]
    # a new best-but-one, a new last and one in the middle: each placed
    for k, like in enumerate([scored[0], scored[-1], scored[len(scored) // 2]], 1):
        placed.clear()
        add_submission(srepo, "c", seed=20 + k, like=like)
        build(srepo.path, site, now=NOW, page_rows=7)
        assert [(split, new, ok) for split, _, new, ok in placed] == \
            [("valid", 1, True), ("test", 1, True)]
        same_as_fresh(k)

    old = (cache / FILE).read_bytes()
    add_submission(srepo, "c", seed=31)
    build(srepo.path, site, now=NOW, page_rows=7)
    for k, damaged in enumerate([b"\x00garbage", old], 4):  # damaged; another tree's
        (cache / FILE).write_bytes(damaged)
        placed.clear()
        add_submission(srepo, "c", seed=30 + k)
        build(srepo.path, site, now=NOW, page_rows=7)
        assert placed == []  # every record ranked
        same_as_fresh(k)


def test_the_search_index_ranks_a_row_by_its_place(tmp_path, monkeypatch):
    """The search index leaves a row's rank to its place: its first `ranked` rows are
    the public board's in rank order, then the failed ones; each part says where its
    rows start. So a row's text is its record's, kept between builds."""
    monkeypatch.setattr(importlib.import_module("site_generator.build"), "PART_ROWS", 2)
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 45, n_teams=4, fail_every=4,
                                               seed=12)])
    site = tmp_path / "site"

    def script(path) -> dict:
        text = (site / "c" / path).read_text()
        return json.loads(text[text.index("(") + 1:text.rindex(")")])

    for round_ in range(2):
        build(srepo.path, site, now=NOW)
        head = script("search.js")
        parts = [script(p) for p in head["parts"]]
        assert len(parts) >= 3  # parts of 20 rows here
        assert [p["at"] for p in parts] == [sum(len(q["rows"]) for q in parts[:k])
                                           for k in range(len(parts))]
        rows = [r for p in parts for r in p["rows"]]
        data = json.loads((site / "c/leaderboard.json").read_text())
        lists = {name: [r for part in data["parts"][name]
                        for r in json.loads((site / "c" / part).read_text())["rows"]]
                 for name in ("submissions", "failed")}
        board = [(r["submission"], r["version"]) for r in lists["submissions"]]
        assert [r["rank"] for r in lists["submissions"]] == list(range(1, len(board) + 1))
        assert head["ranked"] == len(board) and head["total"] == len(rows)
        assert [(r[1], r[2]) for r in rows[:len(board)]] == board
        failed = lists["failed"]
        assert len(failed) > 3
        assert sorted((r[1], r[2], head["statuses"][r[4]]) for r in rows[len(board):]) == \
            sorted((r["submission"], r["version"], r["status"]) for r in failed)
        if round_ == 0:
            from synthetic import add_submission

            versions = srepo.challenges["c"].versions
            add_submission(srepo, "c", seed=5, like=next(
                v for v in versions if v.result.status == SCORED))  # moves rows down


def test_the_private_team_board_is_the_private_board_s_rows_of_the_teams_picks(tmp_path):
    from site_generator import boards, model

    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 90, n_teams=12, revealed=True,
                                               seed=5)])
    repo = model.read_repository(srepo.path)
    model.read_records(repo)
    ch = repo.challenges[0]
    # two private values only: the public order decides most of the picks' ties
    for i, e in enumerate(ch.entries):
        held = e.summary.bagged.get(boards.PRIVATE)
        if held:
            e.summary.bagged[boards.PRIVATE] = {k: 0.5 + i % 2 / 10 for k in held}
    public = boards.rank(ch.entries, ch.scores)
    best = boards.team_best(public)
    private = boards.private_board(public, ch.scores)

    def rows(board):
        return [(r.entry.key_line, r.rank, r.value, r.public_rank) for r in board]
    alone = rows(boards.private_team_board(best, ch.scores))
    assert len(alone) == 12 and len({v for _, _, v, _ in alone}) == 2
    assert rows(boards.private_team_board(best, ch.scores, private)) == alone


def test_a_damaged_texts_file_reads_as_empty_and_is_made_again(tmp_path):
    """A kept texts file whose lengths do not cut its blob, or whose keys are no
    strings, or whose blob is cut short, gives no text (they are made again and the
    file written over); a text cut where no UTF-8 character ends gives none either;
    the other texts of the kind are still given."""
    from site_generator import kept as kept_files
    from site_generator.render import KeptTexts

    keys = [f"'d{i}'\0'a'\0's'" for i in range(40)]
    texts = KeptTexts(tmp_path)
    kind = texts.kind("csv", context="acc")
    for i, k in enumerate(keys):
        kind.put(k, f"{i},é")  # not ASCII: a text is cut from UTF-8 bytes
    texts.save(set(keys))
    files = sorted((tmp_path / KeptTexts.VERSION).glob("csv-*.texts"))
    assert len(files) > 4
    assert KeptTexts(tmp_path).kind("csv", context="acc").get(keys[7]) == "7,é"
    damaged, unhashable, floating, cut = files[0], files[1], files[2], files[3]
    split = next(f for f in files[4:]  # a file of two texts at least
                 if len(kept_files.read_with_blob(f, KeptTexts.VERSION)[0]["keys"]) > 1)

    def spoil(path, change) -> None:
        head, data, start = kept_files.read_with_blob(path, KeptTexts.VERSION)
        change(head)
        kept_files.write(path, head, blob=data[start:])
    spoil(damaged, lambda h: h["lengths"].__setitem__(0, h["lengths"][0] + 1))  # no longer adds up
    spoil(unhashable, lambda h: h["keys"].__setitem__(0, ["not", "a", "key"]))
    # adds up, but no slice takes it
    spoil(floating, lambda h: h["lengths"].__setitem__(0, float(h["lengths"][0])))
    cut.write_bytes(cut.read_bytes()[:-1])  # the blob cut short

    def in_two(h):  # adds up, but its first two texts cut "é" in two: no UTF-8
        h["lengths"][0] -= 1
        h["lengths"][1] += 1
    spoil(split, in_two)
    again = KeptTexts(tmp_path).kind("csv", context="acc")
    spoilt = {int(f.stem.rsplit("-", 1)[1]) for f in (damaged, unhashable, floating, cut)}
    lost = [k for k in keys if again._bucket(k) in spoilt]
    held = [k for k in keys if again._bucket(k) not in spoilt]
    assert lost and held
    assert [again.get(k) for k in lost] == [None] * len(lost)
    in_split = kept_files.read_with_blob(split, KeptTexts.VERSION)[0]["keys"]
    assert [again.get(k) for k in in_split[:2]] == [None, None]
    whole = [k for k in held if k not in in_split[:2]]
    assert [again.get(k) for k in whole] == [f"{keys.index(k)},é" for k in whole]
    again.put(lost[0], "made again")
    assert again.get(lost[0]) == "made again"


@pytest.mark.parametrize("maps", [1024, 3, 0], ids=["mapped", "some-mapped", "read"])
def test_kept_texts_read_alike_mapped_or_read_and_no_map_outlives_the_save(tmp_path,
                                                                          monkeypatch, maps):
    """Kept texts files are mapped while few enough maps are alive (each holds a file
    descriptor) and read beyond that: the texts are the same either way, a file written
    over after its map was made still gives its new texts, and saving lets every map
    go."""
    import gc

    from site_generator import kept as kept_files
    from site_generator.render import KeptTexts

    monkeypatch.setattr(kept_files, "MAPS_AT_MOST", maps)
    keys = [f"'m{i}'\0'a'\0's'" for i in range(60)]
    first = KeptTexts(tmp_path)
    for i, k in enumerate(keys):
        first.kind("csv", context="acc").put(k, f"{i},ü")
    first.save(set(keys))
    assert kept_files.maps_alive() == 0
    texts = KeptTexts(tmp_path)
    kind = texts.kind("csv", context="acc")
    assert [kind.get(k) for k in keys] == [f"{i},ü" for i in range(len(keys))]
    assert kept_files.maps_alive() == min(maps, KeptTexts.BUCKETS)
    kind.put(keys[0], "new")
    texts.save(set(keys[:-1]))  # the last record gone
    gc.collect()
    assert kept_files.maps_alive() == 0
    again = KeptTexts(tmp_path).kind("csv", context="acc")
    assert again.get(keys[0]) == "new"
    assert again.get(keys[1]) == "1,ü"


def test_a_kept_file_mapped_keeps_its_bytes_when_written_over(tmp_path, monkeypatch):
    """A kept file is replaced whole, never written in place: a map made before a
    write still reads the old file whole, the next read gives the new one, and no
    file is left beside it."""
    from site_generator import kept as kept_files

    monkeypatch.setattr(kept_files, "MAPS_AT_MOST", 8)
    path = tmp_path / "t.texts"
    kept_files.write(path, {"version": 1}, blob=b"old texts " * 1000)
    head, data, start = kept_files.read_with_blob(path, 1)
    assert type(data).__name__ == "mmap"
    kept_files.write(path, {"version": 1}, blob=b"new")
    assert data[start:] == b"old texts " * 1000
    _, again, start = kept_files.read_with_blob(path, 1)
    assert again[start:] == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.texts"]


def test_a_build_leaves_no_kept_file_mapped(tmp_path, monkeypatch):
    """A build and a rebuild after one new result map the kept row texts they read and
    let every map (and its file descriptor) go before they return."""
    from site_generator import kept as kept_files
    from synthetic import add_submission

    made = []
    real = kept_files.mapped

    def counted(path):
        data = real(path)
        made.append(type(data).__name__)
        return data
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 30, n_teams=5, code_visible=True,
                                               revealed=True, seed=4)])
    build(srepo.path, tmp_path / "site", now=NOW)
    add_submission(srepo, "c", seed=9)
    monkeypatch.setattr(kept_files, "mapped", counted)
    build(srepo.path, tmp_path / "site", now=NOW)
    assert "mmap" in made  # the rebuild read kept texts, mapped
    assert kept_files.maps_alive() == 0


@pytest.mark.parametrize("on", [True, False])
def test_the_collector_runs_over_the_submission_pages_only_and_is_left_as_it_was(
        tmp_path, monkeypatch, on):
    """The cyclic collector pauses while the ledger and the boards are made (millions of
    objects on a big site, frozen once made) and runs while the submission pages are
    rendered, when the caller runs it; after the build it is as the caller left it,
    with nothing frozen."""
    import gc

    from site_generator.output import Output

    seen: dict[str, bool] = {}
    real = Output.write

    def write(self, path, content, inputs_key=None):
        seen[path] = gc.isenabled()
        return real(self, path, content, inputs_key)
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 12, n_teams=3, code_visible=True,
                                               revealed=True, seed=5)])
    monkeypatch.setattr(Output, "write", write)
    was = gc.isenabled()
    (gc.enable if on else gc.disable)()
    try:
        build(srepo.path, tmp_path / "site", now=NOW)
        after, frozen = gc.isenabled(), gc.get_freeze_count()
    finally:
        (gc.enable if was else gc.disable)()
    pages = {p: v for p, v in seen.items() if "/s/" in p}
    others = {p: v for p, v in seen.items() if "/s/" not in p}
    assert len(pages) == 12 and others
    assert set(pages.values()) == {on}
    assert set(others.values()) == {False}  # boards, data files, team pages, the index
    assert (after, frozen) == (on, 0)


def test_every_page_of_every_board_is_titled_with_the_board_s_name(tmp_path):
    """A board's pages after the first are titled, crumbed and paged with the name its
    tab shows (not the file's name), on every paged board."""
    import re

    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 40, n_teams=8, fail_every=4,
                                               revealed=True, seed=5)])
    site = tmp_path / "site"
    build(srepo.path, site, now=NOW, page_rows=3)
    nav = (site / "c/index.html").read_text().split('<nav class="tabs"', 1)[1]
    tabs = dict(re.findall(r'<a href="([a-z-]+\.html)"[^>]*>([^<]+)</a>',
                           nav.split("</nav>")[0]))
    assert len(tabs) >= 5
    for base, name in [("index", "Leaderboard"), ("submissions", "All submissions"),
                       ("failed", "Failed"), ("teams", "Teams"),
                       ("private", "Private leaderboard"),
                       ("private-submissions", "All submissions on the private test set")]:
        assert tabs.get(f"{base}.html", name) == name
        page = (site / f"c/{base}-2.html").read_text()
        title = re.search(r"<title>(.*?)</title>", page).group(1)
        assert title == f"{name} (page 2) · C · gitramp", (base, title)
        assert f'aria-current="page">{name} 2</a>' in page
