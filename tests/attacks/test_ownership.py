"""Attack: take over another team's submission name, and its scored record with it.

Mallory copies alice's public pull request byte for byte under the same name. Both
pass validation while neither is scored; when mallory's copy is then refused ("the
name belongs to ..."), that rejection used to be written at the same ledger path as
alice's scored record (the path is keyed by name, tree and kit only), which became
`team: mallory, status: rejected`: the name looked free, and mallory's next version
under it was scored as mallory's.

Guarantees: a rejection never replaces a record (rejections live apart, keyed by team);
a record never replaces another team's; a name belongs to the first team whose version
of it passed validation, claimed in one compare-and-swap commit on the shared ledger
before scoring, which nobody else's attempt frees; a claim never scored lapses after a
bounded time; a runner's failure gives the attempt back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from challenge.ledger import Ledger, LedgerError, open_ledger
from challenge.pipeline import Options, Pipeline
from scorer.result import Result
from tests.attacks.runners import Forge, run, score, score_at_once, validate
from tests.gitramp_hubs import CLOSED_NOW, KITS, example

RF = example("iris", "random_forest")
SEPAL = example("iris", "sepal_width_only")


@pytest.fixture
def forge(tmp_path) -> Forge:
    return Forge(tmp_path, closed_per_day=10, min_interval=0)


def forest_records(forge: Forge) -> list[Result]:
    return [r for r in forge.ledger().records("iris") if r.submission == "forest"]


def test_a_copied_pr_never_replaces_or_frees_the_owners_record(forge):
    forge.open_pr(1, "alice", "forest", RF)
    forge.open_pr(2, "mallory", "forest", RF)  # the same bytes: the same tree
    first, second = forge.runner(), forge.runner()  # both checked out before any score
    assert validate(first, 1, "alice")[0] == 0
    assert validate(second, 2, "mallory")[0] == 0  # both pass the plan job

    assert score(first, 1, "alice")["status"] == "scored"
    out = score(second, 2, "mallory")  # its checkout predates alice's record
    assert out["status"] == "rejected" and "alice" in out["message"]

    scored = [r for r in forest_records(forge) if r.status == "scored"]
    assert [(r.team, r.pr) for r in scored] == [("alice", 1)]
    refused = [r for r in forest_records(forge) if r.status == "rejected"]
    assert [(r.team, r.stage) for r in refused] == [("mallory", "name")]

    # the name stays alice's: mallory's next version under it is refused too
    forge.open_pr(3, "mallory", "forest", SEPAL)
    third = forge.runner()
    assert validate(third, 3, "mallory")[0] == 1
    out = score(third, 3, "mallory")
    assert out["status"] == "rejected" and "belongs to team alice" in out["message"]
    assert [(r.team, r.status) for r in forest_records(forge) if r.status != "rejected"] \
        == [("alice", "scored")]
    # and alice keeps submitting under it
    forge.open_pr(4, "alice", "forest", SEPAL)
    assert score(forge.runner(), 4, "alice")["status"] == "scored"


def test_rejections_stay_visible_to_the_leaderboard_and_the_site(forge):
    forge.open_pr(1, "alice", "forest", RF)
    forge.open_pr(2, "mallory", "forest", RF)
    first, second = forge.runner(), forge.runner()
    score(first, 1, "alice")
    score(second, 2, "mallory")
    reader = forge.runner()
    code, out = run("leaderboard", "--repo", str(reader), "--json")
    assert code == 0
    assert '"mallory"' in out and '"rejected"' in out and '"alice"' in out
    files = open_ledger(reader).record_files("iris")
    assert len({(f.name, f.stem) for f in files}) == len(files) == 2  # one page each


def test_a_record_never_replaces_another_teams(forge):
    forge.open_pr(1, "alice", "forest", RF)
    score(forge.runner(), 1, "alice")
    ledger = Ledger(forge.runner())
    theirs = forest_records(forge)[0]
    forged = Result.from_dict({**theirs.public_dict(), "team": "mallory"})
    with pytest.raises(LedgerError, match="team alice"):
        ledger.record(forged)
    ledger.record(Result.from_dict({**forged.public_dict(), "status": "rejected"}))
    assert [r.team for r in ledger.records("iris") if r.status == "scored"] == ["alice"]


def test_two_prs_racing_for_one_name_on_two_runners_one_wins(forge):
    forge.open_pr(1, "alice", "forest", RF)
    forge.open_pr(2, "mallory", "forest", SEPAL)
    jobs = [(forge.runner(), 1, "alice"), (forge.runner(), 2, "mallory")]
    outcomes = dict(zip(("alice", "mallory"), score_at_once(jobs), strict=True))
    statuses = sorted(o["status"] for o in outcomes.values())
    assert statuses == ["rejected", "scored"], outcomes
    winner = next(a for a, o in outcomes.items() if o["status"] == "scored")
    loser = next(a for a, o in outcomes.items() if o["status"] == "rejected")
    assert "name" in outcomes[loser]["message"]
    records = forest_records(forge)
    assert [r.team for r in records if r.status == "scored"] == [winner]
    assert [r.team for r in records if r.status == "rejected"] == [loser]
    claim = forge.ledger().read("leaderboard_data/iris/forest/claim.yml")
    assert claim["team"] == winner


def pipeline(path, now=CLOSED_NOW, **kw) -> Pipeline:
    return Pipeline(path, Options(now=now, quick=True, remote="origin", runner=path.name,
                                  data_dir=str(KITS / "{challenge}" / "hidden"), **kw))


def claimed(pipe: Pipeline, pr: int, author: str):
    v = pipe.validate(ref=f"refs/pull/{pr}/head", pr=pr, author=author)
    return pipe.claim(v) if v.ok else v


def test_a_claim_never_scored_holds_the_name_for_a_bounded_time_only(forge):
    forge.open_pr(1, "alice", "forest", RF)
    forge.open_pr(2, "mallory", "forest", SEPAL)
    forge.open_pr(3, "alice", "forest", SEPAL)
    # alice's runner claims the name, then dies before recording anything
    assert claimed(pipeline(forge.runner()), 1, "alice").ok
    later = CLOSED_NOW + timedelta(hours=1)
    v = claimed(pipeline(forge.runner(), later), 2, "mallory")
    assert not v.ok and "claimed by team alice" in v.message()
    assert claimed(pipeline(forge.runner(), later), 3, "alice").ok  # the same team retakes
    # once alice's claims lapse, unscored, the name is free again
    expired = later + pipeline(forge.runner()).options.claim_ttl + timedelta(minutes=1)
    assert claimed(pipeline(forge.runner(), expired), 2, "mallory").ok
    assert forge.ledger().read("leaderboard_data/iris/forest/claim.yml")["team"] == "mallory"


def test_a_runner_failure_gives_the_attempt_back(tmp_path):
    forge = Forge(tmp_path, closed_per_day=1, min_interval=0)
    forge.open_pr(1, "alice", "forest", RF)
    forge.open_pr(2, "alice", "grove", SEPAL)
    broken = pipeline(forge.runner(), backend="no-such-backend")
    v = claimed(broken, 1, "alice")
    assert v.ok
    with pytest.raises(Exception):  # noqa: B017 - whatever the runner's own failure is
        broken.score(v)
    assert forge.ledger().read("leaderboard_data/iris/_claims/alice.yml")["attempts"] == []
    # the day's one submission is still alice's to use, here at once
    assert score(forge.runner(), 2, "alice")["status"] == "scored"
    # and a claim in flight counts: the next one is refused for quota
    assert score(forge.runner(), 1, "alice")["status"] == "rejected"
