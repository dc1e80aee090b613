"""`gitramp reveal`: publish the private (test) scores: copy the private ledger's
records into `leaderboard_data/<challenge>/private/` and set `revealed: true`.

With --verify-top N, the first N of each private board are re-run first (as `gitramp
verify` does, each verification written to the ledger) and those that did not reproduce
are named; the scores are published either way. In a kit with `final_selection`, that
board is the one reveal publishes: the teams' chosen submissions only."""

from __future__ import annotations

import argparse
from pathlib import Path

from challenge import repo as gitrepo
from challenge import selection
from challenge.errors import GitrampError
from challenge.kit import Kit
from challenge.ledger import Ledger
from challenge.phases import utcnow
from challenge.publish import reveal
from challenge.verify import REPRODUCED, record_verification, top_records, verify
from gitramp.commands.verify import add_verify_options, verify_options
from gitramp.options import (
    add_challenges,
    add_json,
    add_now,
    add_push,
    add_repo,
    following_work_tree,
    kits_of,
    print_json,
    read_private_ledger,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("reveal", help="publish the private scores", description=__doc__)
    add_repo(p)
    p.add_argument("--private-ledger", default=None, metavar="PATH_OR_URL",
                   help="the private ledger the runners wrote: its folder, or its remote's "
                   "URL (default: private_ledger of gitramp.toml or of the runner file)")
    add_challenges(p)
    add_push(p)
    add_now(p)
    add_json(p)
    p.add_argument("--verify-top", type=int, metavar="N", default=0,
                   help="first re-run the top N of each private board and name those that "
                        "do not reproduce")
    add_verify_options(p, private=False)
    return p


@following_work_tree
def run(args: argparse.Namespace) -> int:
    if args.private_ledger is None:
        raise GitrampError("no private ledger to reveal: pass --private-ledger, or name it "
                           "in the hub's gitramp.toml (private_ledger = ...)")
    private = read_private_ledger(args.private_ledger)
    ledger = Ledger(args.repo)
    head, kits = kits_of(ledger, args.challenge)
    rows = []
    for loc in kits:
        kit = gitrepo.load_kit_at(ledger.repo, head, loc)
        checked = _verify_top(args, ledger, private, kit) if args.verify_top else None
        if kit.final_selection is not None:  # the teams' choices only
            commit, count, _ = selection.reveal(ledger, private, kit, args.now or utcnow())
        else:
            commit, count = reveal(ledger, private, loc.name, args.now or utcnow())
        rows.append({"challenge": loc.name, "commit": commit, "published": count,
                     **({"verified": checked} if checked is not None else {})})
        if not args.json:
            print(f"{loc.name}: private scores revealed ({count} new record(s))")
    if args.push:
        ledger.push(args.push)
    if args.json:
        print_json(rows)
    return 0


def _verify_top(args: argparse.Namespace, ledger: Ledger, private: Ledger,
                kit: Kit) -> list[dict]:
    """Verify the top of the private board (of the teams' final selection, when the kit
    has one: the board reveal publishes); say which did not reproduce."""
    challenge = kit.name
    options = verify_options(args)
    options.private_ledger = Path(private.path)  # a remote: the copy just fetched
    if kit.final_selection is None:
        top = top_records(ledger, challenge, args.verify_top, private)
    else:
        head = ledger.head()
        chosen = {(c.name, c.stem) for c in selection.choose(
            kit, ledger.records(challenge), ledger.repo, head.tree if head else None)}
        board = top_records(ledger, challenge, len(ledger.entries(challenge)), private)
        top = [r for r in board if (r.submission, selection.stem_of(r)) in chosen]
        top = top[:args.verify_top]
    rows = []
    for record in top:
        v = verify(args.repo, record, options)
        record_verification(args.repo, v)
        rows.append({"submission": v.submission, "team": v.team, "verdict": v.verdict,
                     "summary": v.summary()})
    bad = [r for r in rows if r["verdict"] != REPRODUCED]
    if not args.json:
        print(f"{challenge}: {len(rows) - len(bad)} of the top {len(rows)} reproduced"
              + ("" if not bad else "; did not reproduce:"))
        for r in bad:
            print(f"  {r['summary']}")
    return rows
