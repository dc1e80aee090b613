"""`gitramp moderate`: an organizer's act on a challenge, with its reason, recorded in
the ledger as a commit naming who did it and why (`challenge.moderation`).

    gitramp moderate annul <challenge>/<name>[@<tree>] --reason "..."
    gitramp moderate ban <team> --reason "..." [--challenge C ...]

An annulled record stays in the ledger, marked, and leaves every board and blend; a
banned team's later submissions are rejected with the reason."""

from __future__ import annotations

import argparse
import getpass
import os

import pygit2

from challenge import moderation
from challenge.errors import GitrampError
from challenge.ledger import Ledger
from challenge.phases import utcnow
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
    p = sub.add_parser("moderate", help="annul a record or ban a team, with a reason",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("annul", "ban"))
    p.add_argument("target", help="annul: <challenge>/<name>[@<tree>]; ban: <team>")
    p.add_argument("--reason", required=True, help="why; recorded and shown on the site")
    p.add_argument("--by", default=None,
                   help="who acts (default: GITHUB_ACTOR, else git's user.name, else the "
                        "login)")
    add_repo(p)
    add_challenges(p)
    add_push(p)
    add_now(p)
    add_json(p)
    return p


def actor(repo: pygit2.Repository) -> str:
    """Who is acting: the forge's actor in a workflow, else git's user.name."""
    if os.environ.get("GITHUB_ACTOR"):
        return os.environ["GITHUB_ACTOR"]
    try:
        return repo.config["user.name"]
    except KeyError:
        return getpass.getuser()


@following_work_tree
def run(args: argparse.Namespace) -> int:
    ledger = Ledger(args.repo)
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
