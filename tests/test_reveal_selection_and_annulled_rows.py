"""What organizers read after moderation and final selection: `gitramp reveal
--verify-top N` re-runs the top of the board reveal publishes (the teams' final
selection, in a kit that has one), and `gitramp leaderboard` lists an annulled record as
annulled, with who annulled it and why, below the ranked ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pygit2
import pytest

from challenge.hub import commit_files
from challenge.ledger import Ledger
from challenge.pipeline import Options
from challenge.scan import scan
from challenge.verify import top_records
from gitramp.main import main as cli
from tests.gitramp_hubs import CLOSED_NOW, KITS, START, example, make_hub, submit

SPEC = "kits/iris/challenge.yml"
REASON = "sent from a second account to pass the quota"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """final_selection: 1; alice's forest and, chosen by its trailer, her weak model;
    bob's logistic regression; carol's weak model, annulled."""
    tmp = tmp_path_factory.mktemp("views")
    repo = make_hub(tmp, min_interval=0)
    main = repo.references["refs/heads/main"].target
    spec = repo[main].peel(pygit2.Commit).tree[SPEC].data + b"final_selection: 1\n"
    commit_files(repo, "refs/heads/main", {SPEC: spec}, message="one each",
                 author="organizer", when=START)
    good, weak = example("iris", "random_forest"), example("iris", "sepal_width_only")
    when = datetime.now(UTC)
    submit(repo, "alice", "rf", good, when=when)
    commit_files(repo, "refs/heads/submit/alice/sepal",
                 {f"kits/iris/submissions/sepal/{f}": d for f, d in weak.items()},
                 parent=repo.references["refs/heads/main"].target, author="alice",
                 message="sepal only\n\nFinal-selection: yes\n", when=when + timedelta(1))
    submit(repo, "bob", "lr", example("iris", "starting_kit"), when=when + timedelta(2))
    submit(repo, "carol", "width", weak, when=when + timedelta(3))
    options = Options(private_ledger=tmp / "private", now=CLOSED_NOW, quick=True,
                      data_dir=str(KITS / "{challenge}" / "hidden"), runner="test-runner")
    assert sorted(o.status for o in scan(tmp / "hub", options)) == ["scored"] * 4
    assert cli(["moderate", "annul", "iris/width", "--reason", REASON, "--by", "olga",
                "--repo", str(tmp / "hub"),
                "--now", (CLOSED_NOW + timedelta(hours=1)).isoformat()]) == 0
    return tmp


def test_the_leaderboard_lists_an_annulled_record_as_annulled_with_its_reason(hub, capsys):
    capsys.readouterr()
    assert cli(["leaderboard", "--repo", str(hub / "hub"), "--json"]) == 0
    rows = {r["submission"]: r for r in json.loads(capsys.readouterr().out)["iris"]}
    width = rows["width"]
    assert width["status"] == "annulled" and width["rank"] is None
    assert width["annulled"]["by"] == "olga" and width["annulled"]["reason"] == REASON
    assert "annulled by olga" in width["reason"] and REASON in width["reason"]
    assert all(rows[n]["rank"] and rows[n]["status"] == "scored"
               for n in ("rf", "sepal", "lr"))

    assert cli(["leaderboard", "--repo", str(hub / "hub")]) == 0
    out = capsys.readouterr().out
    assert "annulled" in out
    assert "carol/width: annulled by olga" in out and REASON in out


def test_verify_top_follows_the_final_selection(hub, capsys):
    capsys.readouterr()
    board = top_records(Ledger(hub / "hub"), "iris", 3, Ledger(hub / "private"))
    assert [r.submission for r in board][:2] != ["sepal", "lr"]
    assert "rf" in [r.submission for r in board][:2]  # alice's forest, not her choice
    assert cli(["reveal", "--repo", str(hub / "hub"), "--private-ledger",
                str(hub / "private"), "--verify-top", "2", "--data-dir",
                str(KITS / "{challenge}" / "hidden"), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    # the board reveal publishes: alice's choice (her weak model) and bob's only one
    assert {v["submission"] for v in row["verified"]} == {"sepal", "lr"}
    assert row["published"] == 2  # carol's was annulled
