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

import bisect
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
    key_of = _keyer(score, split)
    get = result_of or _itself
    keys, kept = [], []
    for item in items:
        r = get(item)
        k = key_of(r)
        if k is not None:
            keys.append((*k, len(kept)))
            kept.append((item, r))
    keys.sort()  # the index last: equal keys keep the items' order, as before
    sign = _sign(score)
    row = make or Standing
    return [row(*kept[k[-1]], rank, sign * k[0]) for rank, k in enumerate(keys, 1)]


def extend_board(placed: list[tuple[T, float]], items: Iterable[T],
                 score: RankingScore | None, split: str = PUBLIC,
                 result_of: Callable[[T], Result] | None = None,
                 make: Callable[[T, Result, int, float], S] | None = None,
                 tail_of: Callable[[T], tuple] | None = None) -> list[S] | None:
    """What `board` gives for the items of `placed` and `items`, when `placed` is the
    board of those items already, as (item, value) in its order (a rebuild's records
    are the last build's and the new ones: a record's key is its content's). Only
    `items` are ranked, each placed by bisection, which makes the keys of the dozen
    placed items it reads. None when that cannot give `board`'s order: a placed item
    read is not ranked, or a new item's key equals a placed one's (`board` orders
    them by where they stand among the items, which `placed` does not say). New items
    tied with each other keep their order in `items`. `make` is given a placed item's
    result as None: rows that do not read it leave ten thousand results unread.
    `tail_of(item)`: a placed item's key after its value (submitted, submission,
    version), when the caller holds it; its result is then never read, and the caller
    vouches that it is still ranked."""
    if score is None:
        return []
    key_of = _keyer(score, split)
    get = result_of or _itself
    if make is None:
        def make(item, r, rank, v):
            return Standing(item, get(item) if r is None else r, rank, v)
    new = []
    for item in items:
        r = get(item)
        k = key_of(r)
        if k is not None:
            new.append((k, len(new), item, r))
    new.sort(key=lambda n: n[:2])  # equal keys keep the items' order
    sign = _sign(score)
    keys = _PlacedKeys(placed, (lambda item, v: key_of(get(item))) if tail_of is None
                       else (lambda item, v: (sign * v, *tail_of(item))))
    row = make
    rows: list[S] = []
    at = 0
    for k, _, item, r in new:
        cut = bisect.bisect_left(keys, k, at)
        if keys.broken or cut < len(placed) and keys[cut] == k:
            return None
        rows += [row(p, None, len(rows) + i, v)
                 for i, (p, v) in enumerate(placed[at:cut], 1)]
        rows.append(row(item, r, len(rows) + 1, sign * k[0]))
        at = cut
    rows += [row(p, None, len(rows) + i, v) for i, (p, v) in enumerate(placed[at:], 1)]
    return None if keys.broken else rows


class _PlacedKeys:
    """The ranking keys of a placed board's items, made when read (a bisection reads a
    dozen), for `bisect` to search."""

    def __init__(self, placed: list, key_at: Callable[[Any, float], tuple | None]):
        self.placed, self.key_at = placed, key_at  # key_at(item, value): its key
        self.broken = False  # a placed item read is not ranked

    def __len__(self) -> int:
        return len(self.placed)

    def __getitem__(self, i: int) -> tuple:
        k = self.key_at(*self.placed[i])
        if k is None:
            self.broken = True
            return ()  # sorts first: the search goes on, its result is not used
        return k


def _keyer(score: RankingScore, split: str) -> Callable[[Result], tuple | None]:
    """The function giving a record's ranking key on `split`: (signed value, submitted,
    submission, version), smallest first; None when the record is not ranked."""
    value_of = _valuer(score, split)

    def key(r: Result) -> tuple | None:
        v = value_of(r)
        if v is None:
            return None
        return (v, submitted(r), r.submission,
                record_stem(r.tree or "", r.scoring_hash or ""))
    return key


def _valuer(score: RankingScore, split: str) -> Callable[[Result], float | None]:
    """The function giving a record's signed ranking value on `split` (smallest
    first), or None when it is not ranked."""
    sign = _sign(score)
    name = score.name

    def signed(r: Result) -> float | None:
        if r.status != SCORED or is_annulled(r):  # an organizer annulled it
            return None
        v = value(r, name, split)
        return None if v is None else sign * v
    return signed


def _sign(score: RankingScore) -> float:
    """What a value is multiplied by so that the best is the smallest."""
    return 1.0 if score.lower_is_better else -1.0


def _itself(item):
    return item


def team_best(standings: list[S], team_of: Callable[[S], str | None] | None = None
              ) -> list[S]:
    """Each team's first row of a board, renumbered. `team_of(row)`: its team (by
    default its result's)."""
    seen: set[str | None] = set()
    out: list[S] = []
    for s in standings:
        team = s.result.team if team_of is None else team_of(s)
        if team not in seen:
            seen.add(team)
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
