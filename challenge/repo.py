"""Reading a challenge repository with pygit2, without a work tree.

Everything here works on commits and trees, so a runner can read a pull request's
head (fetched as `refs/pull/<n>/head`) or a `submit/<team>/<name>` branch without
checking anything out, and the code it reads never lands where it could run.
"""

from __future__ import annotations

import functools
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pygit2
import yaml
from pygit2.enums import CheckoutNotify, CheckoutStrategy, FileMode

from challenge.errors import GitrampError
from challenge.kit import KIT_NAME_PATTERN, SPEC_FILE, Kit, load_kit

HUB_KITS = "kits"
LEDGER_ROOT = "leaderboard_data"


class RepoError(GitrampError):
    pass


@dataclass(frozen=True)
class KitLocation:
    """Where a kit sits in a repository: `kits/<name>` in a hub, the root in a kit repo."""

    name: str
    prefix: str  # "" for a standalone kit repository

    def path(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    @property
    def submissions(self) -> str:
        return self.path("submissions")


@dataclass(frozen=True)
class FileEntry:
    """One file of a submission folder, as git stores it."""

    path: str  # relative to the submission folder
    mode: int
    oid: str
    size: int


def open_repo(path: str | Path = ".") -> pygit2.Repository:
    try:
        return pygit2.Repository(str(path))
    except (pygit2.GitError, KeyError):
        raise RepoError(f"{path}: not a git repository; pass --repo with the challenge's "
                        "repository (a hub with kits/<name>/ or a kit repository)") from None


def repo_root(repo: pygit2.Repository) -> Path:
    return Path(repo.workdir or repo.path).resolve()


def default_branch(repo: pygit2.Repository) -> str:
    """The full name of the branch HEAD points to (it may have no commit yet)."""
    if repo.head_is_detached:
        raise RepoError(f"{repo_root(repo)}: HEAD is detached; check out the default branch "
                        "(main) so the ledger knows where to write")
    ref = repo.references.get("HEAD")
    return ref.target if isinstance(ref.target, str) else "refs/heads/main"


def resolve_commit(repo: pygit2.Repository, rev: str) -> pygit2.Commit:
    try:
        obj = repo.revparse_single(rev)
        return obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        raise RepoError(f"{rev!r} names no commit in {repo_root(repo)}; fetch it first "
                        "(for a pull request: git fetch origin pull/<n>/head:refs/pull/<n>/head)"
                        ) from None


def head_commit(repo: pygit2.Repository, branch: str | None = None) -> pygit2.Commit | None:
    ref = repo.references.get(branch or default_branch(repo))
    return repo[ref.target].peel(pygit2.Commit) if ref is not None else None


def subtree(repo: pygit2.Repository, tree: pygit2.Tree, path: str) -> pygit2.Tree | None:
    """The tree at `path` inside `tree`, or None when absent or not a folder."""
    if not path:
        return tree
    try:
        entry = tree[path]
    except KeyError:
        return None
    return repo[entry.id] if entry.filemode == FileMode.TREE else None


def blob_at(repo: pygit2.Repository, tree: pygit2.Tree, path: str) -> bytes | None:
    try:
        entry = tree[path]
    except KeyError:
        return None
    readable = entry.filemode in (FileMode.BLOB, FileMode.BLOB_EXECUTABLE)
    return repo[entry.id].data if readable else None


def find_kits(repo: pygit2.Repository, tree: pygit2.Tree) -> list[KitLocation]:
    """Kits of a hub (`kits/<name>/challenge.yml`) or of a kit repo (`challenge.yml`)."""
    if SPEC_FILE in tree:
        return [KitLocation(standalone_name(repo, tree), "")]
    kits = subtree(repo, tree, HUB_KITS)
    if kits is None:
        return []
    return [KitLocation(e.name, f"{HUB_KITS}/{e.name}") for e in kits
            if e.filemode == FileMode.TREE and SPEC_FILE in repo[e.id]]


def standalone_name(repo: pygit2.Repository, tree: pygit2.Tree) -> str:
    """A kit repository's challenge name: the `name` of its challenge.yml (what `gitramp
    init` writes), else its folder's name. The folder is wherever the repository was
    checked out (a workflow checks the kit out to `trusted/`), so a kit repository
    should name itself: its ledger is `leaderboard_data/<name>/`."""
    return spec_name(blob_at(repo, tree, SPEC_FILE)) or repo_root(repo).name.removesuffix(
        ".git")


def spec_name(spec: bytes | None) -> str | None:
    """The `name` a challenge.yml gives, when it is a usable name (else None: the spec's
    own check, when the kit is loaded, says what is wrong with it)."""
    if not spec:
        return None
    try:
        raw = yaml.safe_load(spec)
    except yaml.YAMLError:
        return None
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) and re.fullmatch(KIT_NAME_PATTERN, name) else None


def spec_with_name(spec: bytes, name: str) -> bytes:
    """challenge.yml with a `name: <name>` line first, unless it names the kit already:
    what a kit exported as a repository of its own needs to keep its name."""
    if spec_name(spec) is not None:
        return spec
    return f"name: {name}  # the challenge's id: leaderboard_data/{name}/\n".encode() + spec


def list_files(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> list[FileEntry]:
    """Every non-folder entry under `tree`, recursively, with its mode and size."""
    out: list[FileEntry] = []
    for e in tree:
        path = f"{prefix}{e.name}"
        if e.filemode == FileMode.TREE:
            out.extend(list_files(repo, repo[e.id], path + "/"))
        elif e.filemode == FileMode.COMMIT:
            out.append(FileEntry(path, e.filemode, str(e.id), 0))
        else:
            size = repo.odb.read_header(e.id)[1]
            out.append(FileEntry(path, e.filemode, str(e.id), size))
    return out


def export_tree(repo: pygit2.Repository, tree: pygit2.Tree, dest: Path,
                skip: tuple[str, ...] = ()) -> Path:
    """Write the regular files of `tree` under `dest` (links and submodules are skipped:
    validation has rejected them already, and they must never be followed)."""
    dest.mkdir(parents=True, exist_ok=True)
    for e in tree:
        if e.name in skip or e.name in (".", "..") or "/" in e.name or "\\" in e.name:
            continue
        target = dest / e.name
        if e.filemode == FileMode.TREE:
            export_tree(repo, repo[e.id], target)
        elif e.filemode in (FileMode.BLOB, FileMode.BLOB_EXECUTABLE):
            target.write_bytes(repo[e.id].data)
    return dest


def changed_paths(repo: pygit2.Repository, base: pygit2.Commit | None,
                  head: pygit2.Commit) -> list[str]:
    """Paths added, removed or changed between two commits (both sides of a rename)."""
    if base is None:
        return [f.path for f in list_files(repo, head.tree)]
    diff = repo.diff(base.tree, head.tree)
    paths: set[str] = set()
    for d in diff.deltas:
        paths.update((d.old_file.path, d.new_file.path))
    return sorted(paths)


def merge_base(repo: pygit2.Repository, a: pygit2.Commit, b: pygit2.Commit
               ) -> pygit2.Commit | None:
    oid = repo.merge_base(a.id, b.id)
    return repo[oid] if oid is not None else None


def load_kit_at(repo: pygit2.Repository, commit: pygit2.Commit, loc: KitLocation) -> Kit:
    """The kit as committed (its trusted version), exported once per tree to a cache folder."""
    kit_tree = subtree(repo, commit.tree, loc.prefix)
    if kit_tree is None:
        raise RepoError(f"commit {str(commit.id)[:10]} has no kit at {loc.prefix or '/'}")
    kit = _load_exported_kit(repo_root(repo), str(kit_tree.id), loc.name)
    if kit.name != loc.name:
        raise RepoError(f"{loc.path(SPEC_FILE)} says name: {kit.name}, but in a hub a kit's "
                        f"folder is its name ({loc.name}); rename the folder or the name")
    return kit


@functools.lru_cache(maxsize=64)
def _load_exported_kit(root: Path, tree_id: str, name: str) -> Kit:
    repo = pygit2.Repository(str(root))
    dest = Path(_cache_dir()) / tree_id / name
    if not (dest / SPEC_FILE).is_file():
        tmp = Path(tempfile.mkdtemp(dir=_cache_dir()))
        export_tree(repo, repo[tree_id], tmp / name, skip=("submissions",))
        (dest.parent).mkdir(parents=True, exist_ok=True)
        try:
            (tmp / name).rename(dest)
        except OSError:  # another process exported the same tree meanwhile
            pass
    return load_kit(dest)


@functools.cache
def _cache_dir() -> str:
    return tempfile.mkdtemp(prefix="gitramp-kits-")


def sync_work_tree(repo: pygit2.Repository, old: pygit2.Commit | None,
                   new: pygit2.Commit | None) -> list[str]:
    """Bring a checked-out work tree and index from `old` to `new` after commits made
    without them (ledger writes, `phase open`), like a fast-forward: only files still
    as `old` had them are updated. Returns the paths left alone (changed locally)."""
    if repo.is_bare or repo.workdir is None or old is None or new is None \
            or old.id == new.id:
        return []

    class Conflicts(pygit2.CheckoutCallbacks):
        def __init__(self) -> None:
            super().__init__()
            self.paths: list[str] = []

        def checkout_notify_flags(self) -> CheckoutNotify:
            return CheckoutNotify.CONFLICT

        def checkout_notify(self, why, path, baseline, target, workdir) -> None:
            self.paths.append(path)

    # libgit2 compares the work tree with HEAD's tree: point HEAD at `old` meanwhile, so
    # a safe checkout of `new` updates the files that still match `old` and reports (as
    # conflicts, left alone) those changed locally.
    branch = None if repo.head_is_detached else repo.head.name
    conflicts = Conflicts()
    repo.set_head(old.id)
    try:
        repo.checkout_tree(new.tree, callbacks=conflicts,
                           strategy=CheckoutStrategy.SAFE | CheckoutStrategy.ALLOW_CONFLICTS)
    finally:
        repo.set_head(branch or new.id)
    return sorted(conflicts.paths)
