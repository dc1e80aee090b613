"""`gitramp reveal`: publish the private (test) scores: copy the private ledger's
records into `leaderboard_data/<challenge>/private/` and set `revealed: true`."""

from __future__ import annotations

import argparse
from pathlib import Path

from challenge.errors import GitrampError
from challenge.ledger import Ledger
from challenge.phases import utcnow
from challenge.publish import reveal
from gitramp.commands.phase import kits_of
from gitramp.options import (
    add_challenges,
    add_json,
    add_now,
    add_push,
    add_repo,
    following_work_tree,
    print_json,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("reveal", help="publish the private scores", description=__doc__)
    add_repo(p)
    p.add_argument("--private-ledger", type=Path, required=True,
                   help="the private ledger repository the runners wrote")
    add_challenges(p)
    add_push(p)
    add_now(p)
    add_json(p)
    return p


@following_work_tree
def run(args: argparse.Namespace) -> int:
    if not Path(args.private_ledger).exists():
        raise GitrampError(f"{args.private_ledger}: no private ledger here; pass the folder "
                           "the runners were given with --private-ledger")
    ledger, private = Ledger(args.repo), Ledger(args.private_ledger)
    _, kits = kits_of(ledger, args.challenge)
    rows = []
    for loc in kits:
        commit, count = reveal(ledger, private, loc.name, args.now or utcnow())
        rows.append({"challenge": loc.name, "commit": commit, "published": count})
        if not args.json:
            print(f"{loc.name}: private scores revealed ({count} new record(s))")
    if args.push:
        ledger.push(args.push)
    if args.json:
        print_json(rows)
    return 0
