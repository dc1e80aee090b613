"""`gitramp site`: build the static leaderboard and code gallery from the ledger."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scorer.untrusted import LINE_CHARS, clean_text
from site_generator import build


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "site", help="build the static site (leaderboards, code, lineage, plots)",
        description="Build the static site of a challenge repository from its ledger "
                    "(leaderboard_data/) and kits. Only changed files are rewritten.")
    p.add_argument("--repo", default=".", type=Path,
                   help="the repository: a hub with kits/*/challenge.yml or a kit (default: .)")
    p.add_argument("--out", default="_site", type=Path,
                   help="output folder (default: _site); serve it or open index.html")
    p.add_argument("--forge", "--forge-url", dest="forge", default=None, metavar="URL",
                   help="the hub's web address on its forge (GitHub or GitHub Enterprise, "
                        "https://<host>/<org>/<hub>), for links to commits, pull requests "
                        "and branches (default: forge in the hub's gitramp.toml, or "
                        "$GITRAMP_FORGE; none: plain text)")
    return p


def run(args: argparse.Namespace) -> int:
    # args.forge: the command line, else the environment or gitramp.toml (gitramp.config)
    summary = build(args.repo, args.out, forge_url=args.forge)
    for line in summary.skipped:  # a parse error quotes the record: one bounded line
        print(f"warning: ledger record left out of the site: {clean_text(line, LINE_CHARS)}",
              file=sys.stderr)
    print(summary)
    return 0
