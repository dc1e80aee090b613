"""Final selection as teams meet it: in a kit with `final_selection: 1`, a team's
choice (a commit trailer, or `gitramp select`) decides which of its submissions are on
the private leaderboard, the default is its best public score, choosing ends with the
closed phase, and `reveal` and the site follow the choice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pygit2
import pytest

from challenge.hub import commit_files
from challenge.ledger import Ledger
from challenge.pipeline import Options
from challenge.scan import scan
from gitramp.main import main as cli
from site_generator.build import build
from tests.gitramp_hubs import CLOSED_NOW, KITS, START, example, make_hub, submit

SPEC = "kits/iris/challenge.yml"


def with_selection(hub: pygit2.Repository, k: int) -> None:
    main = hub.references["refs/heads/main"].target
    spec = hub[main].peel(pygit2.Commit).tree[SPEC].data + f"final_selection: {k}\n".encode()
    commit_files(hub, "refs/heads/main", {SPEC: spec}, message="choose one", author="organizer",
                 when=START)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("selection")
    hub = make_hub(tmp, min_interval=0)
    with_selection(hub, 1)
    good, weak = example("iris", "random_forest"), example("iris", "sepal_width_only")
    when = datetime.now(UTC)
    submit(hub, "alice", "rf", good, when=when)
    # alice chooses her weaker model by its commit's trailer
    paths = {f"kits/iris/submissions/sepal/{f}": d for f, d in weak.items()}
    commit_files(hub, "refs/heads/submit/alice/sepal", paths,
                 parent=hub.references["refs/heads/main"].target, author="alice",
                 message="sepal only\n\nFinal-selection: yes\n", when=when + timedelta(1))
    submit(hub, "bob", "forest", good, when=when + timedelta(2))
    submit(hub, "bob", "petals", weak, when=when + timedelta(3))
    submit(hub, "carol", "tree", good, when=when + timedelta(4))
    submit(hub, "carol", "width", weak, when=when + timedelta(5))
    options = Options(private_ledger=tmp / "private", now=CLOSED_NOW, quick=True,
                      data_dir=str(KITS / "{challenge}" / "hidden"), runner="test-runner")
    outcomes = scan(tmp / "hub", options)
    assert sorted(o.status for o in outcomes) == ["scored"] * 6
    return tmp


def test_each_team_s_choice_decides_the_private_board(hub, capsys):
    tmp = hub
    repo = ["--repo", str(tmp / "hub")]
    now = ["--now", (CLOSED_NOW + timedelta(hours=1)).isoformat()]
    # bob chooses his weaker model by command
    assert cli(["select", "iris/petals", "--team", "bob", *repo, *now]) == 0
    assert "team bob chose petals" in capsys.readouterr().out
    # a team chooses among its own submissions only, and at most K of them
    assert cli(["select", "iris/tree", "--team", "bob", *repo, *now]) == 2
    assert "its own submissions only" in capsys.readouterr().err
    assert cli(["select", "iris/tree", "iris/width", *repo, *now]) == 2
    assert "at most 1" in capsys.readouterr().err
    # choosing ends with the closed phase
    late = (START + timedelta(days=8)).isoformat()
    assert cli(["select", "iris/forest", *repo, "--now", late]) == 2
    assert "can no longer change" in capsys.readouterr().err

    assert cli(["reveal", *repo, "--private-ledger", str(tmp / "private"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["published"] == 3
    ledger = Ledger(tmp / "hub")
    published = {p.split("/")[-2] for p in _paths(ledger, "leaderboard_data/iris/private")}
    # alice's trailer, bob's command, carol's best public score (the forest model)
    assert published == {"sepal", "petals", "tree"}

    site = tmp / "site"
    build(tmp / "hub", site)
    private = (site / "iris" / "private.html").read_text()
    for name in ("sepal", "petals", "tree"):
        assert f">{name}<" in private
    for name in ("rf", "forest", "width"):
        assert f">{name}<" not in private
    public = (site / "iris" / "index.html").read_text()
    assert all(f">{n}<" in public for n in ("rf", "forest", "tree"))  # the public board stays
    page = next((site / "iris" / "s").glob("sepal~*.html")).read_text()
    assert "Chosen for the private leaderboard (by the team)" in page
    page = next((site / "iris" / "s").glob("tree~*.html")).read_text()
    assert "Chosen for the private leaderboard (its best public score)" in page
    page = next((site / "iris" / "s").glob("rf~*.html")).read_text()
    assert "Chosen for the private" not in page


def _paths(ledger: Ledger, folder: str) -> list[str]:
    repo, out = ledger.repo, []
    tree = ledger.head().tree[folder]
    for name in repo[tree.id]:
        for f in repo[name.id]:
            out.append(f"{folder}/{name.name}/{f.name}")
    return out
