"""The site's boards: `challenge.ranking`'s rule (the one the PR comment and
`gitramp leaderboard` use) applied to ledger entries, each row carrying the cells the
pages print. Private rank: the same rule on the bagged test value, once it is revealed
(the model layer holds test values only then). Mean ± std come from the folds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from operator import attrgetter

from challenge import ranking
from challenge.ranking import PRIVATE, PUBLIC, RankingScore, Standing, finite
from site_generator.model import Entry, ScoreColumn

__all__ = ["PRIVATE", "PUBLIC", "Cell", "Row", "best_over_time", "by_time", "cells", "fold_stats",
           "overall_best_over_time", "private_board", "private_team_board", "rank",
           "team_best"]


@dataclass(frozen=True)
class Cell:
    """One score of one entry on one split."""

    bagged: float | None
    mean: float | None
    std: float | None


@dataclass
class Row(Standing[Entry]):
    """A ranked entry with the cells its board shows. Its `result` is None: a row reads
    its entry (a rebuild made from the last build's note loads an entry's summary
    only when it is read)."""

    columns: list[ScoreColumn] = field(default_factory=list)
    split: str = PUBLIC
    public_rank: int | None = None  # on a private board: the rank the public board gave
    # the item, by the name the site uses: an attribute, not a property (a big site
    # reads it hundreds of thousands of times a build)
    entry: Entry = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.entry = self.item

    @property
    def cells(self) -> dict[str, Cell]:
        """Score name -> cell, made when first read (a rebuild reads few rows' cells)."""
        return cells(self.item, self.columns, self.split)

    @property
    def change(self) -> int | None:
        """Places gained from the public board (positive: moved up)."""
        return None if self.public_rank is None else self.public_rank - self.rank


def cells(entry: Entry, columns: list[ScoreColumn], split: str) -> dict[str, Cell]:
    """The cells of `entry` on `split`, made once per entry, columns and split (a big
    board ranks each entry on several boards: public, private, each team's best)."""
    memo = entry.__dict__.setdefault("_cells", {})
    key = (split, id(columns))
    hit = memo.get(key)
    if hit is not None and hit[0] is columns:
        return hit[1]
    stats = fold_stats(entry, split)
    bagged = entry.result.bagged.get(split, {})
    out = {}
    for c in columns:
        b = bagged.get(c.name)
        m, s = stats.get(c.name, (None, None))
        out[c.name] = Cell(float(b) if finite(b) else None, m, s)
    memo[key] = (columns, out)
    return out


def fold_stats(entry: Entry, split: str) -> dict[str, tuple[float | None, float | None]]:
    """{score: (mean, std)} over the folds holding `split`, in one pass (big boards)."""
    values: dict[str, list[float]] = {}
    for f in entry.result.folds:
        scores = f.scores.get(split)
        if scores:
            for name, v in scores.items():
                values.setdefault(name, []).append(v)
    out = {}
    isfinite = math.isfinite
    for name, vs in values.items():
        if not all(type(v) is float and isfinite(v) or finite(v) for v in vs):
            out[name] = (None, None)
            continue
        n = len(vs)
        m = sum(vs) / n
        s = math.sqrt(sum((v - m) ** 2 for v in vs) / n) if n > 1 else 0.0
        out[name] = (m, s)
    return out


def rank(entries: list[Entry], columns: list[ScoreColumn], split: str = PUBLIC,
         placed: list[tuple[Entry, float]] | None = None,
         new: list[Entry] | None = None) -> list[Row]:
    """Scored entries holding a value of the ranking score, best first. `placed`: the
    last build's board of this rule, (entry, value) in its order, when `entries` are
    its entries and `new`: only `new` is ranked then (`ranking.extend_board`)."""
    if not columns:
        return []
    score = RankingScore(columns[0].name, columns[0].lower_is_better)

    def make(e: Entry, r, i: int, v: float) -> Row:
        return Row(e, None, i, v, columns, split)  # (a row reads its entry)
    return _board(entries, score, split, _summary, _entry_tail, make, placed, new)


# what ranking reads of an entry: its summary (no full record needed)
_summary = attrgetter("summary")
_row_summary = attrgetter("entry.summary")


def team_best(rows: list[Row]) -> list[Row]:
    """Each team's first row of a ranked list, renumbered."""
    return ranking.team_best(rows, _row_team)


_row_team = attrgetter("entry.team")


def private_board(public: list[Row], columns: list[ScoreColumn],
                  placed: list[tuple[Entry, float]] | None = None,
                  new: list[Entry] | None = None) -> list[Row]:
    """The public rows re-ranked on the test split, each keeping its public rank.
    `placed` and `new`: as `rank`'s (entries, each ranked here through its public row)."""
    if not columns:
        return []
    score = RankingScore(columns[0].name, columns[0].lower_is_better)

    def make(p: Row, r, i: int, v: float) -> Row:
        return Row(p.entry, None, i, v, columns, PRIVATE, p.rank)
    placed_rows = new_rows = None
    if placed is not None:
        row_of = {id(r.entry): r for r in public}
        fresh = set(map(id, new or []))
        new_rows = [r for r in public if id(r.entry) in fresh]
        try:
            placed_rows = [(row_of[id(e)], v) for e, v in placed]
        except KeyError:  # an entry no longer on the public board: rank them all
            placed_rows = None
    return _board(public, score, PRIVATE, _row_summary, _row_tail, make, placed_rows,
                  new_rows)


def _board(items: list, score: RankingScore, split: str, result_of, tail_of, make,
           placed: list[tuple] | None, new: list | None) -> list[Row]:
    """`ranking.board` of `items`; from the last build's order (`placed`) and only the
    `new` items when that gives it (`ranking.extend_board`, placed items' keys by
    `tail_of`)."""
    if placed is not None:
        rows = ranking.extend_board(placed, new or [], score, split, result_of, make,
                                    tail_of)
        if rows is not None:
            return rows
    return ranking.board(items, score, split, result_of=result_of, make=make)


def _entry_tail(e: Entry) -> tuple:
    """An entry's ranking key after its value, from what the entry holds (a placed
    entry is one of the last build's unchanged records: it is still ranked)."""
    return (e.submitted_at, *(e.ranked_as or (e.name, e.stem)))


def _row_tail(r: Row) -> tuple:
    return _entry_tail(r.entry)


def private_team_board(public_best: list[Row], columns: list[ScoreColumn],
                       private: list[Row] | None = None) -> list[Row]:
    """Each team's public pick (its best public submission), ranked on the private score.
    `private`: the private board of every public row, when made. It orders the picks
    as ranking them alone would (the same rule on a subset of its rows, whose ties
    keep the public order either way), so its rows of the picks are the board, and no
    pick's summary is read again."""
    if private is None:
        return private_board(public_best, columns)
    pick = {id(r.entry): r.rank for r in public_best}
    out: list[Row] = []
    for r in private:
        rank = pick.get(id(r.entry))
        if rank is not None:
            out.append(Row(r.entry, None, len(out) + 1, r.value, r.columns, PRIVATE, rank))
    return out


def by_time(rows: list[Row], entries: list | None = None) -> list[Row]:
    """Rows in the order they were submitted (ties by name, then version): what the
    plots follow. `entries`: the challenge's, in the ledger's order (the same), which
    the rows are then picked in rather than sorted (a rebuild's board is ten thousand
    rows)."""
    if entries is None:
        return sorted(rows, key=attrgetter("entry.submitted_at", "entry.name", "entry.stem"))
    row_of = {id(r.entry): r for r in rows}
    return [r for r in map(row_of.get, map(id, entries)) if r is not None]


def best_over_time(rows: list[Row], lower_is_better: bool, *, timed: bool = False
                   ) -> dict[str, list[tuple[str, float]]]:
    """Per team, the running best value at each submission that improved it. `timed`:
    the rows are `by_time` already."""
    out: dict[str, list[tuple[str, float]]] = {}
    for row in rows if timed else by_time(rows):
        series = out.setdefault(row.entry.team, [])
        if not series or _better(row.value, series[-1][1], lower_is_better):
            series.append((row.entry.submitted_at, row.value))
    return out


def overall_best_over_time(rows: list[Row], lower_is_better: bool, *, timed: bool = False
                           ) -> list[tuple[str, float]]:
    series: list[tuple[str, float]] = []
    for row in rows if timed else by_time(rows):
        if not series or _better(row.value, series[-1][1], lower_is_better):
            series.append((row.entry.submitted_at, row.value))
    return series


def _better(a: float, b: float, lower_is_better: bool) -> bool:
    return a < b if lower_is_better else a > b
