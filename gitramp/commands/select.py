"""`gitramp select`: a team's final selection for the private leaderboard, in a kit
that sets `final_selection: K` (challenge.selection).

    gitramp select <challenge>/<name>[@<tree>] ... [--team TEAM]

The submissions named (at most K, all of one team, scored before the closed phase
ends) replace the team's earlier choice. A team may instead put the trailer
`Final-selection: yes` in a submission's commit message; without either, its K best
public scores count."""

from __future__ import annotations

import argparse

from challenge import repo as gitrepo
from challenge import selection
from challenge.errors import GitrampError
from challenge.ledger import Ledger
from challenge.phases import utcnow
from gitramp.options import (
    actor,
    add_json,
    add_now,
    add_push,
    add_repo,
    following_work_tree,
    kits_of,
    print_json,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("select", help="choose submissions for the private leaderboard",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="+", metavar="CHALLENGE/NAME[@TREE]")
    p.add_argument("--team", default=None, help="the team choosing (checked against the "
                   "submissions' records)")
    p.add_argument("--by", default=None, help="who records the choice (default: "
                   "GITHUB_ACTOR, else git's user.name)")
    add_repo(p)
    add_push(p)
    add_now(p)
    add_json(p)
    return p


@following_work_tree
def run(args: argparse.Namespace) -> int:
    ledger = Ledger(args.repo)
    challenges = {t.partition("/")[0] for t in args.targets}
    if len(challenges) != 1 or any("/" not in t for t in args.targets):
        raise GitrampError("name submissions of one challenge as <challenge>/<name>")
    head, (loc,) = kits_of(ledger, sorted(challenges))
    kit = gitrepo.load_kit_at(ledger.repo, head, loc)
    chosen = selection.select(ledger, kit, args.team,
                              [t.partition("/")[2] for t in args.targets],
                              by=args.by or actor(ledger.repo), now=args.now or utcnow())
    if args.push:
        ledger.push(args.push)
    if args.json:
        print_json([c.to_dict() for c in chosen])
    else:
        print(f"{kit.name}: team {chosen[0].team} chose "
              + ", ".join(f"{c.name} ({c.stem})" for c in chosen))
    return 0
