"""`gitramp moderate`: an organizer's act on a challenge, with its reason, recorded in
the ledger as a commit naming who did it and why (`challenge.moderation`).

    gitramp moderate annul <challenge>/<name>[@<tree>] --reason "..."
    gitramp moderate ban <team> --reason "..." [--challenge C ...]
    gitramp moderate flags [<challenge>] --private-ledger PATH_OR_URL

An annulled record stays in the ledger, marked, and leaves every board and blend; a
banned team's later submissions are rejected with the reason. `flags` lists the
closed-phase submissions the runners found to be near copies of another team's earlier
one (`challenge.plagiarism`), kept in the private ledger only: both teams, both
submissions and the share, for an organizer to judge (and annul)."""

from __future__ import annotations

import argparse

from challenge import moderation, plagiarism
from challenge.errors import GitrampError
from challenge.ledger import Ledger
from challenge.phases import utcnow
from gitramp.options import (
    actor,
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
    p = sub.add_parser("moderate", help="annul a record or ban a team, with a reason",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("annul", "ban", "flags"))
    p.add_argument("target", nargs="?", default=None,
                   help="annul: <challenge>/<name>[@<tree>]; ban: <team>; flags: "
                        "<challenge> (default: every kit)")
    p.add_argument("--reason", default=None,
                   help="annul, ban: why (required); recorded and shown on the site")
    p.add_argument("--private-ledger", default=None, metavar="PATH_OR_URL",
                   help="flags: the private ledger the runners write (default: "
                        "private_ledger of gitramp.toml or of the runner file)")
    p.add_argument("--by", default=None,
                   help="who acts (default: GITHUB_ACTOR, else git's user.name, else the "
                        "login)")
    add_repo(p)
    add_challenges(p)
    add_push(p)
    add_now(p)
    add_json(p)
    p.set_defaults(_moderate_parser=p)  # annul and ban require --reason, flags does not
    return p


@following_work_tree
def run(args: argparse.Namespace) -> int:
    ledger = Ledger(args.repo)
    if args.action == "flags":
        return _flags(args, ledger)
    if not args.target or args.reason is None:
        args._moderate_parser.error(
            "the following arguments are required: "
            + ", ".join(n for n, missing in (("target", not args.target),
                                             ("--reason", args.reason is None)) if missing))
    by = args.by or actor(ledger.repo)
    now = args.now or utcnow()
    if args.action == "annul":
        challenge, sep, target = args.target.partition("/")
        if not sep or not target:
            raise GitrampError(f"{args.target!r}: name the record as "
                               "<challenge>/<name> or <challenge>/<name>@<tree>")
        kits_of(ledger, [challenge])  # an unknown challenge is named with the known ones
        acts = [moderation.annul(ledger, challenge, target, by=by, reason=args.reason,
                                 now=now)]
    else:
        _, kits = kits_of(ledger, args.challenge)
        acts = moderation.ban(ledger, [k.name for k in kits], args.target, by=by,
                              reason=args.reason, now=now)
    if args.push:
        ledger.push(args.push)
    if args.json:
        print_json([{**a.to_dict(), "path": a.path} for a in acts])
    else:
        for a in acts:
            print(f"{a.challenge}: {a.describe()}")
    return 0


def _flags(args: argparse.Namespace, ledger: Ledger) -> int:
    """The near copies flagged in the private ledger, per challenge."""
    spec = args.private_ledger
    if spec is None:
        raise GitrampError("the flags are kept in the private ledger: pass --private-ledger "
                           "(the runners' repository), or name it in the hub's gitramp.toml")
    private = read_private_ledger(spec)
    _, kits = kits_of(ledger, [args.target] if args.target else args.challenge)
    rows = []
    for loc in kits:
        flags = plagiarism.read_flags(private, loc.name)
        rows += [{**f.to_dict(), "path": f.path} for f in flags]
        if args.json:
            continue
        if not flags:
            print(f"{loc.name}: no near copy flagged")
        for f in flags:
            print(f"{loc.name}: {f.describe()}")
    if args.json:
        print_json(rows)
    return 0
