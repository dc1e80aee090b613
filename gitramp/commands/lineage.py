"""`gitramp lineage recompute`: the lineage of every scored record by the current rule.

A record's lineage (its parent and inherited share, docs/contributivity.md) is computed
when it is scored, by the rule of that day, and is not changed by a later gitramp.
This command recomputes it for every scored record of the kits and prints what moved:
parents gained, lost or changed, inherited shares, and the historical contributivity
that follows (from the blend shares recorded in blend.yml). Nothing is written unless
--apply is given; then one ledger commit per kit holds the new lineage and credit."""

from __future__ import annotations

import argparse
import sys

from challenge.credit import recompute_lineage
from challenge.sealing import identity_from_env
from gitramp.options import (
    add_challenges,
    add_json,
    add_repo,
    following_work_tree,
    print_json,
    read_private_ledger,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("lineage", help="recompute lineage by the current rule",
                       description=__doc__)
    verbs = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    r = verbs.add_parser("recompute", help="recompute every record's lineage; show what "
                         "moved (dry run unless --apply)", description=__doc__)
    add_repo(r)
    add_challenges(r)
    r.add_argument("--private-ledger", default=None, metavar="PATH_OR_URL",
                   help="the runners' private ledger: near copies flagged there get no "
                        "lineage from what they copied, as when they were scored (default: "
                        "private_ledger of gitramp.toml or of the runner file)")
    r.add_argument("--apply", action="store_true",
                   help="commit the new lineage and historical contributivity to the ledger")
    add_json(r)
    return p


def _label(lin: dict) -> str:
    parent = lin.get("parent")
    if not parent:
        return "no parent"
    share = float(lin.get("inherited_share") or 0.0)
    how = f", {lin['basis']}" if lin.get("basis") else ""
    return f"{parent} ({lin.get('parent_team') or '?'}, {share:.0%} inherited{how})"


@following_work_tree
def run(args: argparse.Namespace) -> int:
    private = None
    if args.private_ledger:
        private = read_private_ledger(args.private_ledger)
    else:
        print("lineage: no --private-ledger, so near-copy flags are not read; a flagged "
              "copy may get its source back as a parent", file=sys.stderr)
    done = recompute_lineage(args.repo, args.challenge or None, apply=args.apply,
                             private=private, identity=identity_from_env())
    if args.json:
        print_json([{"challenge": d.challenge, "commit": d.commit, "left": d.left,
                     "changed": [{"version": m.version, "team": m.team, "moved": m.moved,
                                  "old": m.old, "new": m.new} for m in d.changed],
                     "credit": {v: {"old": a, "new": b} for v, (a, b) in d.credit.items()}}
                    for d in done])
        return 0
    for d in done:
        moved = [m for m in d.changed if m.moved]
        if not moved and not d.credit:
            print(f"{d.challenge}: nothing moved" + (
                f" ({len(d.changed)} record(s) gain the current rule's fields)"
                if d.changed else ""))
        for m in moved:
            print(f"{d.challenge}: {m.version} ({m.team}): {_label(m.old)} -> {_label(m.new)}")
        for v, (old, new) in sorted(d.credit.items()):
            print(f"{d.challenge}: historical contributivity of {v}: {old:.2f} % -> "
                  f"{new:.2f} %")
        for v, why in sorted(d.left.items()):
            print(f"{d.challenge}: {v} left as recorded: {why}")
        if args.apply:
            print(f"{d.challenge}: {len(d.changed)} record(s) updated"
                  + (f" in {d.commit[:10]}" if d.commit else ""))
        elif d.changed:
            print(f"{d.challenge}: dry run, nothing written; --apply commits "
                  f"{len(d.changed)} record(s)")
    return 0
