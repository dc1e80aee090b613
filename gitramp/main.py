"""The `gitramp` command: parses arguments and dispatches to one module per verb.

Each verb is a module of gitramp/commands/ with `add_parser(subparsers)` and
`run(args) -> int`; adding a verb means adding a module and naming it in VERBS.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from challenge.errors import GitrampError

# Modules of gitramp/commands/, in the order `gitramp --help` lists them.
VERBS = ("test", "score", "scan", "leaderboard", "phase", "reveal", "verify", "blend", "site",
         "init", "image", "validate", "forge", "import_ramp", "lineage", "moderate",
         "select", "submit", "seal", "data", "approval")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that verb's module is imported (each verb imports
    what it needs, and a command should not pay for the others)."""
    parser = argparse.ArgumentParser(
        prog="gitramp",
        description="Run collaborative data-science challenges on git and CI.")
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show the installed version and exit")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    only = only.replace("-", "_") if only else None  # `import-ramp` is import_ramp.py
    for verb in VERBS if only not in VERBS else (only,):
        module = importlib.import_module(f"gitramp.commands.{verb}")
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run)
    return parser


def entry() -> None:
    """The console script: exit without tearing down numpy, pandas and scikit-learn,
    which takes a few tenths of a second and serves no one."""
    import atexit
    import os

    # The scorer's own arithmetic is light; idle BLAS/OpenMP thread pools in this process
    # and the fork server only compete with the folds, which get the kit's CPU count
    # through threadpoolctl (scorer/backends/forkserver.py). Set before numpy loads.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    code = main()
    atexit._run_exitfuncs()  # the fork server's shutdown, temporary folders
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        # what the command line leaves unset comes from the environment, then the hub's
        # runner file and gitramp.toml (gitramp/config.py)
        from gitramp.config import apply

        apply(args)
        return int(args._run(args) or 0)
    except GitrampError as e:
        print(f"gitramp {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


class _Version(argparse.Action):
    """--version, looked up only when asked (importlib.metadata costs ~15 ms a start)."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.exit(message=_version() + "\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"gitramp {version('gitramp')}"
    except PackageNotFoundError:
        return "gitramp (not installed)"


if __name__ == "__main__":
    sys.exit(main())
