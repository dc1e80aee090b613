"""The acts of moderation as the ledger holds them, read in one place.

An organizer's act is one YAML file of `leaderboard_data/<challenge>/_moderation/`
(challenge.moderation writes them). Both the ledger's record reader (which marks an
annulled record, `challenge.ledger.mark_annulled`) and the site and commands (which show
the acts) read them through `read_acts`, so every surface agrees on what is annulled,
banned, and by which act. This module imports nothing of the ledger: the ledger
imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scorer.untrusted import NAME_CHARS, clean_text

ANNUL = "annul"
BAN = "ban"
KINDS = (ANNUL, BAN)
ACT_TEXT_LIMIT = 500  # characters of a moderation act's reason (or other text) kept
REASON_LIMIT = ACT_TEXT_LIMIT


class InvalidAct(ValueError):
    """A file of the moderation folder that is no act: it annuls and bans nothing."""


@dataclass(frozen=True)
class Act:
    """One act of moderation, as its file records it."""

    kind: str  # annul | ban
    challenge: str
    by: str
    reason: str
    at: str  # ISO time, UTC
    team: str | None = None
    name: str | None = None  # annul: the submission
    records: tuple[str, ...] = ()  # annul: the record stems annulled
    path: str = ""  # where it is kept (not written in the file)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"act": self.kind, "challenge": self.challenge, "by": self.by,
                             "reason": self.reason, "at": self.at}
        if self.team is not None:
            d["team"] = self.team
        if self.name is not None:
            d["name"] = self.name
        if self.records:
            d["records"] = list(self.records)
        return d

    @classmethod
    def from_dict(cls, d: Any, path: str) -> Act:
        if not isinstance(d, dict) or d.get("act") not in KINDS:
            raise InvalidAct(f"{path}: not a moderation act (expected act: annul or ban)")
        records = d.get("records") or []
        if not isinstance(records, list):
            raise InvalidAct(f"{path}: records must be a list of record stems")

        def text(key: str) -> str | None:
            v = d.get(key)
            return None if v is None else clean_text(str(v), REASON_LIMIT)

        return cls(d["act"], text("challenge") or "", text("by") or "unknown",
                   text("reason") or "", text("at") or "", text("team"), text("name"),
                   tuple(clean_text(s, NAME_CHARS) for s in records), path)

    def describe(self) -> str:
        """One line for people: what, by whom, when and why."""
        what = (f"annulled {self.name} ({len(self.records)} record(s))" if self.kind == ANNUL
                else f"banned team {self.team}")
        return f"{what} by {self.by} at {self.at}: {self.reason}"


@dataclass
class Moderation:
    """The acts of one challenge, looked up by record and by team."""

    acts: list[Act] = field(default_factory=list)
    _annulments: dict[tuple[str, str], Act] | None = field(default=None, repr=False,
                                                            compare=False)

    def annulment(self, name: str, stem: str) -> Act | None:
        """The first act (oldest) annulling the record `stem` of submission `name`."""
        if self._annulments is None:  # looked up for every record of a ledger
            self._annulments = {}
            for a in self.acts:
                if a.kind == ANNUL and a.name is not None:
                    for s in a.records:
                        self._annulments.setdefault((a.name, s), a)
        return self._annulments.get((name, stem))

    def ban(self, team: str | None) -> Act | None:
        for a in self.acts:
            if a.kind == BAN and team is not None and a.team is not None and \
                    a.team.lower() == team.lower():
                return a
        return None

    def of_team(self, team: str | None) -> list[Act]:
        return [a for a in self.acts if team is not None and a.team == team]

    def of_submission(self, name: str) -> list[Act]:
        return [a for a in self.acts if a.kind == ANNUL and a.name == name]


def read_acts(files: Iterable[tuple[str, Any]]) -> Moderation:
    """The acts among `files` ([(path, parsed YAML)] of a moderation folder), oldest
    first; a file that is no act is left out (it can only annul or ban by reading)."""
    acts = []
    for path, raw in files:
        try:
            acts.append(Act.from_dict(raw, path))
        except InvalidAct:
            continue
    acts.sort(key=lambda a: (a.at, a.path))
    return Moderation(acts)
