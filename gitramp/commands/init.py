"""`gitramp init`: export a kit as a standalone challenge repository, with the workflows
that score its pull requests and the ledger's README; the hidden data stays out.

KIT is a kit folder, or the name of an example kit that ships with gitramp (iris,
diabetes, cancer); an example's public data is generated when the kit has none.
The challenge's name (its ledger folder, leaderboard_data/<name>/) is the kit's: the
exported challenge.yml says it (`name:`), so the repository keeps it under any folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from challenge.errors import GitrampError
from challenge.hub import commit_files, init_repo, kit_files
from challenge.kit import SPEC_FILE, load_kit
from challenge.repo import spec_with_name
from scorer.workflows import elements

PACKAGE = Path(__file__).resolve().parents[1]
# What `gitramp init` installs, shipped in the package: links to this repository's own
# .github/workflows/ and leaderboard_data/README.md in a checkout, copies in a wheel.
TEMPLATES = PACKAGE / "templates"
LEDGER_README = TEMPLATES / "leaderboard_data" / "README.md"
# The example kits (a link to kits/ in a checkout), without their data.
EXAMPLES = PACKAGE / "kits"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("init", help="export a kit as a standalone repository",
                       description=__doc__)
    p.add_argument("kit", type=Path,
                   help="the kit folder (holding challenge.yml), or an example kit's name")
    p.add_argument("out", type=Path, nargs="?", default=None,
                   help="the new repository (default: ./<kit name>)")
    p.add_argument("--out", dest="out_option", type=Path, default=None,
                   help="the new repository, as an option")
    p.add_argument("--all-submissions", action="store_true",
                   help="include every example submission, not only starting_kit")
    return p


def gitramp_version() -> str:
    from importlib.metadata import version

    return version("gitramp")


def workflow_files() -> dict[str, bytes]:
    """The scoring workflows (not gitramp's own CI), installing this version of gitramp
    unless the repository's GITRAMP_PIP_SPEC variable says otherwise: a new gitramp
    release never changes how a running challenge scores."""
    files = sorted((TEMPLATES / "workflows").glob("*.yml"))
    pinned = f"|| 'gitramp=={gitramp_version()}') }}}}".encode()
    return {f".github/workflows/{f.name}": f.read_bytes().replace(b"|| 'gitramp') }}", pinned)
            for f in files}


def readme_section(kit, version: str) -> bytes:
    """How a participant installs gitramp, tests a submission and submits it."""
    return f"""

## Taking part

1. Install the gitramp this challenge scores with: `pip install gitramp=={version}`.
2. Copy `submissions/starting_kit/` to `submissions/<your name>/` and edit it
   (a `{kit.workflow}` submission holds {", ".join(elements(kit.workflow))}).
3. Test it as the runners will: `gitramp test --submission <your name>` (add
   `--quick-test` for a fast check, `--strict` to refuse what a runner would reject).
4. Commit only `submissions/<your name>/` and open a pull request; the runner comments
   your public score, rank and remaining quota on it.
""".encode()


def find_kit(kit: Path) -> Path:
    """The kit folder: `kit` itself, or the example kit of that name when no such
    folder exists."""
    example = EXAMPLES / kit.name
    if not kit.exists() and len(kit.parts) == 1 and (example / "challenge.yml").is_file():
        return example
    return kit


def example_data(kit_dir: Path, files: dict[str, bytes]) -> dict[str, bytes]:
    """An example kit's public data, generated when the kit folder lacks it (a wheel
    ships the examples without data); {} for any other kit."""
    if kit_dir.resolve().parent != EXAMPLES.resolve():
        return {}
    # imported here: scikit-learn's datasets cost half a second, for examples only
    from gitramp.kits import make_data

    if kit_dir.name not in make_data.BUILDERS:
        return {}
    return {path: data for path, data in make_data.public_files(kit_dir.name).items()
            if path not in files}


def export_kit(kit_dir: Path, out: Path, *, all_submissions: bool = False) -> str:
    """Create the repository; returns its first commit's id."""
    kit_dir = find_kit(kit_dir)
    kit = load_kit(kit_dir)
    if out.exists() and any(out.iterdir()):
        raise GitrampError(f"{out} exists and is not empty; choose a new folder")
    files = kit_files(kit.path, submissions=None if all_submissions else ("starting_kit",))
    files[SPEC_FILE] = spec_with_name(files[SPEC_FILE], kit.name)
    files.update(example_data(kit.path, files))
    files[".gitignore"] = b"hidden/\n__pycache__/\n*.pyc\n_site/\n.gitramp/\n"
    files["README.md"] = files.get("README.md", f"# {kit.title}\n".encode()) + readme_section(
        kit, gitramp_version())
    files.update(workflow_files())
    files["leaderboard_data/README.md"] = LEDGER_README.read_bytes()
    repo = init_repo(out)
    commit = commit_files(repo, "refs/heads/main", files,
                          message=f"{kit.title}: challenge kit exported by gitramp init")
    repo.set_head("refs/heads/main")
    repo.checkout_head()
    return str(commit)


def run(args: argparse.Namespace) -> int:
    out = args.out or args.out_option or Path(load_kit(find_kit(args.kit)).name)
    commit = export_kit(args.kit, out, all_submissions=args.all_submissions)
    n = len(workflow_files())
    print(f"{out}: standalone kit repository, first commit {commit[:10]}, "
          f"{n} workflow(s) in .github/workflows/")
    print("next: push it to a forge, add the hidden data to each runner, and open "
          "pull requests adding submissions/<name>/")
    return 0
