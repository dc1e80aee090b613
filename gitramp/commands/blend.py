"""`gitramp blend`: blend every scored submission of a challenge from the stored fold
predictions (greedy forward selection with replacement), and record each submission's
contributivity and historical contributivity (credit passed along lineage) in the
ledger. Also run after each `scan` and `score`.

The fold predictions are predictions on hidden rows: the runners keep them in the
private ledger only, so blending runs where it is (--private-ledger)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from challenge.credit import blend_challenges
from challenge.errors import GitrampError
from gitramp.options import add_json, add_repo, print_json


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("blend", help="blend submissions; record contributivity",
                       description=__doc__)
    add_repo(p)
    p.add_argument("--kit", "--challenge", dest="kits", action="append", default=None,
                   metavar="NAME", help="only this challenge (repeatable; default: every kit)")
    p.add_argument("--private-ledger", type=Path, default=None,
                   help="the private ledger repository, where the runners keep the fold "
                        "predictions and labels (hidden data): blending needs it. The "
                        "blended test score is kept there, never printed publicly unless "
                        "you print it")
    p.add_argument("--max-members", type=int, default=80,
                   help="cap on the ensemble size per fold (default: 80, as RAMP)")
    p.add_argument("--min-improvement", type=float, default=0.0,
                   help="stop adding members when the ranking score improves by no more "
                        "than this (default: 0)")
    p.add_argument("--dry-run", action="store_true",
                   help="compute and print, write nothing to the ledger")
    add_json(p)
    return p


def run(args: argparse.Namespace) -> int:
    if args.max_members < 1:
        raise GitrampError(f"--max-members must be at least 1, got {args.max_members}")
    if args.private_ledger is not None and not Path(args.private_ledger).exists():
        raise GitrampError(f"{args.private_ledger}: no private ledger here; pass the folder "
                           "the runners were given with --private-ledger")
    credits = blend_challenges(args.repo, args.kits, private_repo=args.private_ledger,
                               write=not args.dry_run, max_members=args.max_members,
                               min_improvement=args.min_improvement)
    if args.private_ledger is None:
        print("note: without --private-ledger nothing is blended and nothing is written: "
              "the fold predictions are kept in the private ledger on the runners",
              file=sys.stderr)
    if args.json:
        print_json([{**c.summary(), "blended_test": c.blended_test,
                     "best_single_test": c.best_single_test, "skipped": c.skipped,
                     "written": c.written} for c in credits])
        return 0
    for c in credits:
        _print(c, dry_run=args.dry_run)
    return 0


def _print(c, *, dry_run: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    fmt = f"{{:.{c.precision}f}}"
    if c.blended_valid is None:
        console.print(f"[bold]{c.challenge}[/]: nothing to blend (no scored submission with "
                      f"stored fold predictions under the current kit)")
    else:
        line = (f"[bold]{c.challenge}[/]: blended {c.score} (valid, bagged over {c.n_folds} "
                f"folds) {fmt.format(c.blended_valid)}, best single "
                f"{fmt.format(c.best_single_valid)}")
        if c.blended_test is not None:
            line += (f"; test {fmt.format(c.blended_test)}, best single "
                     f"{fmt.format(c.best_single_test)} (private)")
        console.print(line)
        table = Table(box=None, pad_edge=False)
        for col, justify in (("submission", "left"), ("team", "left"), ("version", "left"),
                             ("contributivity %", "right"), ("historical %", "right")):
            table.add_column(col, justify=justify)
        for r in c.rows:
            table.add_row(r.submission, r.team or "-", r.version.split("@")[1],
                          f"{r.blend:.1f}", f"{r.historical:.1f}")
        console.print(table)
    for version, why in sorted(c.skipped.items()):
        console.print(f"  not blended: {version}: {why}")
    if not dry_run and c.written:
        console.print(f"  recorded in {len(c.written)} ledger record(s)")
