"""`gitramp seal keygen`: make a challenge's keypair for sealed submissions.

The public key is written into the kit's challenge.yml (`seal_key:`), to be committed;
the private key is written to --out (mode 600) or printed, for the secret store of the
privileged scoring job only (GITRAMP_SEAL_KEY), and for `gitramp phase open`."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from challenge import sealing
from challenge.errors import GitrampError
from challenge.kit import SPEC_FILE, load_kit


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("seal", help="make a challenge's keypair for sealed submissions",
                       description=__doc__)
    p.add_argument("action", choices=("keygen",))
    p.add_argument("--kit", default=".", type=Path, help="the kit folder (default: .)")
    p.add_argument("--out", type=Path, default=None,
                   help="write the private key to this file (mode 600) instead of printing it")
    p.add_argument("--force", action="store_true", help="replace a key the kit has")
    return p


def run(args: argparse.Namespace) -> int:
    kit = load_kit(args.kit)
    if kit.seal_key and not args.force:
        raise GitrampError(f"{kit.name} has a seal_key already; --force replaces it (the "
                           "submissions sealed to the old key then open only with the old "
                           "private key)")
    public, private = sealing.keygen()
    spec = Path(args.kit) / SPEC_FILE
    text = spec.read_text()
    line = f"seal_key: {public}\n"
    text = re.sub(r"(?m)^seal_key:.*\n?", line, text) if re.search(r"(?m)^seal_key:", text) \
        else text + ("" if text.endswith("\n") else "\n") + line
    spec.write_text(text)
    load_kit(args.kit)  # the spec still loads
    print(f"{kit.name}: public key written to {spec} (commit it)")
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(private + "\n")
        print(f"private key written to {args.out}: store it as the scoring job's secret "
              f"{sealing.KEY_ENV}, then delete the file")
    else:
        print(f"private key (store it as the scoring job's secret {sealing.KEY_ENV}):")
        print(private)
    return 0
