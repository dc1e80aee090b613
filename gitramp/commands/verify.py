"""`gitramp verify CHALLENGE/NAME[@VERSION]`: re-run a scored record from what it names
(kit commit, submission tree, data fingerprint, environment manifest, the scorer's
seeds) and say whether its scores reproduce at the kit's printed precision.

Verdicts: reproduced; differs (with the per-fold deltas); failed (the re-run did not
score); refused (what differs from the record: kit, data, image); non-deterministic
(with --twice, two runs disagreed). Each verification is written to the ledger beside
the record, never in it. Exit 0 when every one reproduced, 1 otherwise."""

from __future__ import annotations

import argparse
import sys

from challenge.errors import GitrampError
from challenge.ledger import Ledger
from challenge.verify import (
    REPRODUCED,
    VerifyOptions,
    find_record,
    record_verification,
    sample_records,
    top_records,
    verify,
)
from gitramp.options import add_json, add_push, add_repo, following_work_tree, print_json
from scorer.backends import NAMES as BACKENDS


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("verify", help="re-run a record and check that it reproduces",
                       description=__doc__)
    add_repo(p)
    p.add_argument("target", nargs="?", metavar="CHALLENGE[/NAME[@VERSION]]",
                   help="a record (VERSION: a prefix of its tree or commit; default: the "
                        "latest), or with --top/--sample a challenge")
    pick = p.add_mutually_exclusive_group()
    pick.add_argument("--top", type=int, metavar="N",
                      help="the first N of the challenge's board (the private board with "
                           "--private-ledger)")
    pick.add_argument("--sample", type=int, metavar="N", help="N scored records at random")
    p.add_argument("--seed", type=int, default=None, help="seed of --sample")
    add_verify_options(p)
    p.add_argument("--no-record", action="store_true",
                   help="do not write the verification to the ledger")
    add_push(p)
    add_json(p)
    return p


def add_verify_options(p: argparse.ArgumentParser, private: bool = True) -> None:
    """The options of a re-run (shared with `gitramp reveal --verify-top`)."""
    p.add_argument("--backend", default=None, choices=BACKENDS,
                   help="where to re-run (default: the backend the record names)")
    p.add_argument("--data", "--data-dir", dest="data_dir", default=None,
                   help="this runner's hidden data folder; {challenge} is replaced by the "
                        "kit's name (default: the kit's public data)")
    if private:  # reveal has its own
        p.add_argument("--private-ledger", default=None,
                       help="the private ledger: compare the test scores too")
    p.add_argument("--runner", default=None, help="this runner's name (default: host name)")
    p.add_argument("--image", default=None,
                   help="the image of a container backend (default: the kit's tag)")
    p.add_argument("--twice", action="store_true",
                   help="run twice first; when they disagree, the submission is "
                        "non-deterministic")


def verify_options(args: argparse.Namespace) -> VerifyOptions:
    o = VerifyOptions(backend=args.backend, data_dir=args.data_dir,
                      private_ledger=args.private_ledger, twice=args.twice, image=args.image)
    if args.runner:
        o.runner = args.runner
    return o


@following_work_tree
def run(args: argparse.Namespace) -> int:
    if not args.target:
        raise GitrampError("say what to verify: CHALLENGE/NAME[@VERSION], or CHALLENGE with "
                           "--top N or --sample N")
    ledger = Ledger(args.repo)
    challenge, _, rest = args.target.partition("/")
    name, _, version = rest.partition("@")
    private = Ledger(args.private_ledger) if args.private_ledger else None
    if args.top is not None:
        records = top_records(ledger, challenge, args.top, private)
    elif args.sample is not None:
        records = sample_records(ledger, challenge, args.sample, args.seed)
    elif name:
        records = [find_record(ledger, challenge, name, version or None)]
    else:
        raise GitrampError(f"{args.target}: name a record (CHALLENGE/NAME), or pass --top N "
                           "or --sample N")
    if not records:
        raise GitrampError(f"no scored record of {challenge} to verify")
    options = verify_options(args)
    rows = []
    for record in records:
        v = verify(args.repo, record, options,
                   progress=None if args.json else
                   lambda msg, r=record: print(f"{r.challenge}/{r.submission}: {msg}",
                                               file=sys.stderr))
        path = None if args.no_record else record_verification(args.repo, v)
        rows.append({**v.to_dict(public=False), "path": path})
        if not args.json:
            print(v.summary())
            for d in v.deltas[:20]:
                print(f"    fold {d['fold']} {d['split']} {d['score']}: {d['recorded']} -> "
                      f"{d['rerun']} ({d['delta']:+.3g})")
            for note in v.unchecked:
                print(f"    unchecked: {note}")
    if args.push and not args.no_record:
        ledger.push(args.push)
    if args.json:
        print_json(rows)
    return 0 if all(r["verdict"] == REPRODUCED for r in rows) else 1
