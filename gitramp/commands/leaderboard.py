"""`gitramp leaderboard`: the current leaderboard of each challenge, from the ledger.

Ranked by the bagged validation score of the kit's first score; test scores appear
only once `gitramp reveal` has published them."""

from __future__ import annotations

import argparse
import math
import sys

from gitramp.options import add_challenges, add_json, add_repo, print_json
from scorer.result import SCORED, Result


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("leaderboard", help="print the current leaderboard",
                       description=__doc__)
    add_repo(p)
    add_challenges(p)
    p.add_argument("--best", action="store_true", help="only each team's best submission")
    add_json(p)
    return p


def board(records: list[Result], private: dict[tuple[str, str], dict] | None = None,
          best: bool = False) -> list[dict]:
    """Rows, best first: scored submissions by bagged valid score, then the others."""
    rows = []
    for r in records:
        name = r.ranking_score
        file = f"{(r.tree or '')[:16]}-{(r.scoring_hash or '')[:8]}.yml"
        p = (private or {}).get((r.submission, file))
        test = (p or {}).get("bagged", {}).get("test", {}).get(name) if p else None
        rows.append({
            "team": r.team, "submission": r.submission, "status": r.status,
            "score": name, "valid": r.bagged.get("valid", {}).get(name),
            "valid_mean": r.mean("valid").get(name) if r.folds else None,
            "valid_std": r.std("valid").get(name) if r.folds else None, "test": test,
            "lower_is_better": r.lower_is_better.get(name, False),
            "precision": r.precision.get(name, 3), "parent": (r.lineage or {}).get("parent"),
            "parent_team": (r.lineage or {}).get("parent_team"),
            "inherited": (r.lineage or {}).get("inherited_share"),
            "submitted_at": r.submitted_at, "reason": r.reason})

    def order(row):
        v = row["valid"]
        if row["status"] != SCORED or v is None or math.isnan(v):
            return (1, 0.0, row["submitted_at"] or "")
        return (0, v if row["lower_is_better"] else -v, row["submitted_at"] or "")

    rows.sort(key=order)
    if best:
        seen, kept = set(), []
        for row in rows:
            if row["status"] == SCORED and row["team"] not in seen:
                seen.add(row["team"])
                kept.append(row)
        rows = kept
    rank = 0
    for row in rows:
        row["rank"] = (rank := rank + 1) if row["status"] == SCORED else None
    return rows


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from challenge.ledger import Ledger
    from challenge.publish import revealed_private
    from gitramp.commands.phase import kits_of

    ledger = Ledger(args.repo)
    _, kits = kits_of(ledger, args.challenge)
    # a pipe or a log gets a table as wide as a terminal's, not rich's 80 columns
    out, console = {}, Console(width=None if sys.stdout.isatty() else 120)
    for loc in kits:
        state = ledger.state(loc.name)
        private = revealed_private(ledger, loc.name) if state.revealed else None
        rows = board(ledger.records(loc.name), private, args.best)
        out[loc.name] = rows
        if args.json:
            continue
        table = Table(title=f"{loc.name} — {'revealed' if state.revealed else 'public'} "
                            f"leaderboard", title_justify="left")
        for col in ("#", "team", "submission", "bagged valid", "mean ± std (valid)",
                    *(["bagged test"] if state.revealed else []), "status", "parent"):
            table.add_column(col, justify="right" if col in ("#",) else "left")
        for row in rows:
            prec = row["precision"]
            mean = "" if row["valid_mean"] is None else \
                f"{row['valid_mean']:.{prec}f} ± {row['valid_std']:.{prec}f}"
            parent = (row["parent"] or "").split("@")[0]
            if parent:
                parent += f" ({row['parent_team']}, {row['inherited'] or 0:.0%} kept)"
            status = row["status"] if row["status"] == SCORED else \
                f"[red]{row['status']}[/red]"
            table.add_row(str(row["rank"] or ""), row["team"] or "", row["submission"],
                          _fmt(row["valid"], prec), mean,
                          *([_fmt(row["test"], prec)] if state.revealed else []), status, parent)
        console.print(table)
        if not rows:
            console.print(f"{loc.name}: no submission scored yet")
    if args.json:
        print_json(out)
    return 0


def _fmt(v: float | None, precision: int) -> str:
    return "" if v is None else f"{v:.{precision}f}"
