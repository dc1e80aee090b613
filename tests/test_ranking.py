"""One leaderboard rule (challenge.ranking): the site's boards, the rank in the PR comment
and `gitramp leaderboard` order the same ledger the same way, ties to the earlier
submission."""

from __future__ import annotations

import json
import random
import re

import pygit2
import pytest

from challenge import ranking
from challenge.ledger import Ledger, record_stem
from challenge.ranking import RankingScore, board, rank_of, team_best
from gitramp.main import main as cli
from scorer.result import SCORED, Result
from site_generator import build
from tests.github_server import GitHubServer
from tests.gitramp_hubs import CLOSED_NOW, make_hub

REPO = "hub/iris"
# (submission, team, bagged valid acc, submitted at): three tie at 0.9
TIED = [("alpha", "red", 0.9, "2026-12-01T03:00:00Z"),
        ("beta", "blue", 0.9, "2026-12-01T01:00:00Z"),  # earlier than alpha: ahead of it
        ("delta", "red", 0.9, "2026-12-01T01:00:00Z"),  # same time as beta: by name, after
        ("gamma", "green", 0.95, "2026-12-01T05:00:00Z"),
        ("eps", "blue", 0.8, "2026-12-01T00:30:00Z")]
ORDER = ["gamma", "beta", "delta", "alpha", "eps"]
TEAM_ORDER = ["gamma", "beta", "delta"]  # green, blue, red


def record(i: int, name: str, team: str, acc: float, when: str) -> Result:
    return Result(challenge="iris", submission=name, status=SCORED, team=team,
                  score_names=["acc", "nll", "f1"],
                  lower_is_better={"acc": False, "nll": True, "f1": False},
                  precision={"acc": 3, "nll": 3, "f1": 3},
                  bagged={"valid": {"acc": acc, "nll": 0.3, "f1": acc}},
                  commit=f"{i + 1:040x}", tree=f"{i + 101:040x}", scoring_hash="ab" * 20,
                  submitted_at=when, phase="closed", pr=10 + i)


@pytest.fixture
def ledger_with_ties(tmp_path):
    repo = make_hub(tmp_path)
    hub = tmp_path / "hub"
    ledger = Ledger(hub)
    paths = {}
    for i, row in enumerate(TIED):
        r = record(i, *row)
        paths[r.submission] = (ledger.record(r), r.pr)
    failed = Result(challenge="iris", submission="broken", status="error", team="blue",
                    reason="fit failed", tree=f"{99:040x}", scoring_hash="ab" * 20,
                    commit=f"{99:040x}", submitted_at="2026-12-01T00:00:00Z")
    ledger.record(failed)
    repo.checkout_head(strategy=pygit2.enums.CheckoutStrategy.FORCE)  # the kits' files
    return hub, paths


def test_the_tie_rule_is_one_for_the_site_the_pr_comment_and_the_cli(
        ledger_with_ties, tmp_path, monkeypatch, capsys):
    hub, paths = ledger_with_ties

    # the site's boards
    build(hub, tmp_path / "site", now=CLOSED_NOW)
    data = json.loads((tmp_path / "site/iris/leaderboard.json").read_text())
    assert data["ranking"]["ties"] == "earlier submission first"
    assert [r["submission"] for r in data["submissions"]] == ORDER
    assert [r["rank"] for r in data["submissions"]] == [1, 2, 3, 4, 5]
    assert [r["submission"] for r in data["teams"]] == TEAM_ORDER

    # `gitramp leaderboard --json`: ranked rows in the same order, the failed one after
    capsys.readouterr()
    assert cli(["leaderboard", "--repo", str(hub), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["iris"]
    assert [(r["submission"], r["rank"]) for r in rows] == \
        [(n, i + 1) for i, n in enumerate(ORDER)] + [("broken", None)]
    assert cli(["leaderboard", "--repo", str(hub), "--json", "--best"]) == 0
    best = json.loads(capsys.readouterr().out)["iris"]
    assert [(r["submission"], r["rank"]) for r in best] == \
        [(n, i + 1) for i, n in enumerate(TEAM_ORDER)]

    # the rank each PR comment states, through `gitramp forge report`
    with GitHubServer() as gh:
        gh.add_repo(REPO)
        gh.add_token("tok", permissions={"contents": "read", "pull_requests": "write",
                                         "statuses": "write"})
        for k, v in {"GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": gh.api_url,
                     "GITHUB_TOKEN": "tok"}.items():
            monkeypatch.setenv(k, v)
        stated = {}
        for name, (path, pr) in paths.items():
            sha = f"{pr - 9:040x}"
            gh.open_pull(REPO, number=pr, author=name, head_sha=sha, head_repo=f"{name}/iris",
                         files=[f"kits/iris/submissions/{name}/classifier.py"])
            outcome = tmp_path / f"{name}.json"
            outcome.write_text(json.dumps({"status": "scored", "path": path}))
            assert cli(["forge", "report", "--pr", str(pr), "--sha", sha, "--outcome",
                        str(outcome), "--repo", str(hub)]) == 0
            (comment,) = gh.comments_on(REPO, pr)
            found = re.search(r"Rank \*\*(\d+)\*\* of (\d+)", comment["body"])
            stated[name] = (int(found.group(1)), int(found.group(2)))
    assert stated == {n: (i + 1, len(ORDER)) for i, n in enumerate(ORDER)}


def test_the_rule_in_plain_data():
    records = [record(i, *row) for i, row in enumerate(TIED)]
    score = RankingScore("acc")
    ranked = board(records, score)
    assert [s.result.submission for s in ranked] == ORDER
    assert [s.result.submission for s in team_best(ranked)] == TEAM_ORDER
    assert [s.rank for s in team_best(ranked)] == [1, 2, 3]
    # lower is better turns the board around; ties still go to the earlier submission
    lower = [s.result.submission for s in board(records, RankingScore("acc", True))]
    assert lower == ["eps", "beta", "delta", "alpha", "gamma"]
    # the PR comment's rank of one record; a record with no value is not ranked
    alpha = next(r for r in records if r.submission == "alpha")
    assert rank_of(alpha, records) == (4, 5)
    unranked = Result(challenge="iris", submission="x", status=SCORED, score_names=["acc"])
    assert rank_of(unranked, records) is None


@pytest.mark.parametrize("lower", [False, True])
def test_placing_new_records_in_a_ranked_board_gives_the_board_of_all(lower):
    """`extend_board` (a rebuild places only what came in the last build's board) gives
    what `board` gives for every record, ties and all; or nothing when it cannot."""
    rng = random.Random(7 if lower else 8)
    score = RankingScore("acc", lower)
    for trial in range(60):
        n = rng.randrange(0, 40)
        # few values and times, so that many keys tie on them and part on the names
        records = [record(i, f"s{rng.randrange(25)}", rng.choice(["red", "blue"]),
                          rng.choice([0.5, 0.7, 0.9, None]),
                          rng.choice(["2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z"]))
                   for i in range(n)]
        for i, r in enumerate(records):
            r.tree = f"{i:016x}" + "0" * 24  # each its own version: no whole key twice
            if r.bagged["valid"]["acc"] is None:  # not ranked
                r.bagged = {}
        old = records[:rng.randrange(n + 1)]
        new = records[len(old):]
        placed = [(s.result, s.value) for s in board(old, score)]
        extended = board_rows(ranking.extend_board(placed, new, score))
        assert extended == board_rows(board(old + new, score)), trial
        # the placed records' keys given by the caller: none of their results is read
        unread = set(map(id, old))

        def result_of(r, unread=unread):
            assert id(r) not in unread, "a placed record's result was read"
            return r
        held = ranking.extend_board(
            placed, new, score, result_of=result_of,
            tail_of=lambda r: (ranking.submitted(r), r.submission,
                               record_stem(r.tree, r.scoring_hash)),
            make=lambda r, _, rank, v: ranking.Standing(r, r, rank, v))
        assert board_rows(held) == extended, trial
    # a new record tied with a placed one on the whole key: board orders them by where
    # they stand, which the placed board does not say
    twin = record(0, "alpha", "red", 0.9, "2026-12-01T01:00:00Z")
    same = record(0, "alpha", "red", 0.9, "2026-12-01T01:00:00Z")
    assert ranking.extend_board([(twin, 0.9)], [same], score) is None
    # a placed record the search reads that is no longer ranked
    gone = record(1, "beta", "red", 0.9, "2026-12-01T01:00:00Z")
    gone.status = "error"
    assert ranking.extend_board([(gone, 0.9)], [twin], score) is None
    # nothing new: the placed board, ranked again from 1
    assert board_rows(ranking.extend_board([(twin, 0.9)], [], score)) == [("alpha", 1, 0.9)]


def board_rows(rows) -> list[tuple]:
    return [(s.result.submission, s.rank, s.value) for s in rows]
