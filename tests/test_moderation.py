"""Moderation as an organizer meets it: `gitramp moderate annul` takes a record off
every board and blend while it stays in the ledger, `gitramp moderate ban` rejects a
team's later submissions with the reason, and each act is a commit naming who and why,
shown on the site."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pygit2
import pytest

from challenge import moderation
from challenge.credit import blend_challenges
from challenge.ledger import Ledger
from challenge.pipeline import Options
from challenge.ranking import RankingScore, board
from challenge.scan import scan
from gitramp.main import main as cli
from site_generator.build import build
from tests.gitramp_hubs import CLOSED_NOW, KITS, example, make_hub, submit

REASON = "the same model was sent under two teams"


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("moderation")
    hub = make_hub(tmp)
    submit(hub, "alice", "rf", example("iris", "random_forest"))
    submit(hub, "bob", "sepal", example("iris", "sepal_width_only"))
    options = Options(private_ledger=tmp / "private", now=CLOSED_NOW, quick=True,
                      data_dir=str(KITS / "{challenge}" / "hidden"), runner="test-runner")
    outcomes = scan(tmp / "hub", options)
    assert sorted(o.status for o in outcomes) == ["scored", "scored"]
    return tmp, options


@pytest.fixture
def hub(scored, tmp_path):
    tmp, options = scored
    shutil.copytree(tmp / "hub", tmp_path / "hub", symlinks=True)
    shutil.copytree(tmp / "private", tmp_path / "private", symlinks=True)
    options = Options(**{**vars(options), "private_ledger": tmp_path / "private"})
    return tmp_path, options


def moderate(tmp, *args):
    return cli(["moderate", *args, "--repo", str(tmp / "hub"), "--by", "olga",
                "--now", (CLOSED_NOW + timedelta(hours=2)).isoformat()])


def test_annulled_record_stays_in_the_ledger_and_leaves_every_board_and_blend(hub, capsys):
    tmp, _ = hub
    ledger = Ledger(tmp / "hub")
    before = dict(ledger.entries("iris"))
    score = RankingScore("acc")
    assert {s.result.submission for s in board(ledger.records("iris"), score)} == \
        {"rf", "sepal"}

    assert moderate(tmp, "annul", "iris/rf", "--reason", REASON) == 0
    assert "annulled rf" in capsys.readouterr().out

    # the record itself is untouched: the act is a file of its own
    assert dict(ledger.entries("iris")) == before
    head = ledger.head()
    assert head.author.name == "olga" and REASON in head.message
    assert "moderation: annul iris/rf by olga" in head.message
    acts = moderation.read(ledger, "iris").acts
    assert [(a.kind, a.name, a.by, a.reason) for a in acts] == [("annul", "rf", "olga",
                                                                 REASON)]

    records = {r.submission: r for r in ledger.records("iris")}
    assert moderation.is_annulled(records["rf"]) and records["rf"].act["reason"] == REASON
    assert not moderation.is_annulled(records["sepal"])
    assert [s.result.submission for s in board(records.values(), score)] == ["sepal"]

    capsys.readouterr()
    assert cli(["leaderboard", "--repo", str(tmp / "hub"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["iris"]
    assert [r["submission"] for r in rows if r["rank"]] == ["sepal"]

    credits = blend_challenges(tmp / "hub", ["iris"], private_repo=tmp / "private")
    members = {row.submission: row.blend for row in credits[0].rows}
    assert members.get("rf", 0.0) == 0.0 and members["sepal"] == pytest.approx(100)

    # the private board, once revealed, and the site's boards leave it out too
    assert cli(["reveal", "--repo", str(tmp / "hub"), "--private-ledger",
                str(tmp / "private")]) == 0
    site = tmp / "site"
    build(tmp / "hub", site)
    index = (site / "iris" / "index.html").read_text()
    private = (site / "iris" / "private.html").read_text()
    assert ">sepal<" in index and ">rf<" not in index
    assert ">sepal<" in private and ">rf<" not in private
    page = next((site / "iris" / "s").glob("rf~*.html")).read_text()
    assert "Annulled by olga" in page and "the same model was sent" in page
    team = (site / "iris" / "team" / "alice.html").read_text()
    assert "annulled rf" in team and "olga" in team


def test_a_banned_team_is_rejected_with_the_reason(hub, capsys):
    tmp, options = hub
    assert moderate(tmp, "ban", "bob", "--reason", "shared hidden data") == 0
    assert "banned team bob" in capsys.readouterr().out
    ledger = Ledger(tmp / "hub")
    assert "Reason: shared hidden data" in ledger.head().message
    repo = pygit2.Repository(str(tmp / "hub"))
    submit(repo, "bob", "sepal2", example("iris", "random_forest"))
    submit(repo, "alice", "rf2", example("iris", "random_forest"))
    later = Options(**{**vars(options), "now": CLOSED_NOW + timedelta(hours=3)})
    outcomes = {o.submission.name: o for o in scan(tmp / "hub", later)}
    assert outcomes["rf2"].status == "scored"
    refused = outcomes["sepal2"]
    assert refused.status == "rejected" and "banned" in refused.message
    assert "shared hidden data" in refused.message and "olga" in refused.message
    assert refused.path and "/_rejected/bob/sepal2/" in refused.path
    assert ledger.read(refused.path)["stage"] == "banned"
    # bob's records from before the ban still stand
    assert any(r.submission == "sepal" and r.status == "scored"
               for r in ledger.records("iris"))
    site = tmp / "site"
    build(tmp / "hub", site)
    assert "banned team bob by olga" in (site / "iris" / "team" / "bob.html").read_text()


def test_an_act_needs_a_reason_and_a_known_record(hub, capsys):
    tmp, _ = hub
    with pytest.raises(SystemExit):
        moderate(tmp, "annul", "iris/rf")  # --reason is required
    assert moderate(tmp, "annul", "iris/nothing", "--reason", "x") == 2
    assert "no record of iris/nothing" in capsys.readouterr().err
    assert moderate(tmp, "annul", "iris/rf", "--reason", "  ") == 2
    assert "say why" in capsys.readouterr().err


def test_the_ledger_reader_and_the_site_agree_on_which_act_annuls(hub):
    """Acts are read in one place (challenge.moderation): when two acts annul the same
    record, every surface names the oldest; a file that is no act annuls nothing."""
    import yaml

    from challenge.ledger import record_stem

    tmp, _ = hub
    assert moderate(tmp, "annul", "iris/rf", "--reason", REASON) == 0
    ledger = Ledger(tmp / "hub")
    records = {r.submission: r for r in ledger.records("iris")}
    rf, sepal = records["rf"], records["sepal"]
    folder = moderation.folder("iris")

    def act(**fields) -> bytes:
        return yaml.safe_dump({"act": "annul", "challenge": "iris", "by": "ines",
                               "at": "2000-01-01T00:00:00Z", **fields}).encode()

    stem = record_stem(rf.tree, rf.scoring_hash)
    ledger.write({
        # older than olga's act, in a file whose name sorts after hers
        f"{folder}/zz-older.yml": act(name="rf", records=[stem], reason="the oldest act"),
        # records is no list: no act at all, so sepal stays on the boards
        f"{folder}/zz-broken.yml": act(
            name="sepal", records=record_stem(sepal.tree, sepal.scoring_hash),
            reason="must annul nothing")}, "moderation: two hand-written acts")
    records = {r.submission: r for r in ledger.records("iris")}
    assert records["rf"].act["reason"] == "the oldest act"
    assert not moderation.is_annulled(records["sepal"])
    site = tmp / "site"
    build(tmp / "hub", site)
    page = next((site / "iris" / "s").glob("rf~*.html")).read_text()
    assert "the oldest act" in page and REASON not in page.split("Annulled by", 1)[1][:400]
    assert ">sepal<" in (site / "iris" / "index.html").read_text()
    assert "must annul nothing" not in "".join(
        p.read_text() for p in (site / "iris").rglob("*.html"))


def test_an_acts_record_stems_are_cleaned_and_bounded_like_its_other_text():
    """An act's stems reach the annulled record and every surface that shows it: a
    hostile moderation file's escapes and noise stop at the reader."""
    from challenge.acts import Act

    act = Act.from_dict({"act": "annul", "name": "x", "reason": "r",
                         "records": ["\x1b[2J" + "a" * 5000, "0123456789abcdef-01234567"]},
                        "p.yml")
    assert "\x1b" not in act.records[0] and len(act.records[0]) <= 100
    assert act.records[1] == "0123456789abcdef-01234567"  # a real stem is unchanged
