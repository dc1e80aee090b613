"""Attack: get more scored submissions than the quota allows by having them scored at
once on several runners (each would read a ledger where the quota is unspent), or lose
another team's result in the crush of concurrent pushes.

Guarantees: an attempt is claimed on the shared ledger before scoring, in one
compare-and-swap commit checked against the head it is built on (a racing runner
rebuilds and checks again), so with any number of runners no team gets more scored
submissions than its quota; every push is a compare-and-swap on the remote too, so no
result is lost; and two claims taken apart on two copies of the ledger never both
survive a merge."""

from __future__ import annotations

import pytest

from challenge.ledger import ClaimConflict, Ledger
from challenge.pipeline import Options, Pipeline
from tests.attacks.runners import Forge, scorers_at_once
from tests.gitramp_hubs import CLOSED_NOW, example

RF = example("iris", "random_forest")
PER_DAY = 2


def version(i: int) -> dict[str, bytes]:
    """The random forest, a distinct version (tree) for each i."""
    return {"classifier.py": RF["classifier.py"] + f"\n# version {i}\n".encode()}


@pytest.mark.slow
def test_four_runners_at_once_never_exceed_a_quota_nor_lose_a_result(tmp_path):
    forge = Forge(tmp_path, closed_per_day=PER_DAY, min_interval=0)
    jobs = []
    for i in range(4):
        for team, offset in (("alice", 0), ("bob", 10)):
            pr = offset + i + 1
            forge.open_pr(pr, team, f"{team}_{i}", version(pr))
            jobs.append((pr, team))
    groups = [[(forge.runner(), pr, team) for pr, team in jobs[2 * g:2 * g + 2]]
              for g in range(4)]  # four scorers, each its own clone, two jobs each
    outcomes = scorers_at_once(groups)

    for team in ("alice", "bob"):
        mine = [o for o in outcomes if o["team"] == team]
        scored = [o for o in mine if o["status"] == "scored"]
        refused = [o for o in mine if o["status"] == "rejected"]
        assert len(scored) == PER_DAY, mine
        assert len(refused) == 4 - PER_DAY and all(
            "quota" in o["message"] for o in refused), refused
    # every outcome a runner reported is on the shared ledger: none was lost in a race
    records = forge.ledger().records("iris")
    assert sorted((r.submission, r.status) for r in records) == sorted(
        (o["submission"], o["status"]) for o in outcomes)
    for team in ("alice", "bob"):
        assert sum(r.team == team and r.status == "scored" for r in records) == PER_DAY


def test_claims_taken_apart_never_both_survive_a_merge(tmp_path):
    forge = Forge(tmp_path, closed_per_day=1, min_interval=0)
    forge.open_pr(1, "alice", "one", version(1))
    forge.open_pr(2, "alice", "two", version(2))
    runners = [forge.runner(), forge.runner()]
    for path, pr in zip(runners, (1, 2), strict=True):
        # each claims on its own copy (no remote given): each fits the quota alone
        pipe = Pipeline(path, Options(now=CLOSED_NOW, quick=True))
        v = pipe.validate(ref=f"refs/pull/{pr}/head", pr=pr, author="alice")
        assert pipe.claim(v).ok
    Ledger(runners[0]).push("origin")
    with pytest.raises(ClaimConflict):
        Ledger(runners[1]).push("origin")
    attempts = forge.ledger().read("leaderboard_data/iris/_claims/alice.yml")["attempts"]
    assert [a["name"] for a in attempts] == ["one"]
