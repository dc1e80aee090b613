"""Challenge repositories as folders of kits: finding the kits of a checkout, and
building repositories from kit folders with pygit2 and no `git` binary (the demo's
hub, `gitramp init`'s standalone kit repository, and test fixtures).

Commits are made from trees built in memory, so branches can be created without
ever touching a work tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import pygit2
from pygit2.enums import FileMode

from challenge.kit import SPEC_FILE
from challenge.ledger import put_path
from challenge.phases import iso
from challenge.repo import HUB_KITS

SKIP_DIRS = {"hidden", "__pycache__", ".pytest_cache", "leaderboard_data", ".git"}


def signature(name: str, when: datetime | None = None) -> pygit2.Signature:
    email = f"{name}@example.org"
    if when is None:
        return pygit2.Signature(name, email)
    return pygit2.Signature(name, email, int(when.timestamp()), 0)


def kit_dirs(root: Path) -> list[Path]:
    """The kit folders of a checked-out repository: `kits/*/` of a hub, or the root of a
    standalone kit (the layout `challenge.repo.find_kits` reads from a commit)."""
    root = Path(root)
    if (root / SPEC_FILE).is_file():
        return [root]
    return sorted(p.parent for p in (root / HUB_KITS).glob(f"*/{SPEC_FILE}"))


def kit_files(kit_dir: Path, *, submissions: Iterable[str] | None = ("starting_kit",),
              prefix: str = "") -> dict[str, bytes]:
    """{repository path: content} of a kit folder; hidden data stays out, and only the
    named submissions are included (None: all)."""
    keep = set(submissions) if submissions is not None else None
    out = {}
    for f in sorted(kit_dir.rglob("*")):
        rel = f.relative_to(kit_dir)
        if not f.is_file() or SKIP_DIRS & set(rel.parts) or f.suffix == ".pyc":
            continue
        if rel.parts[0] == "submissions" and keep is not None and (
                len(rel.parts) < 3 or rel.parts[1] not in keep):
            continue
        out["/".join(filter(None, (prefix, rel.as_posix())))] = f.read_bytes()
    return out


def commit_files(repo: pygit2.Repository, ref: str | None, files: dict[str, bytes | None], *,
                 message: str, parent: str | pygit2.Oid | None = None, author: str = "gitramp",
                 when: datetime | None = None, executable: Iterable[str] = ()) -> pygit2.Oid:
    """Commit `files` (None removes a path) on top of `parent` (default: the ref's head)
    and point `ref` at the commit (when given)."""
    if parent is None and ref is not None and ref in repo.references:
        parent = repo.references[ref].target
    base = repo[parent].peel(pygit2.Commit) if parent is not None else None
    tree = base.tree if base is not None else None
    execs = set(executable)
    for path, data in sorted(files.items()):
        oid = repo.create_blob(data) if data is not None else None
        tree = repo[put_path(repo, tree, path, oid, FileMode.BLOB_EXECUTABLE if path in execs
                             else FileMode.BLOB)]
    if tree is None:
        tree = repo[repo.TreeBuilder().write()]
    sig = signature(author, when)
    commit = repo.create_commit(None, sig, sig, message, tree.id,
                                [base.id] if base is not None else [])
    if ref is not None:
        repo.references.create(ref, commit, force=True)
    return commit


def demo_phases(start: datetime, *, closed_days: int = 7, open_days: int = 21,
                closed_per_day: int = 3, min_interval: int = 600,
                open_per_day: int = 10) -> str:
    """A `phases:` block with the closed phase starting at `start`."""
    mid = start + timedelta(days=closed_days)
    end = mid + timedelta(days=open_days)
    return ("phases:\n"
            f"  - {{name: closed, start: {iso(start)}, end: {iso(mid)}, "
            f"per_day: {closed_per_day}, min_interval: {min_interval}}}\n"
            f"  - {{name: open, start: {iso(mid)}, end: {iso(end)}, per_day: {open_per_day}}}\n")


def with_phases(spec: bytes, phases_block: str) -> bytes:
    """challenge.yml with its `phases:` section replaced (or added)."""
    lines = spec.decode().splitlines(keepends=True)
    out, skipping = [], False
    for line in lines:
        if line.startswith("phases:"):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "-", "\t")) or not line.strip()):
            continue
        skipping = False
        out.append(line)
    text = "".join(out)
    if text and not text.endswith("\n"):
        text += "\n"
    return (text + phases_block).encode()


def init_repo(path: Path, bare: bool = False) -> pygit2.Repository:
    path.mkdir(parents=True, exist_ok=True)
    return pygit2.init_repository(str(path), bare=bare, initial_head="main")


def build_hub(dest: Path, kits_dir: Path, names: Iterable[str], start: datetime, *,
              author: str = "organizer", **phase_options) -> pygit2.Repository:
    """A hub repository at `dest` holding the named kits (with their starting kits and
    public data), its phases rewritten to begin at `start`; HEAD on main."""
    files: dict[str, bytes] = {}
    for name in names:
        kf = kit_files(Path(kits_dir) / name, prefix=f"kits/{name}")
        spec = f"kits/{name}/challenge.yml"
        kf[spec] = with_phases(kf[spec], demo_phases(start, **phase_options))
        files.update(kf)
    repo = init_repo(dest)
    commit_files(repo, "refs/heads/main", files, message="Hub with its kits", author=author,
                 when=start)
    repo.set_head("refs/heads/main")
    return repo
