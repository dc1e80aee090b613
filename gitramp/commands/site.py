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
    bar = ProgressBar()
    try:
        summary = build(args.repo, args.out, forge_url=args.forge, progress=bar)
    finally:
        bar.close()
    for line in summary.skipped:  # a parse error quotes the record: one bounded line
        print(f"warning: ledger record left out of the site: {clean_text(line, LINE_CHARS)}",
              file=sys.stderr)
    print(summary)
    return 0


UNKNOWN_TOTAL = 2_000  # what a part of no known size is redrawn as a share of


class ProgressBar:
    """The build's long parts as a bar on stderr (a first build of a big ledger parses
    every record and renders every page: minutes at 100,000), left out of short builds
    and cleared when done. rich is imported only when a bar is shown."""

    SHOWN_FROM = 100  # records parsed, or pages to render
    STEPS = 200  # redrawn at most this often a part, not once a page

    def __init__(self, console=None):
        self.console = console
        self.bar = None
        self.tasks: dict[str, tuple[int, int]] = {}  # what -> (task, done when last told)

    def __call__(self, what: str, done: int, total: int | None) -> None:
        if self.bar is None:
            if (done if total is None else total) < self.SHOWN_FROM:
                return
            self._start()
        task, last = self.tasks.get(what, (None, 0))
        if task is None:
            task = self.bar.add_task(what, total=total)
        elif done - last < (total or UNKNOWN_TOTAL) // self.STEPS and done != total:
            return
        self.tasks[what] = (task, done)
        self.bar.update(task, completed=done)

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )
        # a description names a challenge: shown as text, never read as rich markup
        self.bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), transient=True,
                            console=self.console or Console(stderr=True))
        self.bar.start()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
