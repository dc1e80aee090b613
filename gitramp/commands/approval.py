"""`gitramp approval route`: where a pull request's scoring goes, decided from the
default branch's teams.yml (`challenge.approval`).

    gitramp approval route --repo TRUSTED --challenge C --login L

prints `approved` (the team, or the login, is approved: scored at once, by the job whose
environment needs no reviewer) or `review` (everyone else: the job whose environment
waits for an organizer), and, in a workflow, writes `route=<that>` to $GITHUB_OUTPUT.

The scoring workflow calls it in its `plan` job, which runs from the default branch
(a pull request cannot rewrite it for its own run), on a clone of the default branch,
with the login the forge's API gave for the pull request's author."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from challenge import approval
from challenge import repo as gitrepo
from challenge.errors import GitrampError

LOGIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("approval", help="route a pull request to scoring or to review",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("route",))
    p.add_argument("--repo", type=Path, default=Path("."),
                   help="a clone of the default branch (its teams.yml decides)")
    p.add_argument("--challenge", required=True, help="the kit the submission is for")
    p.add_argument("--login", required=True, help="the pull request author's login")
    return p


def run(args: argparse.Namespace) -> int:
    if not LOGIN_RE.fullmatch(args.login or ""):
        raise GitrampError(f"{args.login[:60]!r} is not a forge login")
    repo = gitrepo.open_repo(args.repo)
    head = gitrepo.head_commit(repo)  # the default branch: never the pull request's
    kits = gitrepo.find_kits(repo, head.tree) if head is not None else []
    loc = next((k for k in kits if k.name == args.challenge), None)
    if loc is None:
        raise GitrampError(f"no kit named {args.challenge!r} on the default branch of "
                           f"{args.repo}")
    decision = approval.route(repo, head, loc, args.login)
    out = os.environ.get("GITHUB_OUTPUT")
    if out:
        with open(out, "a") as f:
            f.write(f"route={decision}\n")
    print(decision)
    return 0
