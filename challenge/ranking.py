"""The leaderboard rule, defined once: the site's boards, the rank in a PR comment and
`gitramp leaderboard` all rank through `board`.

A board ranks the scored records of one challenge that hold a value of the ranking
score (the kit's first score) on a split: its bagged value, or the folds' mean when no
bagged value was recorded. Best first, in the ranking score's direction. Ties go to
the earlier submission (`submitted_at`, or `scored_at` when that is missing); then, so
that the order is total, to the submission name and the version (the record's file
stem). The public board ranks on the `valid` split, the private one on `test`, which a
reader holds only once the private scores are revealed.

A record an organizer annulled (`challenge.moderation`) is on no board.

The team board keeps each team's first row of a board, renumbered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from challenge.kit import Kit
from challenge.ledger import record_stem
from challenge.moderation import is_annulled
from scorer.result import SCORED, Result
from scorer.score_types import bind_scores

PUBLIC = "valid"
PRIVATE = "test"

T = TypeVar("T")
S = TypeVar("S", bound="Standing")


@dataclass(frozen=True)
class RankingScore:
    """The score a board ranks on, and its direction."""

    name: str
    lower_is_better: bool = False

    @classmethod
    def of_kit(cls, kit: Kit) -> RankingScore | None:
        """The kit's first score, its direction settled by its score type."""
        scores = bind_scores(kit)
        return cls(scores[0].name, scores[0].lower_is_better) if scores else None

    @classmethod
    def of_result(cls, result: Result) -> RankingScore | None:
        """The ranking score as a record states it (its kit's first score)."""
        name = result.ranking_score
        if name is None:
            return None
        return cls(name, bool(result.lower_is_better.get(name, False)))


@dataclass
class Standing(Generic[T]):
    """One ranked item of a board (a record, or what a reader wraps around one)."""

    item: T
    result: Result
    rank: int
    value: float


def value(result: Result, name: str, split: str = PUBLIC) -> float | None:
    """The value a board ranks on: the bagged value of a score, or the folds' mean when
    no bagged value was recorded; None when neither is a finite number."""
    bagged = result.bagged.get(split, {}).get(name)
    if type(bagged) is float and math.isfinite(bagged):  # the common case, first
        return bagged
    if finite(bagged):
        return float(bagged)
    mean = result.mean(split).get(name) if result.folds else None
    return float(mean) if finite(mean) else None


def submitted(result: Result) -> str:
    """When a record was submitted, as ISO text: ties go to the earlier."""
    when: Any = result.submitted_at or result.scored_at or ""
    if type(when) is str:  # as records hold it
        return when
    return when.isoformat().replace("+00:00", "Z") if hasattr(when, "isoformat") else str(when)


def board(items: Iterable[T], score: RankingScore | None, split: str = PUBLIC,
          result_of: Callable[[T], Result] | None = None,
          make: Callable[[T, Result, int, float], S] | None = None) -> list[S]:
    """Scored items holding a value of `score` on `split`, best first, ranked 1, 2, ...

    `result_of` gives the record of an item (default: the item is the record); `make`
    makes a row of (item, record, rank, value) (default: a `Standing`), so a reader
    wrapping rows makes one object a row, not two (a big site ranks tens of thousands
    a build)."""
    if score is None:
        return []
    get = result_of or (lambda item: item)
    sign = 1.0 if score.lower_is_better else -1.0
    name = score.name
    keys, kept = [], []
    for item in items:
        r = get(item)
        if r.status != SCORED or is_annulled(r):  # an organizer annulled it
            continue
        v = value(r, name, split)
        if v is not None:
            keys.append((sign * v, submitted(r), r.submission,
                         record_stem(r.tree or "", r.scoring_hash or ""), len(kept)))
            kept.append((item, r, v))
    keys.sort()  # the index last: equal keys keep the items' order, as before
    row = make or Standing
    out = []
    for rank, key in enumerate(keys, 1):
        item, r, v = kept[key[-1]]
        out.append(row(item, r, rank, v))
    return out


def team_best(standings: list[S]) -> list[S]:
    """Each team's first row of a board, renumbered."""
    seen: set[str | None] = set()
    out: list[S] = []
    for s in standings:
        if s.result.team not in seen:
            seen.add(s.result.team)
            out.append(replace(s, rank=len(out) + 1))
    return out


def rank_of(result: Result, records: Iterable[Result]) -> tuple[int, int] | None:
    """(rank, number ranked) of `result` on the public board of its challenge's
    `records` (it is added when they lack it); None when it is not ranked. The
    direction is the one `result` records for its ranking score."""
    def same(r: Result) -> bool:
        return (r.submission, r.tree, r.scoring_hash) == \
            (result.submission, result.tree, result.scoring_hash)

    mine = [r for r in records if r.challenge == result.challenge and not same(r)]
    rows = board([*mine, result], RankingScore.of_result(result))
    for row in rows:
        if row.item is result:
            return row.rank, len(rows)
    return None


def finite(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
