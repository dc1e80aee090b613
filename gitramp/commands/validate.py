"""`gitramp validate`: check a change against every submission rule, before any code runs.

Exit 0 when valid, 1 with one reason per broken rule."""

from __future__ import annotations

import argparse
import sys

from challenge import repo as gitrepo
from challenge import submission as subs
from challenge.claims import read_all
from challenge.ledger import Ledger
from challenge.phases import utcnow
from challenge.validate import validate_refs
from gitramp.options import add_json, add_now, add_repo, print_json


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("validate", help="check a submission change before scoring it",
                       description=__doc__)
    add_repo(p)
    p.add_argument("--base", default=None,
                   help="the commit the change is compared to (default: merge base with the "
                        "default branch)")
    p.add_argument("--head", required=True, help="the submission's commit or ref")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--team", help="the submitting team")
    who.add_argument("--author", help="the forge login of the author (mapped by teams.yml)")
    p.add_argument("--pr", type=int, default=None, help="the pull request number")
    add_now(p)
    add_json(p)
    return p


def run(args: argparse.Namespace) -> int:
    repo = gitrepo.open_repo(args.repo)
    team = args.team
    parsed = subs.parse_branch(args.head) or subs.parse_branch(f"refs/heads/{args.head}")
    if team is None and args.author is None and parsed:
        team = parsed[0]
    ledger = Ledger(args.repo)
    records = ledger.records()
    for where, why in ledger.skipped.items():  # left out, never fatal: see Ledger.records
        print(f"warning: ledger record skipped: {where}: {why}", file=sys.stderr)
    head = ledger.head()
    v = validate_refs(repo, base=args.base, head=args.head, team=team, author=args.author,
                      pr=args.pr, records=records, now=args.now or utcnow(),
                      claims=read_all(ledger.repo, head.tree if head else None))
    if args.json:
        print_json(v.to_dict())
    elif v.ok:
        s = v.submission
        print(f"valid: {s.challenge}/{s.name} by {s.team} ({v.phase} phase)")
    else:
        print("rejected:")
        for r in v.reasons:
            print(f"  - {r}")
    return 0 if v.ok else 1
