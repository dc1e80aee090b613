"""`make demo` end to end on one kit: every step happens, and a re-run scores nothing."""

from __future__ import annotations

import io

import pygit2
import pytest
from rich.console import Console

from challenge.ledger import Ledger
from gitramp import demo
from tests.gitramp_hubs import KITS


@pytest.mark.slow
def test_demo_runs_a_season_and_reruns_without_rescoring(tmp_path):
    out = tmp_path / "_demo"
    console = Console(file=io.StringIO(), width=120)
    demo.run(out, KITS, only=["iris"], backend="local", workers=2, quick=True, console=console)
    text = console.file.getvalue()
    ledger = Ledger(out / "hub")
    records = {r.submission: r for r in ledger.records("iris")}
    statuses = {name: r.status for name, r in records.items()}
    assert statuses["broken_features"] == "error"
    assert statuses["random_forest"] == "scored"
    assert statuses["sepal_width_only"] == "scored"
    # sent one minute after the same team's first: refused in the closed phase, and
    # accepted a week later in the open phase (a quota refusal is not final)
    assert "rejected iris/random_forest_again" in text
    assert statuses["random_forest_again"] == "scored"
    fork = records["random_forest_plus"]
    assert fork.phase == "open" and fork.status == "scored"
    assert fork.lineage["parent"].startswith("random_forest@")
    assert fork.lineage["parent_team"] == records["random_forest"].team != fork.team
    assert 0 < fork.lineage["inherited_share"] < 1
    state = ledger.state("iris")
    assert state.code_visible and state.revealed
    main = ledger.head()
    assert "kits/iris/submissions/random_forest_plus" in main.tree
    assert (out / "private-ledger").is_dir()
    assert "where to look" in text

    head_before = main.id
    private_before = Ledger(out / "private-ledger").head().id
    console2 = Console(file=io.StringIO(), width=120)
    demo.run(out, KITS, only=["iris"], backend="local", workers=2, quick=True,
             console=console2)
    assert "nothing new to score" in console2.file.getvalue()
    assert Ledger(out / "private-ledger").head().id == private_before
    repo = pygit2.Repository(str(out / "hub"))
    new = [c for c in repo.walk(repo.references["refs/heads/main"].target)
           if c.id == head_before]
    assert new, "the re-run rewrote history"
    assert ledger.head().id == head_before, "the re-run wrote to the ledger"
