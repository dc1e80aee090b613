"""`gitramp leaderboard`: the current leaderboard of each challenge, from the ledger.

Ranked by the leaderboard rule the site and the PR comment use (`challenge.ranking`):
the bagged validation score of the kit's first score, ties to the earlier submission;
test scores appear only once `gitramp reveal` has published them. A record an organizer
annulled (`gitramp moderate annul`) is on no board: it is listed below the ranked ones
as `annulled`, with who annulled it, when and why."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from challenge import ranking
from challenge import repo as gitrepo
from challenge.ledger import Ledger, parse_record, record_stem
from challenge.moderation import is_annulled
from challenge.ranking import RankingScore
from gitramp.options import add_challenges, add_json, add_repo, kits_of, print_json
from scorer.result import SCORED, Result

ANNULLED = "annulled"  # a row's status: the record stays in the ledger, on no board


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("leaderboard", help="print the current leaderboard",
                       description=__doc__)
    add_repo(p)
    add_challenges(p)
    p.add_argument("--best", action="store_true", help="only each team's best submission")
    add_json(p)
    return p


def board(records: list[Result], score: RankingScore | None,
          private: Callable[[Result], dict | None] | None = None,
          best: bool = False) -> list[dict]:
    """Rows, best first by the leaderboard rule (`challenge.ranking`, the site's), then
    the submissions not ranked (failed, or without a value), oldest first. `private`
    gives a record's revealed private record, if any."""
    ranked = ranking.board(records, score)
    if best:
        ranked = ranking.team_best(ranked)
    rows = [_row(s.result, score, private, s.rank) for s in ranked]
    if not best:
        on_board = {id(s.result) for s in ranked}
        rest = sorted((r for r in records if id(r) not in on_board), key=ranking.submitted)
        rows += [_row(r, score, private, None) for r in rest]
    return rows


def _row(r: Result, score: RankingScore | None,
         private: Callable[[Result], dict | None] | None, rank: int | None) -> dict:
    name = score.name if score else r.ranking_score
    p = private(r) if private else None
    test = (p or {}).get("bagged", {}).get("test", {}).get(name) if p else None
    lineage = r.lineage or {}
    act = r.act if is_annulled(r) else None
    return {
        "team": r.team, "submission": r.submission,
        "status": ANNULLED if act is not None else r.status,
        "score": name, "valid": r.bagged.get("valid", {}).get(name),
        "valid_mean": r.mean("valid").get(name) if r.folds else None,
        "valid_std": r.std("valid").get(name) if r.folds else None, "test": test,
        "lower_is_better": score.lower_is_better if score else
        r.lower_is_better.get(name or "", False),
        "precision": r.precision.get(name or "", 3), "parent": lineage.get("parent"),
        "parent_team": lineage.get("parent_team"),
        "inherited": lineage.get("inherited_share"),
        "submitted_at": r.submitted_at, "rank": rank,
        "reason": _annulment(act) if act is not None else r.reason,
        **({"annulled": {k: act.get(k) for k in ("by", "at", "reason")}}
           if act is not None else {})}


def _annulment(act: dict) -> str:
    return f"annulled by {act.get('by') or 'an organizer'} at {act.get('at') or '?'}: " \
           f"{act.get('reason') or 'no reason recorded'}"


def run(args: argparse.Namespace) -> int:
    ledger = Ledger(args.repo)
    head, kits = kits_of(ledger, args.challenge)
    # a pipe or a log gets a table as wide as a terminal's, not rich's 80 columns
    out, console = {}, Console(width=None if sys.stdout.isatty() else 120)
    for loc in kits:
        state = ledger.state(loc.name)
        score = RankingScore.of_kit(gitrepo.load_kit_at(ledger.repo, head, loc))
        private = _revealed(ledger, loc.name) if state.revealed else None
        rows = board(ledger.records(loc.name), score, private, args.best)
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
                parent += f" ({row['parent_team']}, {row['inherited'] or 0:.0%} inherited)"
            status = row["status"] if row["status"] == SCORED else \
                f"[red]{row['status']}[/red]"
            table.add_row(str(row["rank"] or ""), row["team"] or "", row["submission"],
                          _fmt(row["valid"], prec), mean,
                          *([_fmt(row["test"], prec)] if state.revealed else []), status, parent)
        console.print(table)
        for row in rows:  # why a submission failed (or was annulled), for its team
            if row["status"] != SCORED and row["reason"]:
                who = f"{row['team'] or '?'}/{row['submission']}"
                line = f"{who}: {row['reason']}" if row["status"] == ANNULLED else \
                    f"{row['status']}: {who}: {row['reason']}"
                console.print(line, markup=False, highlight=False)
        if not rows:
            console.print(f"{loc.name}: no submission scored yet")
    if args.json:
        print_json(out)
    return 0


def _revealed(ledger: Ledger, challenge: str) -> Callable[[Result], dict | None]:
    """A record's private record, as `gitramp reveal` published it beside the public one."""
    def private(r: Result) -> dict | None:
        if not (r.tree and r.scoring_hash):
            return None
        file = ledger.private_file(challenge, r.submission, record_stem(r.tree, r.scoring_hash))
        return parse_record(file.fetch(), file.where) if file is not None else None
    return private


def _fmt(v: float | None, precision: int) -> str:
    return "" if v is None else f"{v:.{precision}f}"
