"""Phases in time (from challenge.yml, UTC).

Time decides whether submissions are accepted: before start, closed, (between,)
open, ended. What the public sees changes only by an organizer command, recorded in
the ledger's `state.yml` (`challenge.ledger.Visibility`): `gitramp phase open` makes
the code visible, `gitramp reveal` publishes the private scores. A date passing
changes nothing on its own, so no code goes public by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from challenge.errors import GitrampError
from challenge.kit import Kit, Phase

BEFORE_START = "before_start"
CLOSED = "closed"
BETWEEN = "between"  # after the closed phase, before the open one
OPEN = "open"
ENDED = "ended"
UNSCHEDULED = "unscheduled"  # a kit without phases: always accepting, no quotas


@dataclass(frozen=True)
class PhaseNow:
    state: str
    phase: Phase | None  # the phase in force (closed or open), if any
    next: Phase | None  # the next phase to start, if any

    @property
    def accepts(self) -> bool:
        return self.state in (CLOSED, OPEN, UNSCHEDULED)

    @property
    def name(self) -> str:
        return self.phase.name if self.phase else self.state

    def describe(self) -> str:
        if self.phase:
            return f"{self.phase.name} phase until {iso(self.phase.end)}"
        if self.next:
            return f"{self.state.replace('_', ' ')}; the {self.next.name} phase starts " \
                   f"{iso(self.next.start)}"
        return self.state.replace("_", " ")


def phase_at(kit: Kit, now: datetime) -> PhaseNow:
    if not kit.phases:
        return PhaseNow(UNSCHEDULED, None, None)
    for i, p in enumerate(kit.phases):
        if now < p.start:
            return PhaseNow(BEFORE_START if i == 0 else BETWEEN, None, p)
        if now < p.end:
            return PhaseNow(p.name, p, None)
    return PhaseNow(ENDED, None, None)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without a zone it is read as UTC."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise GitrampError(f"{text!r} is not a time; write it as 2026-12-01T12:00Z") from None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)
