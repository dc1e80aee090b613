"""The static site built from a synthetic but realistic repository: real git objects made
with pygit2, ledger records made from `Result`, state files as organizers leave them."""

from __future__ import annotations

import csv
import html
import io
import json
import marshal
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from gitramp.main import main as gitramp
from scorer.result import SCORED, FoldScores, Result
from site_generator import build
from site_generator.build import Forge
from synthetic import Plan, add_submission, commit_ledger, demo_repo, make_repo
from tests.site_checks import leaks, links_of, numbers_in, output_texts, private_strings

NOW = datetime(2026, 12, 20, tzinfo=UTC)  # inside the demo kits' open phase


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    srepo = demo_repo(root / "repo")
    summary = build(srepo.path, root / "site", now=NOW)
    return srepo, root / "site", summary


def expected_public_order(versions, lower_is_better=False):
    scored = [v for v in versions if v.result.status == SCORED]
    sign = 1 if lower_is_better else -1
    scored.sort(key=lambda v: (sign * v.result.bagged["valid"]["acc"], v.result.submitted_at))
    return scored


# ---------------------------------------------------------------------------- visibility
def test_closed_phase_site_holds_no_submission_code_and_no_private_score(demo):
    srepo, site, _ = demo
    closed = srepo.challenges["iris_closed"]
    assert closed.versions and not closed.code_visible and not closed.revealed
    # stray private copies exist on disk: the reveal did not happen, they must stay unread
    assert any((srepo.path / "leaderboard_data/iris_closed/private").rglob("*.yml"))
    found_lines, found_scores = leaks(site, closed, (srepo.challenges["iris_open"],))
    assert found_lines == []
    assert found_scores == []


def test_the_leak_search_finds_code_and_private_scores_once_visible(demo):
    """The same search on the open, revealed challenge must find both: it can fail."""
    srepo, site, _ = demo
    found_lines, found_scores = leaks(site, srepo.challenges["iris_open"])
    assert len(found_lines) > 20
    assert len(found_scores) > 20


def test_a_public_record_holding_test_scores_does_not_leak_them(tmp_path):
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 6, n_teams=2, fail_every=0)])
    ch = srepo.challenges["c"]
    for v in ch.versions:  # a faulty writer put the private scores into the public ledger
        f = srepo.path / "leaderboard_data/c" / v.name / f"{v.stem}.yml"
        f.write_text(v.result.to_yaml(part="full"))
        assert "test:" in f.read_text()
    commit_ledger(srepo.path, "a faulty runner")
    build(srepo.path, tmp_path / "site", now=NOW)
    assert leaks(tmp_path / "site", ch)[1] == []


def test_open_phase_shows_code_highlighted_and_the_diff_from_the_parent(demo):
    srepo, site, _ = demo
    ch = srepo.challenges["iris_open"]
    child = next(v for v in ch.versions if v.parent is not None)
    page = site / "iris_open" / "s" / f"{child.name}~{child.stem}.html"
    text = page.read_text()
    assert 'class="highlight"' in text
    assert "Changes from its parent" in text
    added = next(ln for ln in child.sources["classifier.py"].splitlines()
                 if ln.startswith("TUNED_"))
    assert re.search(r'class="gi">\+' + re.escape(added.split(" ")[0]), text)
    parent_href = f"{child.parent.name}~{child.parent.stem}.html"
    assert f'href="../{"s/" + child.parent.name + "~" + child.parent.stem}.html"' in text \
        or parent_href in text
    parent_page = (site / "iris_open/s" / f"{child.parent.name}~{child.parent.stem}.html")
    assert child.name in parent_page.read_text()  # listed among the parent's children


# ------------------------------------------------------------------------------- boards
def test_public_leaderboard_ranks_by_bagged_first_score_ties_to_earlier(demo):
    srepo, site, _ = demo
    ch = srepo.challenges["iris_open"]
    data = json.loads((site / "iris_open/leaderboard.json").read_text())
    got = [(r["submission"], r["rank"]) for r in data["submissions"]]
    want = [(v.name, i + 1) for i, v in enumerate(expected_public_order(ch.versions))]
    assert got == want
    teams = [r["team"] for r in data["teams"]]
    assert len(teams) == len(set(teams))
    assert teams == list(dict.fromkeys(r["team"] for r in data["submissions"]))
    failed = {r["submission"] for r in data["failed"]}
    assert failed == {v.name for v in ch.versions if v.result.status != SCORED}
    assert all(r["reason"] for r in data["failed"])


def test_ties_go_to_the_earlier_submission_and_direction_is_respected(tmp_path):
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 6, n_teams=3, fail_every=0)])
    vs = srepo.challenges["c"].versions
    # equal ranking values for the last and the first: the first (earlier) must win
    for v in (vs[0], vs[-1]):
        v.result.bagged["valid"]["acc"] = 0.99
        f = srepo.path / "leaderboard_data/c" / v.name / f"{v.stem}.yml"
        f.write_text(v.result.to_yaml(part="public"))
    commit_ledger(srepo.path, "equal scores")
    build(srepo.path, tmp_path / "site", now=NOW)
    rows = json.loads((tmp_path / "site/c/leaderboard.json").read_text())["submissions"]
    assert [r["submission"] for r in rows[:2]] == [vs[0].name, vs[-1].name]

    # a kit ranking on a lower-is-better score ranks the smallest first
    kit = srepo.path / "kits/c/challenge.yml"
    kit.write_text(kit.read_text().replace("scores: [{name: acc, type: accuracy, precision: 4}, "
                                           "{name: nll, type: log_loss, precision: 4}, ",
                                           "scores: [{name: nll, type: log_loss, precision: 4}, "
                                           "{name: acc, type: accuracy, precision: 4}, "))
    build(srepo.path, tmp_path / "site", now=NOW)
    rows = json.loads((tmp_path / "site/c/leaderboard.json").read_text())["submissions"]
    values = [r["scores"]["nll"]["bagged"] for r in rows]
    assert values == sorted(values) and len(values) == 6


def test_private_board_appears_only_after_reveal_with_rank_changes(demo):
    srepo, site, _ = demo
    assert not (site / "iris_closed/private.html").exists()
    assert "private" not in json.loads((site / "iris_closed/leaderboard.json").read_text())
    data = json.loads((site / "iris_open/leaderboard.json").read_text())
    priv = data["private"]["submissions"]
    ch = srepo.challenges["iris_open"]
    by_name = {v.name: v for v in ch.versions}
    test_values = [by_name[r["submission"]].result.bagged["test"]["acc"] for r in priv]
    assert test_values == sorted(test_values, reverse=True)
    assert all(r["rank_change"] == r["public_rank"] - r["rank"] for r in priv)
    assert any(r["rank_change"] != 0 for r in priv)
    html = (site / "iris_open/private.html").read_text()
    assert "places up" in html or "places down" in html


def test_csv_matches_the_json_board(demo):
    _, site, _ = demo
    data = json.loads((site / "iris_open/leaderboard.json").read_text())
    rows = list(csv.DictReader(io.StringIO((site / "iris_open/leaderboard.csv").read_text())))
    assert [r["submission"] for r in rows] == [r["submission"] for r in data["submissions"]]
    assert {"acc_bagged", "acc_mean", "acc_std", "nll_bagged", "f1_bagged", "train_time",
            "test_time", "private_rank"} <= set(rows[0])
    closed = (site / "iris_closed/leaderboard.csv").read_text().splitlines()[0]
    assert "private" not in closed
    # each challenge shows its own score columns, even on pages built one after the other
    assert "nll_bagged" in closed and "f1_bagged" not in closed
    page = (site / "iris_closed/submissions.html").read_text()
    assert ">nll</abbr>" in page and ">f1</abbr>" not in page


# -------------------------------------------------------------------------- static site
def test_every_link_is_relative_and_resolves(demo):
    _, site, _ = demo
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 50
    checked = 0
    for page in pages:
        for what, link in links_of(page):
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                # only a README's outgoing link may name another host, never a resource
                assert what == "a[href]" and parts.scheme == "https", (page, link)
                continue
            assert not link.startswith("/"), (page, link)
            if not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            assert target.is_file(), f"{page.relative_to(site)} links to missing {link}"
            assert site.resolve() in target.parents
            checked += 1
    assert checked > 500


def test_readme_is_rendered_without_raw_html_or_remote_images(demo):
    _, site, _ = demo
    page = (site / "iris_open/index.html").read_text()
    assert "<table>" in page and "<em>species</em>" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "example.com/iris.png" not in page and "[image: a picture" in page
    assert 'href="submissions/starting_kit/"' not in page  # kit files are not on the site
    assert 'href="https://scikit-learn.org/"' in page


def test_pages_name_no_other_host_for_any_resource(demo):
    _, site, _ = demo
    for name, text in output_texts(site).items():
        if name.endswith((".html", ".svg", ".css", ".js")):
            assert not re.search(r"""(src|@import|url)\s*[=(]\s*["']?(https?:)?//""", text), name


def test_incremental_rebuild_renders_only_the_new_submission(tmp_path):
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 30, n_teams=4, code_visible=True)])
    site = tmp_path / "site"
    full = build(srepo.path, site, now=NOW)
    assert full.pages_rendered == 30
    pages = {p: p.stat().st_mtime_ns for p in (site / "c/s").rglob("*.html")}
    again = build(srepo.path, site, now=NOW)
    assert (again.pages_rendered, again.files_written) == (0, 0)

    new = add_submission(srepo, "c")
    after = build(srepo.path, site, now=NOW)
    assert after.pages_rendered == 1 and after.pages_kept == 30
    assert all(p.stat().st_mtime_ns == t for p, t in pages.items())
    assert (site / "c/s" / f"{new.name}~{new.stem}.html").is_file()
    assert after.files_written < 15

    # a record that disappears takes its page with it
    (srepo.path / "leaderboard_data/c" / new.name / f"{new.stem}.yml").unlink()
    commit_ledger(srepo.path, "drop a record")
    removed = build(srepo.path, site, now=NOW)
    assert removed.files_removed >= 1
    assert not (site / "c/s" / f"{new.name}~{new.stem}.html").exists()


def test_standalone_kit_repository_builds_one_challenge(tmp_path):
    srepo = make_repo(tmp_path / "kit", [Plan("kit", "Standalone", 5, code_visible=True)],
                      hub=False)
    summary = build(srepo.path, tmp_path / "site", now=NOW)
    assert summary.challenges == ["kit"]
    v = next(v for v in srepo.challenges["kit"].versions if v.result.status == SCORED)
    page = (tmp_path / "site/kit/s" / f"{v.name}~{v.stem}.html").read_text()
    assert 'class="highlight"' in page  # code found at submissions/<name> of the commit


def test_cli_builds_the_site_and_reports_bad_input(demo, tmp_path, capsys):
    srepo, _, _ = demo
    assert gitramp(["site", "--repo", str(srepo.path), "--out", str(tmp_path / "o")]) == 0
    assert "2 challenge(s)" in capsys.readouterr().out
    assert (tmp_path / "o/index.html").is_file()
    assert gitramp(["site", "--repo", str(tmp_path / "missing")]) == 2
    assert "pass --repo" in capsys.readouterr().err


def test_a_broken_ledger_record_is_reported_with_its_path(tmp_path, capsys):
    # One bad record is reported (file and reason) and left out; the site still builds
    # with every other record, so one file cannot take the site down for everyone.
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 2, n_teams=1)])
    v, other = srepo.challenges["c"].versions[:2]
    f = srepo.path / "leaderboard_data/c" / v.name / f"{v.stem}.yml"
    f.write_text(yaml.safe_dump({"schema": 99}))
    commit_ledger(srepo.path, "a broken record")
    assert gitramp(["site", "--repo", str(srepo.path), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert f"leaderboard_data/c/{v.name}/{v.stem}.yml" in err and "schema" in err
    assert (tmp_path / "o/c/s" / f"{other.name}~{other.stem}.html").is_file()
    assert not (tmp_path / "o/c/s" / f"{v.name}~{v.stem}.html").exists()


def test_index_lists_each_challenge_with_phase_and_dates(demo):
    _, site, _ = demo
    page = (site / "index.html").read_text()
    for name in ("iris_open", "iris_closed"):
        assert f'href="{name}/index.html"' in page
    assert "open phase, until 2027-01-10" in page
    assert 'datetime="2026-12-01T00:00Z"' in page


def test_failed_submission_page_shows_reason_and_hides_log_while_closed(demo):
    srepo, site, _ = demo
    v = next(v for v in srepo.challenges["iris_closed"].versions
             if v.result.status != SCORED)
    page = (site / "iris_closed/s" / f"{v.name}~{v.stem}.html").read_text()
    assert v.result.status in page
    assert html.escape(v.result.reason) in page
    assert "Traceback" not in page


def test_results_round_trip_as_the_ledger_writes_them(demo):
    srepo, _, _ = demo
    v = srepo.challenges["iris_open"].versions[0]
    f = srepo.path / "leaderboard_data/iris_open" / v.name / f"{v.stem}.yml"
    r = Result.from_yaml(f.read_text())
    assert r.tree == v.result.tree and "test" not in r.bagged


def test_the_committed_ledger_is_read_not_the_work_tree(tmp_path):
    """Runners commit results without a checkout: the branch is the ledger's truth."""
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 4, n_teams=2, fail_every=0)])
    v = srepo.challenges["c"].versions[0]
    (srepo.path / "leaderboard_data/c" / v.name / f"{v.stem}.yml").unlink()  # stale checkout
    build(srepo.path, tmp_path / "site", now=NOW)
    rows = json.loads((tmp_path / "site/c/leaderboard.json").read_text())["submissions"]
    assert v.name in {r["submission"] for r in rows} and len(rows) == 4


def test_a_folder_without_git_is_read_from_its_files(tmp_path):
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 5, n_teams=2, code_visible=True)])
    shutil.rmtree(srepo.path / ".git")
    summary = build(srepo.path, tmp_path / "site", now=NOW)
    assert summary.submissions == 5
    v = srepo.challenges["c"].versions[0]
    page = (tmp_path / "site/c/s" / f"{v.name}~{v.stem}.html").read_text()
    assert "no git repository" in page


def test_parse_cache_holds_no_unrevealed_private_score_and_survives_damage(demo, tmp_path):
    srepo, _, _ = demo
    cache = srepo.path / ".git" / "gitramp-site-cache"
    buckets = sorted(cache.rglob("*.marshal"))  # records, summaries, code
    rows = sorted(cache.rglob("*.texts"))  # board, data and search rows
    assert buckets and rows
    secret = {repr(v) for v in srepo.challenges["iris_closed"].private_scores()}
    text = " ".join([*(repr(marshal.loads(b.read_bytes())) for b in buckets),
                     *(r.read_bytes().decode(errors="replace") for r in rows)])
    assert private_strings(srepo.challenges["iris_open"]) & numbers_in(text)  # can fail
    assert not numbers_in(text) & secret
    buckets[0].write_bytes(b"\x00garbage")
    again = build(srepo.path, tmp_path / "site", now=NOW)
    assert again.submissions == 38


def test_pages_carry_the_markup_assistive_technology_needs(demo):
    _, site, _ = demo
    pages = sorted(site.rglob("*.html"))
    for page in pages:
        text = page.read_text()
        assert '<html lang="en">' in text and '<meta name="viewport"' in text, page
        ours = re.sub(r'<article class="readme">.*?</article>', "", text, flags=re.S)
        assert ours.count("<table") == ours.count("<caption>"), page  # README: no caption
        assert re.search(r"<h1[ >]", text), page
        for th in re.findall(r"<th\b[^>]*>", text):
            assert "scope=" in th, (page, th)
        for img in re.findall(r"<img\b[^>]*>", text):
            assert re.search(r'alt="[^"]{10,}"', img), (page, img)


def test_every_example_kit_of_this_repository_gets_a_working_site(tmp_path):
    """The kits in kits/ (their scores, directions, READMEs), with a few results each."""
    from challenge.kit import load_kit
    from site_generator.model import score_columns

    root = Path(__file__).resolve().parent.parent
    hub = tmp_path / "hub"
    kits = sorted(p.parent for p in (root / "kits").glob("*/challenge.yml"))
    assert kits
    for kit_dir in kits:
        shutil.copytree(kit_dir, hub / "kits" / kit_dir.name,
                        ignore=shutil.ignore_patterns("data", "hidden", "__pycache__"))
        columns = score_columns(load_kit(hub / "kits" / kit_dir.name))
        for i in range(4):
            vals = {c.name: 0.5 + 0.1 * i for c in columns}
            r = Result(challenge=kit_dir.name, submission=f"sub_{i}", status=SCORED,
                       score_names=[c.name for c in columns],
                       lower_is_better={c.name: c.lower_is_better for c in columns},
                       folds=[FoldScores({"train": dict(vals), "valid": dict(vals)}, 1.0, 0.1)],
                       bagged={"valid": dict(vals)}, team=f"team{i % 2}",
                       tree=f"{i:040x}", scoring_hash="ab" * 8,
                       submitted_at=f"2026-12-0{i + 1}T00:00:00Z")
            f = hub / "leaderboard_data" / kit_dir.name / r.submission / f"{i:016x}-abababab.yml"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(r.to_yaml(part="public"))
    site = tmp_path / "site"
    summary = build(hub, site, now=NOW)
    assert summary.challenges == [k.name for k in kits]
    for kit_dir in kits:
        data = json.loads((site / kit_dir.name / "leaderboard.json").read_text())
        names = [c["name"] for c in data["scores"]]
        first = data["scores"][0]
        values = [r["scores"][first["name"]]["bagged"] for r in data["submissions"]]
        assert values == sorted(values, reverse=not first["lower_is_better"])
        page = (site / kit_dir.name / "submissions.html").read_text()
        assert all(f">{n}</abbr>" in page for n in names)
    for page in site.rglob("*.html"):
        for _, link in links_of(page):
            if "://" not in link and not link.startswith("#"):
                assert (page.parent / unquote(link.split("#")[0])).resolve().is_file(), link


def test_forge_links_quote_the_parts_a_record_gives():
    forge = Forge("https://forge.example/org/hub")
    assert forge.commit("ab12") == "https://forge.example/org/hub/commit/ab12"
    assert forge.pull(7) == "https://forge.example/org/hub/pull/7"
    assert forge.branch("team/try 1") == "https://forge.example/org/hub/tree/team/try%201"
    # a record's commit is one path segment of the link, never a path or a query
    assert forge.commit("../../x?y#z") == "https://forge.example/org/hub/commit/..%2F..%2Fx%3Fy%23z"
    assert Forge(None).commit("ab12") is None


def test_extensions_named_to_a_lexer_get_the_lexer_their_file_name_would():
    """The site names a lexer directly for common extensions (matching a file name
    against every lexer costs a rebuild about 0.1 s); the highlighting must not change."""
    from pygments.lexers import get_lexer_for_filename

    from site_generator.code import LEXER_OF_EXTENSION, _lexer

    for ext in LEXER_OF_EXTENSION:  # Python's: pygments' own, lighter (next test)
        named = type(get_lexer_for_filename(f"estimator.{ext}"))
        assert type(_lexer(f"estimator.{ext}")) is named or (
            ext == "py" and issubclass(type(_lexer("estimator.py")), named)), ext
    assert type(_lexer("Makefile")).__name__ == "MakefileLexer"  # no dot: by its name
    assert type(_lexer("data.unknown-ext")).__name__ == "TextLexer"


def test_the_lighter_python_lexer_reads_python_as_pygments_own_does():
    """The site's Python lexer matches names with `re`'s word characters, not Unicode's
    identifier classes (a rebuild compiles it in a third of the time): on this project's
    own sources and on names beyond ASCII, it gives pygments' tokens exactly."""
    from pygments.lexers.python import PythonLexer

    from site_generator.code import _lexer

    lighter, own = _lexer("estimator.py"), PythonLexer(stripnl=False)
    assert type(lighter) is not PythonLexer  # the rules were made lighter
    root = Path(__file__).resolve().parent.parent
    sources = [p.read_text() for d in ("challenge", "scorer", "site_generator")
               for p in sorted((root / d).glob("*.py"))]
    sources.append("@décorateur\nclass Modèle_2(Base):\n    def prédire(self, x_é):\n"
                   "        import numpy.linalg as la\n        return f'{x_é!r}' + 'ß'\n"
                   "from ünïcode import naïve as ñ\nπ = 3.14; 変数 = π * 2\n")
    for text in sources:
        assert list(lighter.get_tokens(text)) == list(own.get_tokens(text))


def test_importing_the_generator_loads_no_numeric_or_highlighting_library():
    """Every `gitramp site` run is a process of its own and pays its imports: numpy
    (0.17 s of CPU here), markdown-it and Pygments' lexers are not needed to find that
    nothing changed, nor to rebuild boards, so they load only when used."""
    import subprocess
    import sys

    code = "import sys, site_generator.build\nprint(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, text=True,
                                capture_output=True).stdout.split())
    tops = {m.split(".")[0] for m in loaded}
    assert {"jinja2", "pygit2"} <= tops  # the probe sees what the generator imports
    assert tops.isdisjoint({"numpy", "pandas", "sklearn", "markdown_it"}), tops
    assert not {"pygments.lexers", "pygments.formatters"} & loaded


def test_a_record_left_out_is_reported_on_one_inert_line(tmp_path, capsys):
    """What the warning quotes comes from the ledger (a folder's name, a parser's quote of
    the file): a terminal escape or a line break in it is shown, not obeyed."""
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 2, n_teams=1)])
    odd = srepo.path / "leaderboard_data/c" / "odd\x1b[2Jname\nwarning: forged"
    odd.mkdir()
    (odd / "0123456789abcdef-01234567.yml").write_text(yaml.safe_dump({"schema": 99}))
    commit_ledger(srepo.path, "a record in an odd folder")
    assert gitramp(["site", "--repo", str(srepo.path), "--out", str(tmp_path / "o")]) == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if "left out" in ln]
    assert len(lines) == 1 and "odd" in lines[0] and "forged" in lines[0]
    assert "\x1b" not in lines[0]


def test_a_build_tells_its_progress_through_the_long_parts(tmp_path):
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 30, n_teams=4, code_visible=True)])
    told: list[tuple] = []
    first = build(srepo.path, tmp_path / "site", now=NOW,
                  progress=lambda *event: told.append(event))
    reading = [e for e in told if e[0] == "reading c's ledger"]
    boards = [e for e in told if e[0] == "rendering c's boards"]
    pages = [e for e in told if e[0] == "rendering c's submission pages"]
    assert len(reading) + len(boards) + len(pages) == len(told)
    assert [e[1:] for e in reading] == [(i, None) for i in range(1, 31)]  # a cold cache
    # every board page (of the leaderboard, all submissions, failed, teams) and team page
    n_boards = len([p for p in (tmp_path / "site/c").glob("*.html") if not p.name.endswith(
        "-last.html") and p.name not in ("submit.html", "lineage.html")])
    n_teams = len(list((tmp_path / "site/c/team").glob("*.html")))
    assert [e[1:] for e in boards] == [(i, None) for i in range(1, n_boards + n_teams + 1)]
    assert [e[1:] for e in pages] == [(i, first.pages_rendered) for i in range(31)]

    told.clear()
    build(srepo.path, tmp_path / "site", now=NOW, progress=lambda *event: told.append(event))
    assert told == []  # nothing parsed, nothing rendered
    add_submission(srepo, "c")
    build(srepo.path, tmp_path / "site", now=NOW, progress=lambda *event: told.append(event))
    # the board pages whose rows moved, the new version's team page: a few of them
    boards = [e[1] for e in told if e[0] == "rendering c's boards"]
    assert 2 <= len(boards) < n_boards + n_teams and boards == list(range(1, len(boards) + 1))
    assert told == [("reading c's ledger", 1, None),
                    *(("rendering c's boards", i, None) for i in boards),
                    ("rendering c's submission pages", 0, 1),
                    ("rendering c's submission pages", 1, 1)]


def test_the_site_command_shows_a_bar_for_long_parts_only():
    from rich.console import Console

    from gitramp.commands.site import ProgressBar
    screen = io.StringIO()
    bar = ProgressBar(Console(file=screen, force_terminal=True, width=100))
    for i in range(1, 100):
        bar("reading c's ledger", i, None)
    bar("rendering c's submission pages", 0, 99)
    assert bar.bar is None and screen.getvalue() == ""  # short: nothing shown
    for i in range(100, 151):
        bar("reading c's ledger", i, None)
    bar("rendering c's submission pages", 0, 1_000)
    for i in range(1, 1_001):
        bar("rendering c's submission pages", i, 1_000)
    tasks = {t.description: t for t in bar.bar.tasks}
    assert tasks["rendering c's submission pages"].completed == 1_000
    assert tasks["reading c's ledger"].completed >= 140
    bar.close()
    shown = screen.getvalue()
    assert "rendering c's submission pages" in shown and "1000/1000" in shown
