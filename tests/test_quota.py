"""Quotas counted from the ledger, enforced exactly at their boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from challenge.kit import Phase
from challenge.quota import attempt_times, quota_left
from scorer.result import Result

T0 = datetime(2026, 12, 1, tzinfo=UTC)
PHASE = Phase(name="closed", start=T0, end=T0 + timedelta(days=7), per_day=3, total=5,
              min_interval=600)


def test_per_day_boundary_third_accepted_fourth_refused():
    now = T0 + timedelta(hours=10)
    two = [now - timedelta(hours=2), now - timedelta(hours=1)]
    assert quota_left(PHASE, two, now).reasons() == []
    reasons = quota_left(PHASE, two + [now - timedelta(minutes=30)], now).reasons()
    assert len(reasons) == 1 and "3 submission(s) for today" in reasons[0]
    assert "2026-12-02T00:00:00Z" in reasons[0]


def test_per_day_counts_from_midnight_utc():
    late = [T0 + timedelta(hours=23, minutes=m) for m in (0, 20, 40)]
    assert quota_left(PHASE, late, T0 + timedelta(hours=23, minutes=59)).reasons()
    assert quota_left(PHASE, late, T0 + timedelta(days=1)).reasons() == []


def test_min_interval_exactly_at_the_boundary():
    last = T0 + timedelta(hours=1)
    assert quota_left(PHASE, [last], last + timedelta(seconds=599)).reasons()
    assert quota_left(PHASE, [last], last + timedelta(seconds=600)).reasons() == []


def test_total_per_phase():
    five = [T0 + timedelta(days=d) for d in range(5)]
    reasons = quota_left(PHASE, five, T0 + timedelta(days=5, hours=1)).reasons()
    assert reasons == ["quota: your team has used all 5 submission(s) of the closed phase"]
    assert quota_left(PHASE, five[:4], T0 + timedelta(days=5, hours=1)).reasons() == []


def test_attempts_come_from_the_ledger_and_rejections_cost_nothing():
    def rec(team, status, minute, tree, challenge="iris"):
        return Result(challenge=challenge, submission="s", status=status, team=team,
                      tree=tree * 40, submitted_at=f"2026-12-01T01:{minute:02d}:00Z")
    records = [rec("red", "scored", 0, "a"), rec("red", "error", 10, "b"),
               rec("red", "rejected", 20, "c"), rec("blue", "scored", 30, "d"),
               rec("red", "scored", 40, "e", challenge="diabetes"),
               rec("red", "scored", 50, "a")]  # same version rescored: counted once
    times = attempt_times(records, "iris", "red")
    assert [t.minute for t in times] == [0, 10]
    assert [t.minute for t in attempt_times(records, "iris", "red", exclude_tree="b" * 40)] \
        == [0]


def test_quota_left_counts_only_attempts_inside_the_phase_window():
    """The PR comment's "left today" and validation share one count: an attempt made
    today before the phase started does not use the phase's daily quota."""
    start = T0 + timedelta(hours=12)
    phase = Phase(name="open", start=start, end=start + timedelta(days=7), per_day=2)
    before = [T0 + timedelta(hours=1), T0 + timedelta(hours=2)]  # same day, earlier phase
    now = start + timedelta(hours=1)
    left = quota_left(phase, before, now)
    assert left.today == 2 and left.reasons() == []
    assert left.describe() == "2 submission(s) left today (open phase)"
    left = quota_left(phase, before + [start + timedelta(minutes=5)], now)
    assert left.today == 1 and left.describe() == "1 submission(s) left today (open phase)"
    assert quota_left(None, before, now).describe() is None
