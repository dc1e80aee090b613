"""`gitramp import-ramp`: turn a RAMP kit folder into a gitramp kit (docs/from-ramp.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("import-ramp", help="convert a RAMP kit into a gitramp kit",
                       description="Read a RAMP kit's problem.py (without importing rampwf) "
                       "and write a gitramp kit that scores the same: challenge.yml, the "
                       "hooks YAML cannot hold, the data, submissions and notebooks.")
    p.add_argument("src", type=Path, help="the RAMP kit folder (holding problem.py)")
    p.add_argument("--out", type=Path, required=True, help="the gitramp kit folder to write")
    p.add_argument("--force", action="store_true", help="replace --out if it is not empty")
    return p


def run(args) -> int:
    from challenge.ramp_import import import_ramp

    done = import_ramp(args.src, args.out, force=args.force)
    spec = done.spec
    print(f"wrote {done.out}: {spec['workflow']}, {spec['prediction']['type']}, scores "
          + ", ".join(s["name"] for s in spec["scores"]))
    if done.hooks:
        print(f"  problem.py keeps: {', '.join(done.hooks)}")
    for note in done.notes:
        print(f"  note: {note}")
    print(f"next: gitramp test --kit {done.out} --submission starting_kit")
    return 0
