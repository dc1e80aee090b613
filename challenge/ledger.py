"""The ledger: results as YAML files committed to git, without a work tree.

Layout (see leaderboard_data/README.md): one file per scored submission version,
`leaderboard_data/<challenge>/<name>/<tree[:16]>-<scoring_hash[:8]>.yml`, holding
`Result.public_dict()`. The private ledger is a separate repository with the same
relative paths holding `Result.private_dict()`; it reaches the public one only through
`gitramp reveal`, under `leaderboard_data/<challenge>/private/`.

Every write is a commit made from trees, never from a checkout. A writer builds its
commit on the branch head it read, then moves the branch only if the head is still
that commit (libgit2 compares the old value under the ref lock); if another writer
moved it meanwhile, it rebuilds on top and tries again, so no result is ever lost.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pygit2
import yaml
from pygit2.enums import FileMode

from challenge import repo as gitrepo
from challenge.errors import GitrampError
from challenge.phases import Visibility
from challenge.repo import LEDGER_ROOT
from scorer.result import REJECTED, Result

STATE_FILE = "state.yml"
PRIVATE_DIR = "private"
RESERVED_NAMES = (PRIVATE_DIR,)
SIGNATURE = ("gitramp", "gitramp@localhost")
ATTEMPTS = 50

try:  # the C parser reads a large ledger several times faster
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pyyaml built without libyaml
    _Loader = yaml.SafeLoader


# build(repo, head) -> (tree, extra parents, commit message), or None: nothing to write
Builder = Callable[[pygit2.Repository, pygit2.Commit | None],
                   tuple[pygit2.Oid, list[pygit2.Oid], str] | None]


class LedgerError(GitrampError):
    pass


@dataclass(frozen=True)
class Key:
    """What identifies one scored submission version."""

    challenge: str
    name: str
    tree: str
    scoring_hash: str

    @property
    def file(self) -> str:
        return f"{self.tree[:16]}-{self.scoring_hash[:8]}.yml"

    def path(self, private: bool = False) -> str:
        parts = [LEDGER_ROOT, self.challenge] + ([PRIVATE_DIR] if private else [])
        return "/".join(parts + [self.name, self.file])

    @classmethod
    def of(cls, result: Result) -> Key:
        if not (result.tree and result.scoring_hash):
            raise LedgerError(f"result of {result.challenge}/{result.submission} lacks its "
                              "tree or scoring hash; only results of git submissions are "
                              "recorded")
        return cls(result.challenge, result.submission, result.tree, result.scoring_hash)


def state_path(challenge: str) -> str:
    return f"{LEDGER_ROOT}/{challenge}/{STATE_FILE}"


def dump_yaml(data: dict) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).encode()


def load_yaml(data: bytes):
    return yaml.load(data, Loader=_Loader)  # noqa: S506 - a safe loader


class Ledger:
    """One ledger branch of one repository (public: the default branch; or private)."""

    def __init__(self, path: str | Path, *, branch: str | None = None, create: bool = False):
        self.path = Path(path)
        if create and not (self.path / ".git").exists() and not (self.path / "HEAD").exists():
            self.path.mkdir(parents=True, exist_ok=True)
            pygit2.init_repository(str(self.path), initial_head="main")
        self._local = threading.local()
        self.branch = branch or gitrepo.default_branch(self.repo)

    @property
    def repo(self) -> pygit2.Repository:
        """A Repository per thread: pygit2 objects must not be shared across threads."""
        r = getattr(self._local, "repo", None)
        if r is None:
            r = self._local.repo = gitrepo.open_repo(self.path)
        return r

    # ------------------------------------------------------------------ reading
    def head(self) -> pygit2.Commit | None:
        return gitrepo.head_commit(self.repo, self.branch)

    def entries(self, challenge: str | None = None) -> dict[str, pygit2.Oid]:
        """{path: blob id} of every public record, read from trees only (no blob read)."""
        head = self.head()
        root = gitrepo.subtree(self.repo, head.tree, LEDGER_ROOT) if head else None
        out: dict[str, pygit2.Oid] = {}
        if root is None:
            return out
        repo = self.repo
        for c in root:
            if c.filemode != FileMode.TREE or (challenge and c.name != challenge):
                continue
            for n in repo[c.id]:
                if n.filemode != FileMode.TREE or n.name == PRIVATE_DIR:
                    continue
                for f in repo[n.id]:
                    if f.name.endswith(".yml") and f.filemode == FileMode.BLOB:
                        out[f"{LEDGER_ROOT}/{c.name}/{n.name}/{f.name}"] = f.id
        return out

    def has(self, key: Key) -> bool:
        return self.read(key.path()) is not None

    def read(self, path: str) -> dict | None:
        head = self.head()
        data = gitrepo.blob_at(self.repo, head.tree, path) if head else None
        return load_yaml(data) if data is not None else None

    def records(self, challenge: str | None = None) -> list[Result]:
        repo = self.repo
        return [Result.from_dict(load_yaml(repo[oid].data))
                for oid in self.entries(challenge).values()]

    def state(self, challenge: str) -> Visibility:
        return Visibility.from_dict(self.read(state_path(challenge)))

    # ------------------------------------------------------------------ writing
    def update(self, build: Builder) -> str | None:
        """Commit what `build(repo, head)` returns, (tree, extra parents, message), on the
        branch, compare-and-swap; `build` is called again on the new head after a race.
        `build` returns None when there is nothing to write."""
        repo = self.repo
        for attempt in range(ATTEMPTS):
            ref = repo.references.get(self.branch)
            head = repo[ref.target].peel(pygit2.Commit) if ref is not None else None
            built = build(repo, head)
            if built is None:
                return None
            tree, extra, message = built
            if head is not None and tree == head.tree.id and not extra:
                return None
            sig = pygit2.Signature(*SIGNATURE)
            parents = ([head.id] if head else []) + list(extra)
            commit = repo.create_commit(None, sig, sig, message, tree, parents)
            try:
                if ref is None:
                    repo.references.create(self.branch, commit)  # fails if created meanwhile
                else:
                    ref.set_target(commit, message.splitlines()[0])  # fails if it moved
                return str(commit)
            except (pygit2.GitError, pygit2.AlreadyExistsError, ValueError, OSError):
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
        raise LedgerError(f"{self.path}: could not update {self.branch} after {ATTEMPTS} tries; "
                          "too many concurrent writers, try again")

    def write(self, files: dict[str, bytes | None], message: str) -> str | None:
        """Put (or, with None, remove) files at paths on the branch in one commit."""
        def build(repo, head):
            tree = head.tree if head else None
            for path, data in sorted(files.items()):
                oid = repo.create_blob(data) if data is not None else None
                tree = repo[put_path(repo, tree, path, oid, FileMode.BLOB)]
            return tree.id, [], message
        return self.update(build)

    def record(self, result: Result, *, private: bool = False) -> str:
        """Write `result` (its public part, or with `private` its private part) at its
        key's path; returns the path."""
        key = Key.of(result)
        path = key.path()
        data = result.private_dict() if private else result.public_dict()
        verb = "private scores of" if private else "result of"
        self.write({path: dump_yaml(data)},
                   f"ledger: {verb} {key.challenge}/{key.name} by {result.team} "
                   f"({result.status})\n\ntree {key.tree}\nscoring hash {key.scoring_hash}\n")
        return path

    def set_state(self, challenge: str, state: Visibility, message: str) -> str | None:
        return self.write({state_path(challenge): dump_yaml(state.to_dict())}, message)

    # ------------------------------------------------------------------ pushing
    def push(self, remote: str = "origin", attempts: int = 10) -> None:
        """Push the branch; when the remote moved, merge its head (ledger files never
        conflict: each writer adds its own paths) and push again."""
        repo = self.repo
        rem = repo.remotes[remote]
        tracking = f"refs/remotes/{remote}/{self.branch.removeprefix('refs/heads/')}"
        for _ in range(attempts):
            callbacks = _PushCallbacks()
            try:
                rem.push([f"{self.branch}:{self.branch}"], callbacks=callbacks)
                if not callbacks.rejected:
                    self._push_side_refs(remote, attempts)
                    return
            except pygit2.GitError:
                pass
            rem.fetch([f"+{self.branch}:{tracking}"], callbacks=_PushCallbacks())
            theirs = repo[repo.references[tracking].target]
            self.update(lambda r, head, theirs=theirs: _merge_build(r, head, theirs))
        raise LedgerError(f"could not push {self.branch} to {remote} after {attempts} tries")


    def _push_side_refs(self, remote: str, attempts: int) -> None:
        """Refs kept beside the ledger branch (fold predictions, for blending) travel with
        it, merged the same way when another runner pushed first."""
        for ref in SIDE_REFS:
            if ref != self.branch and ref in self.repo.references:
                Ledger(self.path, branch=ref).push(remote, attempts)


# Written by runners next to the ledger, off the default branch: see predictions_store.
SIDE_REFS = ("refs/gitramp/predictions",)


class _PushCallbacks(pygit2.RemoteCallbacks):
    def __init__(self):
        super().__init__()
        self.rejected: list[str] = []

    def push_update_reference(self, refname, message):
        if message:
            self.rejected.append(f"{refname}: {message}")

    def credentials(self, url, username_from_url, allowed_types):
        # A workflow pushes over HTTPS with the job's token, given to that step's
        # environment only (checkouts keep no credentials: persist-credentials: false).
        token = os.environ.get("GITRAMP_PUSH_TOKEN")
        if token and allowed_types & pygit2.enums.CredentialType.USERPASS_PLAINTEXT:
            return pygit2.UserPass("x-access-token", token)
        raise pygit2.Passthrough


def _merge_build(repo: pygit2.Repository, head: pygit2.Commit | None, theirs: pygit2.Commit):
    if head is None:
        return theirs.tree.id, [], "ledger: take the remote"  # nothing of ours yet
    if repo.descendant_of(head.id, theirs.id) or head.id == theirs.id:
        return None
    base_id = repo.merge_base(head.id, theirs.id)
    base = repo[base_id].tree if base_id else None
    index = repo.merge_trees(base, head.tree, theirs.tree) if base else \
        repo.merge_trees(repo[repo.TreeBuilder().write()], head.tree, theirs.tree)
    if index.conflicts is not None:
        raise LedgerError("the remote ledger conflicts with the local one (the same record "
                          "written differently); resolve by hand")
    return index.write_tree(repo), [theirs.id], "ledger: merge concurrent results"


def put_path(repo: pygit2.Repository, tree: pygit2.Tree | None, path: str,
             oid: pygit2.Oid | None, mode: int) -> pygit2.Oid:
    """A new tree equal to `tree` with `path` set to `oid` (or removed when None)."""
    return _put(repo, tree, path.split("/"), oid, mode)


def _put(repo, tree, parts: list[str], oid, mode) -> pygit2.Oid:
    tb = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
    name = parts[0]
    existing = tb.get(name)
    if len(parts) == 1:
        new, new_mode = oid, mode
    else:
        child = repo[existing.id] if existing is not None and \
            existing.filemode == FileMode.TREE else None
        new, new_mode = _put(repo, child, parts[1:], oid, mode), FileMode.TREE
        if len(repo[new]) == 0:
            new = None
    if new is None:
        if existing is not None:
            tb.remove(name)
    else:
        tb.insert(name, new, new_mode)
    return tb.write()


def is_final(record: dict | Result | None) -> bool:
    """Whether a record settles its version: everything but a rejection for quota or
    phase, which a later attempt of the same code may pass."""
    if record is None:
        return False
    status = record.status if isinstance(record, Result) else record.get("status")
    stage = record.stage if isinstance(record, Result) else record.get("stage")
    return not (status == REJECTED and stage in ("quota", "phase"))

