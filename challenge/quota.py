"""Quotas, counted from the ledger so anyone can audit them.

A team's attempts are its ledger records in the challenge, except rejected ones
(a rejected submission never ran, so it costs nothing). `per_day` counts attempts
since 00:00 UTC of the current day, `total` counts attempts in the phase, and
`min_interval` is the least number of seconds between two attempts. Each limit is
inclusive: with per_day 3 the third attempt of a day is accepted, the fourth is not;
with min_interval 600 an attempt exactly 600 s after the last one is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from challenge.kit import Phase
from challenge.phases import iso, parse_time
from scorer.result import REJECTED, Result


def attempt_times(records: Iterable[Result], challenge: str, team: str,
                  exclude_tree: str | None = None) -> list[datetime]:
    """When `team` submitted in `challenge`, from the ledger (rejections do not count)."""
    seen: set[str] = set()
    out = []
    for r in records:
        if (r.challenge != challenge or r.team != team or r.status == REJECTED
                or not r.submitted_at or (exclude_tree and r.tree == exclude_tree)):
            continue
        if r.tree in seen:  # one version rescored under a new kit hash counts once
            continue
        seen.add(r.tree or "")
        out.append(parse_time(r.submitted_at))
    return sorted(out)


def quota_reasons(phase: Phase | None, times: list[datetime], now: datetime) -> list[str]:
    """One reason per quota the next attempt at `now` would exceed; [] when allowed."""
    if phase is None:
        return []
    past = [t for t in times if t <= now]
    in_phase = [t for t in past if phase.start <= t < phase.end]
    reasons = []
    if phase.per_day is not None:
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        today = [t for t in in_phase if t >= day]
        if len(today) >= phase.per_day:
            reasons.append(
                f"quota: your team has used its {phase.per_day} submission(s) for today "
                f"in the {phase.name} phase; submit again after {iso(day + timedelta(days=1))}")
    if phase.total is not None and len(in_phase) >= phase.total:
        reasons.append(f"quota: your team has used all {phase.total} submission(s) of the "
                       f"{phase.name} phase")
    if phase.min_interval and past:
        wait_until = past[-1] + timedelta(seconds=phase.min_interval)
        if now < wait_until:
            reasons.append(
                f"quota: at least {phase.min_interval} s must separate two submissions of a "
                f"team; your last one was at {iso(past[-1])}, submit again after "
                f"{iso(wait_until)}")
    return reasons
