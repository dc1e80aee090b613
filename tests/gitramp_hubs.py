"""Real hub repositories for the ledger, validation and scan tests (not a test module)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2

from challenge.hub import build_hub, commit_files

ROOT = Path(__file__).resolve().parent.parent
KITS = ROOT / "kits"
START = datetime(2026, 12, 1, tzinfo=UTC)  # the closed phase starts here
CLOSED_NOW = START + timedelta(hours=1)
OPEN_NOW = START + timedelta(days=7, hours=1)  # one hour into the open phase


def make_hub(tmp: Path, kits=("iris",), **phase_options) -> pygit2.Repository:
    return build_hub(tmp / "hub", KITS, kits, START, **phase_options)


def example(kit: str, name: str) -> dict[str, bytes]:
    folder = KITS / kit / "submissions" / name
    return {f.name: f.read_bytes() for f in sorted(folder.glob("*.py"))}


def submit(repo: pygit2.Repository, team: str, name: str, files: dict[str, bytes], *,
           kit: str = "iris", parent=None, when: datetime | None = None,
           extra: dict[str, bytes | None] | None = None, executable=()) -> pygit2.Oid:
    """A branch submit/<team>/<name> adding files to kits/<kit>/submissions/<name>/."""
    paths = {f"kits/{kit}/submissions/{name}/{f}": d for f, d in files.items()}
    paths.update(extra or {})
    return commit_files(repo, f"refs/heads/submit/{team}/{name}", paths,
                        parent=parent or repo.references["refs/heads/main"].target,
                        message=f"{name} by {team}", author=team,
                        when=when or datetime.now(UTC),
                        executable={f"kits/{kit}/submissions/{name}/{f}" for f in executable})
