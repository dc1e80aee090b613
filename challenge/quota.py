"""Quotas, counted from the ledger so anyone can audit them.

A team's attempts are its ledger records in the challenge, except rejected ones
(a rejected submission never ran, so it costs nothing). `per_day` counts attempts
since 00:00 UTC of the current day, `total` counts attempts in the phase, and
`min_interval` is the least number of seconds between two attempts. Each limit is
inclusive: with per_day 3 the third attempt of a day is accepted, the fourth is not;
with min_interval 600 an attempt exactly 600 s after the last one is accepted.

`quota_left` is the one count: validation turns it into reasons, the PR comment into
"N submission(s) left today".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Quota:
    """What a team may still submit in a phase at a time; every count is of attempts
    inside the phase's window. None for a limit the phase does not set."""

    phase: Phase | None
    now: datetime
    today: int | None  # attempts left today (per_day)
    in_phase: int | None  # attempts left in the phase (total)
    last: datetime | None  # the team's latest attempt up to now, inside the phase or not
    wait_until: datetime | None  # before this, min_interval refuses the next attempt

    @property
    def day_end(self) -> datetime:
        return self.now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)

    def reasons(self) -> list[str]:
        """One reason per limit the next attempt at `now` would exceed; [] when allowed."""
        p = self.phase
        if p is None:
            return []
        out = []
        if self.today == 0:
            out.append(f"quota: your team has used its {p.per_day} submission(s) for today "
                       f"in the {p.name} phase; submit again after {iso(self.day_end)}")
        if self.in_phase == 0:
            out.append(f"quota: your team has used all {p.total} submission(s) of the "
                       f"{p.name} phase")
        if self.wait_until is not None and self.last is not None:
            out.append(f"quota: at least {p.min_interval} s must separate two submissions of "
                       f"a team; your last one was at {iso(self.last)}, submit again after "
                       f"{iso(self.wait_until)}")
        return out

    def describe(self) -> str | None:
        """"N submission(s) left today (closed phase)", when the phase counts per day."""
        if self.phase is None or self.today is None:
            return None
        return f"{self.today} submission(s) left today ({self.phase.name} phase)"


def quota_left(phase: Phase | None, times: list[datetime], now: datetime) -> Quota:
    """The quota left at `now` in `phase` for a team whose attempts were at `times`
    (from `attempt_times`)."""
    past = [t for t in times if t <= now]
    if phase is None:
        return Quota(None, now, None, None, past[-1] if past else None, None)
    in_phase = [t for t in past if phase.start <= t < phase.end]
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = None
    if phase.per_day is not None:
        today = max(0, phase.per_day - sum(1 for t in in_phase if t >= day))
    total = max(0, phase.total - len(in_phase)) if phase.total is not None else None
    wait_until = None
    if phase.min_interval and past and now < past[-1] + timedelta(seconds=phase.min_interval):
        wait_until = past[-1] + timedelta(seconds=phase.min_interval)
    return Quota(phase, now, today, total, past[-1] if past else None, wait_until)
