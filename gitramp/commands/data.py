"""`gitramp data hash DIR`: the hash of a hidden data folder, which each runner's
configuration names beside the folder (`--data-hash`), so a scan refuses to score
with other data. `--manifest FILE` also writes the list of files with their hashes:
given to a runner as `--data-hash FILE`, a difference is named file by file.
`--check HASH_OR_MANIFEST` compares the folder instead (exit 2 naming what differs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from challenge import data_manifest


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("data", help="hidden data folders: their hash, for runners to check",
                       description=__doc__)
    verbs = p.add_subparsers(dest="data_verb", required=True)
    h = verbs.add_parser("hash", help="print a data folder's hash (sha256:...)",
                         description=__doc__)
    h.add_argument("folder", type=Path, help="the hidden data folder")
    h.add_argument("--manifest", type=Path, default=None, metavar="FILE",
                   help="also write the folder's manifest (one line per file) to FILE")
    h.add_argument("--check", default=None, metavar="HASH_OR_MANIFEST",
                   help="check the folder against this hash or manifest instead")
    return p


def run(args: argparse.Namespace) -> int:
    if args.check:
        print(data_manifest.check(args.folder, args.check))
        return 0
    items = data_manifest.entries(args.folder)
    if args.manifest is not None:
        args.manifest.write_text(data_manifest.manifest_text(items), encoding="utf-8",
                                 errors="surrogateescape")
    print(data_manifest.digest(items))
    return 0
