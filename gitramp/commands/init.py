"""`gitramp init`: export a kit as a standalone challenge repository, with the workflows
that score its pull requests and the ledger's README; the hidden data stays out.

The new repository's folder name is the challenge's name (its ledger folder)."""

from __future__ import annotations

import argparse
from pathlib import Path

from challenge.errors import GitrampError

ROOT = Path(__file__).resolve().parents[2]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("init", help="export a kit as a standalone repository",
                       description=__doc__)
    p.add_argument("kit", type=Path, help="the kit folder (holding challenge.yml)")
    p.add_argument("out", type=Path, nargs="?", default=None,
                   help="the new repository (default: ./<kit name>)")
    p.add_argument("--out", dest="out_option", type=Path, default=None,
                   help="the new repository, as an option")
    p.add_argument("--all-submissions", action="store_true",
                   help="include every example submission, not only starting_kit")
    return p


def workflow_files() -> dict[str, bytes]:
    """The scoring workflows: the package's templates, else this hub's own workflows."""
    for folder in (Path(__file__).resolve().parents[1] / "templates" / "workflows",
                   ROOT / ".github" / "workflows"):
        files = sorted(folder.glob("*.yml")) if folder.is_dir() else []
        files = [f for f in files if not f.name.startswith("ci")]
        if files:
            return {f".github/workflows/{f.name}": f.read_bytes() for f in files}
    return {}


def export_kit(kit_dir: Path, out: Path, *, all_submissions: bool = False) -> str:
    """Create the repository; returns its first commit's id."""
    from challenge.hub import commit_files, init_repo, kit_files
    from challenge.kit import load_kit

    kit = load_kit(kit_dir)
    if out.exists() and any(out.iterdir()):
        raise GitrampError(f"{out} exists and is not empty; choose a new folder")
    files = kit_files(kit.path, submissions=None if all_submissions else ("starting_kit",))
    files[".gitignore"] = b"hidden/\n__pycache__/\n*.pyc\n"
    files.update(workflow_files())
    readme = ROOT / "leaderboard_data" / "README.md"
    if readme.is_file():
        files["leaderboard_data/README.md"] = readme.read_bytes()
    repo = init_repo(out)
    commit = commit_files(repo, "refs/heads/main", files,
                          message=f"{kit.title}: challenge kit exported by gitramp init")
    repo.set_head("refs/heads/main")
    repo.checkout_head()
    return str(commit)


def run(args: argparse.Namespace) -> int:
    from challenge.kit import load_kit

    out = args.out or args.out_option or Path(load_kit(args.kit).name)
    commit = export_kit(args.kit, out, all_submissions=args.all_submissions)
    n = len(workflow_files())
    print(f"{out}: standalone kit repository, first commit {commit[:10]}, "
          f"{n} workflow(s) in .github/workflows/")
    print("next: push it to a forge, add the hidden data to each runner, and open "
          "pull requests adding submissions/<name>/")
    return 0
