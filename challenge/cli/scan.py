"""`gitramp scan`: score every submission ref whose current version is not in the ledger
yet, up to --workers at a time: branches submit/<team>/<name>, and fetched pull-request
heads refs/pull/<n>/head whose team an earlier version in the ledger gives.

Exit 0 when every new submission was scored, 1 when any was rejected or failed."""

from __future__ import annotations

import argparse

from challenge.cli.ledger_args import (
    add_repo,
    add_scoring,
    following_work_tree,
    options,
    print_json,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("scan", help="score every submission branch not yet in the ledger",
                       description=__doc__)
    add_repo(p)
    p.add_argument("--workers", type=int, default=1, help="submissions scored at once")
    add_scoring(p)
    return p


@following_work_tree
def run(args: argparse.Namespace) -> int:
    from challenge.scan import scan

    outcomes = scan(args.repo, options(args), workers=args.workers, quiet=args.json)
    if args.json:
        print_json([o.to_dict() for o in outcomes])
    if args.push:
        from challenge.ledger import Ledger

        Ledger(args.repo).push(args.push)
    from scorer.result import SCORED

    return 0 if all(o.status in (SCORED, "skipped") for o in outcomes) else 1
