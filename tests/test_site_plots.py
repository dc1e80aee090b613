"""Plots are hand-written SVG: well-formed, labelled for screen readers, escaped."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import unquote

from site_generator import build, plots
from synthetic import Plan, commit_ledger, make_repo
from tests.site_checks import links_of

SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2026, 12, 20, tzinfo=UTC)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text and root.find(f"{SVG}desc") is not None
    return root


def test_best_over_time_draws_one_step_line_per_team_and_the_overall_best():
    teams = {"a<b>": [("2026-12-01T10:00:00Z", 0.7), ("2026-12-05T10:00:00Z", 0.8)],
             "c&d": [("2026-12-02T10:00:00Z", 0.75)]}
    overall = [("2026-12-01T10:00:00Z", 0.7), ("2026-12-05T10:00:00Z", 0.8)]
    svg = plots.best_over_time("Best acc", "acc", 3, False, teams, overall,
                               [plots.Mark("2026-12-03T00:00Z", "code opened")])
    root = parse(svg)
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 3
    labels = {t.text for t in root.iter(f"{SVG}text")}
    assert {"a<b>", "c&d", "overall best", "code opened"} <= labels  # escaped, not raw
    # a step line: every rise is preceded by a horizontal segment at the old value
    pts = [tuple(map(float, p.split(","))) for p in lines[0].get("points").split()]
    assert pts[1][1] == pts[0][1] and pts[2][0] == pts[1][0]


def test_histogram_counts_every_value_and_labels_round_edges():
    values = [0.61, 0.62, 0.7, 0.71, 0.72, 0.9]
    root = parse(plots.histogram("Distribution", "acc", 4, values))
    counts = [int(r.find(f"{SVG}title").text.split()[0]) for r in root.iter(f"{SVG}rect")
              if r.find(f"{SVG}title") is not None]
    assert sum(counts) == len(values)
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.startswith("0.")]
    assert ticks and all(len(t.split(".")[1]) <= 2 for t in ticks)  # no false precision


def test_lineage_graph_links_each_node_and_draws_each_edge():
    nodes = [plots.Node(f"s{i}@x", f"s{i}", "t" if i % 2 else "u", f"s/s{i}/k.html",
                        f"2026-12-0{i + 1}T00:00:00Z") for i in range(4)]
    edges = [("s0@x", "s1@x"), ("s1@x", "s2@x"), ("s0@x", "s3@x")]
    root = parse(plots.lineage_graph("Lineage", nodes, edges))
    assert len(root.findall(f".//{SVG}a")) == 4
    assert len([ln for ln in root.iter(f"{SVG}line") if ln.get("marker-end")]) == 3
    assert "no submission builds" in plots.lineage_graph("Lineage", nodes, [])


def test_names_with_any_characters_get_safe_pages_and_escaped_text(tmp_path):
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 4, n_teams=2, fail_every=0)])
    v = srepo.challenges["c"].versions[0]
    v.result.team = 'Ünï <script>x</script> & "co"/../..'
    f = srepo.path / "leaderboard_data/c" / v.name / f"{v.stem}.yml"
    f.write_text(v.result.to_yaml(part="public"))
    commit_ledger(srepo.path, "a team with an odd name")
    site = tmp_path / "site"
    build(srepo.path, site, now=NOW)
    team_pages = sorted((site / "c/team").glob("*.html"))
    assert all(p.parent == site / "c/team" for p in team_pages) and len(team_pages) >= 2
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "<script>x" not in text
        for _, link in links_of(page):
            if "://" not in link and not link.startswith("#"):
                assert (page.parent / unquote(link.split("#")[0])).resolve().is_file(), link
    data = json.loads((site / "c/leaderboard.json").read_text())
    assert v.result.team in {r["team"] for r in data["submissions"]}
    # the search index: JSON in a script that no text can end, every name as it is
    head = (site / "c/search.js").read_text()
    parts = [(site / "c" / p).read_text() for p in
             json.loads(head[head.index("(") + 1:head.rindex(")")])["parts"]]
    assert all("</" not in t for t in [head, *parts])
    rows = [r for t in parts for r in json.loads(t[t.index("(") + 1:t.rindex(")")])["rows"]]
    teams = json.loads(head[head.index("(") + 1:head.rindex(")")])["teams"]
    assert {(teams[r[0]], r[1]) for r in rows} == {
        (x.result.team, x.name) for x in srepo.challenges["c"].versions}


def test_the_plots_follow_the_ledgers_order_picked_or_sorted_alike():
    from types import SimpleNamespace as NS

    from site_generator.boards import by_time
    # ties on the time, then on the name too: the version decides
    entries = [NS(submitted_at=t, name=n, stem=s) for t, n, s in [
        ("2026-12-01T10:00Z", "a", "2"), ("2026-12-01T10:00Z", "b", "1"),
        ("2026-12-01T10:00Z", "b", "3"), ("2026-12-02T08:00Z", "a", "1")]]
    failed = NS(submitted_at="2026-12-01T09:00Z", name="z", stem="0")
    ledger = sorted([*entries, failed], key=lambda e: (e.submitted_at, e.name, e.stem))
    rows = [NS(entry=e) for e in (entries[3], entries[2], entries[0], entries[1])]  # by rank
    picked, sorted_ = by_time(rows, ledger), by_time(rows)
    assert [r.entry for r in picked] == entries  # the failed entry has no row
    assert picked == sorted_
