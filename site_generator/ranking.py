"""Leaderboards as pure functions of ledger entries.

Public rank: the bagged validation value of the first score, in its direction; ties go
to the earlier submission. Private rank: the same on the bagged test value, once it is
revealed (the model layer holds test values only then). Mean ± std come from the folds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from site_generator.model import Entry, ScoreColumn

PUBLIC = "valid"
PRIVATE = "test"


@dataclass(frozen=True)
class Cell:
    """One score of one entry on one split."""

    bagged: float | None
    mean: float | None
    std: float | None


@dataclass
class Row:
    entry: Entry
    rank: int
    value: float
    cells: dict[str, Cell]  # score name -> cell
    public_rank: int | None = None  # on a private board: the rank the public board gave

    @property
    def change(self) -> int | None:
        """Places gained from the public board (positive: moved up)."""
        return None if self.public_rank is None else self.public_rank - self.rank


def value(entry: Entry, name: str, split: str) -> float | None:
    """The bagged value of a score, or the fold mean when no bagged value was recorded."""
    bagged = entry.result.bagged.get(split, {}).get(name)
    if _finite(bagged):
        return float(bagged)
    mean = entry.result.mean(split).get(name) if entry.result.folds else None
    return float(mean) if _finite(mean) else None


def cells(entry: Entry, columns: list[ScoreColumn], split: str) -> dict[str, Cell]:
    stats = fold_stats(entry, split)
    bagged = entry.result.bagged.get(split, {})
    out = {}
    for c in columns:
        b = bagged.get(c.name)
        m, s = stats.get(c.name, (None, None))
        out[c.name] = Cell(float(b) if _finite(b) else None, m, s)
    return out


def fold_stats(entry: Entry, split: str) -> dict[str, tuple[float | None, float | None]]:
    """{score: (mean, std)} over the folds holding `split`, in one pass (big boards)."""
    values: dict[str, list[float]] = {}
    for f in entry.result.folds:
        for name, v in f.scores.get(split, {}).items():
            values.setdefault(name, []).append(v)
    out = {}
    for name, vs in values.items():
        if not all(_finite(v) for v in vs):
            out[name] = (None, None)
            continue
        m = sum(vs) / len(vs)
        s = math.sqrt(sum((v - m) ** 2 for v in vs) / len(vs)) if len(vs) > 1 else 0.0
        out[name] = (m, s)
    return out


def rank(entries: list[Entry], columns: list[ScoreColumn], split: str = PUBLIC) -> list[Row]:
    """Scored entries holding a value of the ranking score, best first."""
    if not columns:
        return []
    first = columns[0]
    sign = 1.0 if first.lower_is_better else -1.0
    scored = [(v, e) for e in entries if e.scored
              and (v := value(e, first.name, split)) is not None]
    scored.sort(key=lambda ve: (sign * ve[0], ve[1].submitted_at, ve[1].name, ve[1].key))
    return [Row(e, i + 1, v, cells(e, columns, split)) for i, (v, e) in enumerate(scored)]


def team_best(rows: list[Row]) -> list[Row]:
    """Each team's first row of a ranked list, renumbered."""
    seen: set[str] = set()
    out = []
    for row in rows:
        if row.entry.team not in seen:
            seen.add(row.entry.team)
            out.append(Row(row.entry, len(out) + 1, row.value, row.cells, row.public_rank))
    return out


def private_board(public: list[Row], columns: list[ScoreColumn]) -> list[Row]:
    """The public rows re-ranked on the test split, each keeping its public rank."""
    by_key = {(r.entry.name, r.entry.key): r.rank for r in public}
    rows = rank([r.entry for r in public], columns, PRIVATE)
    for r in rows:
        r.public_rank = by_key.get((r.entry.name, r.entry.key))
    return rows


def private_team_board(public_best: list[Row], columns: list[ScoreColumn]) -> list[Row]:
    """Each team's public pick (its best public submission), ranked on the private score."""
    return private_board(public_best, columns)


def best_over_time(rows: list[Row], lower_is_better: bool) -> dict[str, list[tuple[str, float]]]:
    """Per team, the running best value at each submission that improved it."""
    out: dict[str, list[tuple[str, float]]] = {}
    for row in sorted(rows, key=lambda r: (r.entry.submitted_at, r.entry.name)):
        series = out.setdefault(row.entry.team, [])
        if not series or _better(row.value, series[-1][1], lower_is_better):
            series.append((row.entry.submitted_at, row.value))
    return out


def overall_best_over_time(rows: list[Row], lower_is_better: bool) -> list[tuple[str, float]]:
    series: list[tuple[str, float]] = []
    for row in sorted(rows, key=lambda r: (r.entry.submitted_at, r.entry.name)):
        if not series or _better(row.value, series[-1][1], lower_is_better):
            series.append((row.entry.submitted_at, row.value))
    return series


def _better(a: float, b: float, lower_is_better: bool) -> bool:
    return a < b if lower_is_better else a > b


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
