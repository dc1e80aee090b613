"""`gitramp phase`: show where each challenge is in time and what is visible, or
`gitramp phase open`: start the open phase (merge the scored submissions into the
default branch and make their code visible). Only this command changes visibility."""

from __future__ import annotations

import argparse

from challenge import repo as gitrepo
from challenge.errors import GitrampError
from challenge.ledger import Ledger
from challenge.phases import iso, phase_at, utcnow
from challenge.publish import open_code
from gitramp.options import (
    add_challenges,
    add_json,
    add_now,
    add_push,
    add_repo,
    following_work_tree,
    kits_of,
    print_json,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("phase", help="show phases, or open the open phase",
                       description=__doc__)
    p.add_argument("action", nargs="?", default="show", choices=("show", "open"))
    add_repo(p)
    add_challenges(p)
    add_push(p)
    add_now(p)
    add_json(p)
    p.add_argument("--force", action="store_true",
                   help="open before the open phase's start date in challenge.yml")
    return p


@following_work_tree
def run(args: argparse.Namespace) -> int:
    ledger = Ledger(args.repo)
    now = args.now or utcnow()
    head, kits = kits_of(ledger, args.challenge)
    loaded = {loc.name: gitrepo.load_kit_at(ledger.repo, head, loc) for loc in kits}
    early = {}
    if args.action == "open":
        early = {name: p.start for name, kit in loaded.items()
                 for p in kit.phases if p.name == "open" and now < p.start}
        if early and not args.force:
            # checked for every kit first: none is opened when one of them is refused
            raise GitrampError("; ".join(f"{name}: the open phase starts {iso(start)}"
                                         for name, start in early.items())
                               + f" (now {iso(now)}); opening makes the submissions' code "
                               "public before then. Wait, or pass --force to open it now")
    rows = []
    for loc in kits:
        row = {"challenge": loc.name}
        if args.action == "open":
            commit, merged = open_code(ledger, loc, now)
            row.update(commit=commit, merged=merged)
            if not args.json:
                print(f"{loc.name}: code visible; merged {len(merged)} submission(s)"
                      + (f": {', '.join(merged)}" if merged else "")
                      + ("" if commit else " (nothing new)"))
                if loc.name in early:
                    print(f"{loc.name}: opened early (--force); the open phase starts "
                          f"{iso(early[loc.name])}")
            if loc.name in early:
                row["early"] = iso(early[loc.name])
        kit = loaded[loc.name]
        current, state = phase_at(kit, now), ledger.state(loc.name)
        row.update(phase=current.state, describe=current.describe(), **state.to_dict())
        rows.append(row)
    if args.push:
        ledger.push(args.push)
    if args.json:
        print_json(rows)
    elif args.action == "show":
        for r in rows:
            print(f"{r['challenge']}: {r['describe']}; code "
                  f"{'visible' if r['code_visible'] else 'hidden'}; private scores "
                  f"{'revealed' if r['revealed'] else 'not revealed'}")
    return 0
