"""`gitramp scan`: score every submission ref whose current version is not in the ledger
yet, up to --workers at a time: branches submit/<team>/<name>, and fetched pull-request
heads refs/pull/<n>/head whose team an earlier version in the ledger gives.

Exit 0 when every new submission was scored, 1 when any was rejected or failed."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from challenge.ledger import Ledger
from challenge.scan import ScanEvents, scan
from gitramp.commands.score import describe
from gitramp.options import (
    add_repo,
    add_scoring,
    following_work_tree,
    options,
    print_json,
)
from scorer.result import SCORED
from scorer.untrusted import LINE_CHARS, clean_text


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("scan", help="score every submission branch not yet in the ledger",
                       description=__doc__)
    add_repo(p)
    p.add_argument("--workers", type=int, default=None,
                   help="submissions scored at once (default: the runner file's, else 1)")
    add_scoring(p)
    return p


@following_work_tree
def run(args: argparse.Namespace) -> int:
    opts = options(args)
    opts.remote = args.push  # claims are taken where the ledger is pushed
    outcomes = scan(args.repo, opts, workers=args.workers or 1,
                    events=None if args.json else _console_events())
    if not args.json and not any(o.status != "skipped" for o in outcomes):
        print("nothing new to score", file=sys.stderr)
    if args.json:
        print_json([o.to_dict() for o in outcomes])
    ledger = Ledger(args.repo)
    ledger.records()
    for where, why in ledger.skipped.items():  # left out, never fatal: see Ledger.records
        print("warning: ledger record skipped: " + clean_text(f"{where}: {why}", LINE_CHARS),
              file=sys.stderr)
    if args.push:
        ledger.push(args.push)
    return 0 if all(o.status in (SCORED, "skipped") for o in outcomes) else 1


def _console_events() -> ScanEvents:
    """Skips and rejections as lines, scoring as a progress bar, on stderr."""
    console = Console(stderr=True)
    bar = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                   MofNCompleteColumn(), console=console)
    task = None

    def scoring(n: int) -> None:
        nonlocal task
        bar.start()
        task = bar.add_task(f"scoring {n} submission(s)", total=n)

    def scored(out) -> None:
        bar.console.print(describe(out))
        bar.advance(task)
        if bar.finished:
            bar.stop()

    def noted(out) -> None:
        skipped = out.status == "skipped"
        console.print("[yellow]skipped[/] " + escape(clean_text(out.message, LINE_CHARS))
                      if skipped else describe(out), markup=skipped, highlight=False)

    return ScanEvents(noted=noted, scoring=scoring, scored=scored,
                      blended=lambda line: console.print(line, markup=False))
