"""`gitramp site`: build the static leaderboard and code gallery from the ledger."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    return p


def run(args: argparse.Namespace) -> int:
    summary = build(args.repo, args.out)
    for line in summary.skipped:
        print(f"warning: ledger record left out of the site: {line}", file=sys.stderr)
    print(summary)
    return 0
