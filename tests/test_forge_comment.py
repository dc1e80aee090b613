"""The PR comment: public scores only, ranking score first, failures with their reason."""

from __future__ import annotations

from challenge.forge.base import COMMENT_MARKER
from challenge.forge.comment import render
from challenge.ranking import rank_of
from scorer.result import FoldScores, Result

PRIVATE = 0.8123456  # a test-split value that must never appear


def scored(name: str = "rf", valid: float = 0.95, team: str = "alice",
           submitted: str = "2026-12-02T10:00:00Z") -> Result:
    folds = [FoldScores({"train": {"acc": 0.99, "nll": 0.1},
                         "valid": {"acc": valid - 0.01 * i, "nll": 0.3},
                         "test": {"acc": PRIVATE, "nll": PRIVATE}}, 1.5, 0.25)
             for i in range(2)]
    return Result(challenge="iris", submission=name, status="scored", team=team,
                  score_names=["acc", "nll"], lower_is_better={"acc": False, "nll": True},
                  precision={"acc": 3, "nll": 2}, folds=folds,
                  bagged={"valid": {"acc": valid, "nll": 0.31},
                          "test": {"acc": PRIVATE, "nll": PRIVATE}},
                  commit="c" * 40, tree="t" * 40, submitted_at=submitted, phase="closed")


def test_scored_comment_shows_public_scores_rank_first_and_never_a_private_score():
    r = scored()
    body = render(r, rank=(2, 5), quota_left="2 submissions left today",
                  url="https://hub.example/iris/rf")
    assert body.startswith(COMMENT_MARKER)
    assert "**scored**" in body
    lines = body.splitlines()
    rows = [line for line in lines if line.startswith("| ")][1:]
    assert rows[0].startswith("| **acc** ↑ (ranks) | 0.950 |") and rows[1].startswith("| nll ↓")
    assert "0.31" in rows[1]  # precision 2
    assert "Rank **2** of 5" in body
    assert "fit 3.0 s, predict 0.5 s" in body
    assert "2 submissions left today" in body and "(https://hub.example/iris/rf)" in body
    for shown in ("0.812", "0.81", "8123"):
        assert shown not in body
    assert "test" not in body.lower().replace("test scores stay private", "")


def test_failure_comment_gives_reason_and_stage_and_keeps_the_log_private():
    # The log of a run on hidden data may print hidden rows: it stays in the private
    # record, and the comment says where the participant gets the whole log.
    r = Result(challenge="iris", submission="broken", status="error", stage="fit",
               reason="classifier.py line 12: ValueError: bad shape; fix fit()",
               log_tail="\n".join(f"line {i}" for i in range(100)) + "\n```\n@admin <b>",
               score_names=["acc"])
    body = render(r, quota_left="1 submission left today")
    assert "**error**" in body and "- **Why:** classifier.py line 12" in body
    assert "- **Stage:** fit" in body
    assert "line 99" not in body and "@admin" not in body and "```" not in body
    assert "`gitramp test`" in body
    assert "Rank" not in body


def test_rejection_reason_cannot_inject_html_or_mentions():
    r = Result(challenge="iris", submission="x", status="rejected", stage="scope",
               reason="scope: touches .github/workflows/x.yml <!-- @org/admins -->")
    body = render(r)
    assert "<!--" not in body.replace(COMMENT_MARKER, "") and "@org" not in body
    assert ".github/workflows/x.yml" in body


def test_public_rank_follows_the_leaderboard_rule():
    a, b, c = scored("a", 0.90), scored("b", 0.95, submitted="2026-12-03T00:00:00Z"), \
        scored("c", 0.95, submitted="2026-12-01T00:00:00Z")
    failed = Result(challenge="iris", submission="f", status="error")
    assert rank_of(b, [a, c, failed]) == (2, 3)  # tie goes to the earlier one (c)
    assert rank_of(a, [b, c]) == (3, 3)
    assert rank_of(failed, [a]) is None
