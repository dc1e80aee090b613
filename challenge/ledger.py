"""The ledger: results as YAML files committed to git, without a work tree.

Layout (see leaderboard_data/README.md): one file per scored submission version,
`leaderboard_data/<challenge>/<name>/<tree[:16]>-<scoring_hash[:8]>.yml`, holding
`Result.public_dict()`, written only for the team that owns the name (a record never
replaces another team's). A rejection is kept apart, keyed by the team it refused,
under `<challenge>/_rejected/<team>/<name>/`, so it can never replace a record.
Claims (who owns a name, which attempts a team has in flight) live in
`<challenge>/<name>/claim.yml` and `<challenge>/_claims/<team>.yml`; see
`challenge.claims`. The private ledger is a separate repository with the same relative
paths holding `Result.private_dict()`; it reaches the public one only through
`gitramp reveal`, under `leaderboard_data/<challenge>/private/`.

Every write is a commit made from trees, never from a checkout. A writer builds its
commit on the branch head it read, then moves the branch only if the head is still
that commit (libgit2 compares the old value under the ref lock); if another writer
moved it meanwhile, it rebuilds on top and tries again, so no result is ever lost.
`Ledger.update` is that compare-and-swap for any ref (the fold predictions use it too).

This module is the one definition of the layout, and its public reading API is what
every reader uses (the static site reads the ledger through it and nothing else):

- layout: `Key` (a record's path, file stem and version label), `record_path`,
  `state_path`, `version_label`, `PRIVATE_DIR`;
- reading: `open_ledger(root)` gives the committed `Ledger`, or a `FolderLedger` for a
  folder whose ledger is not committed; both list `record_files(challenge)`, find
  `private_file(...)` and read `state(challenge)` as a `Visibility`;
- record parsing: `parse_record(data, where)` (YAML to plain data) and
  `record_from(raw, where)` (plain data to a `Result`), with messages that name the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pygit2
import yaml
from pygit2.enums import FileMode

from challenge import repo as gitrepo
from challenge.acts import Act, Moderation, read_acts
from challenge.errors import GitrampError
from challenge.repo import LEDGER_ROOT
from challenge.tree_changes import tree_changes
from scorer.result import REJECTED, Result, ResultFormatError

__all__ = [
    # layout
    "ATTEMPTS_DIR", "CLAIM_FILE", "LEDGER_ROOT", "PRIVATE_DIR", "REJECTED_DIR",
    "RESERVED_NAMES", "STATE_FILE", "Key", "attempts_path", "claim_path", "path_segment",
    "record_path", "record_stem", "rejection_path", "state_path", "version_label",
    "VERIFICATIONS_DIR", "verification_path", "MODERATION_DIR",
    # reading
    "FolderLedger", "Ledger", "LedgerError", "RecordFile", "Visibility", "open_ledger",
    "Annulled", "annulled", "mark_annulled",
    "dump_record", "parse_record", "record_from", "yaml_files_at",
    # writing
    "SIDE_REFS", "ClaimConflict", "dump_yaml", "is_final", "load_yaml", "put_path",
]

STATE_FILE = "state.yml"
BLEND_FILE = "blend.yml"  # <challenge>/blend.yml: the blend summary (challenge.credit)
STATE_SCHEMA = 1
PRIVATE_DIR = "private"
RESERVED_NAMES = (PRIVATE_DIR,)
# Beside the submissions' folders; a leading "_" is never a valid submission name.
REJECTED_DIR = "_rejected"  # <challenge>/_rejected/<team>/<name>/<stem>.yml
ATTEMPTS_DIR = "_claims"  # <challenge>/_claims/<team>.yml: a team's attempts in flight
CLAIM_FILE = "claim.yml"  # <challenge>/<name>/claim.yml: who owns the name
# <challenge>/_verifications/<name>/<stem>/<when>-<runner>.yml: re-runs of a record
# (challenge.verify), beside the records and never in them: a rank never changes.
VERIFICATIONS_DIR = "_verifications"
# <challenge>/_moderation/<when>-<act>-<target>.yml: an organizer's act (challenge.moderation)
MODERATION_DIR = "_moderation"
SIGNATURE = ("gitramp", "gitramp@localhost")
ATTEMPTS = 50
REMOTE_PATIENCE = 600.0  # seconds a writer keeps trying on a busy remote (and ATTEMPTS tries)
BACKOFF_CAP = 10.0  # seconds, the longest pause between two tries on a remote
FETCH_ATTEMPTS = 5

try:  # the C parser reads a large ledger several times faster
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pyyaml built without libyaml
    _Loader = yaml.SafeLoader


# build(repo, head) -> (tree, extra parents, commit message), or None: nothing to write
Builder = Callable[[pygit2.Repository, pygit2.Commit | None],
                   tuple[pygit2.Oid, list[pygit2.Oid], str] | None]


class LedgerError(GitrampError):
    pass


class ClaimConflict(LedgerError):
    """Two copies of the ledger each took a claim the other did not see (the same name,
    or the same team's quota): merging them would let both stand."""


# ------------------------------------------------------------------------ layout
def version_label(name: str, tree: str) -> str:
    """How lineage and credit name a submission version: `<name>@<tree16>`."""
    return f"{name}@{tree[:16]}"


def record_stem(tree: str, scoring_hash: str) -> str:
    """A record's file name without `.yml`: `<tree16>-<hash8>`."""
    return f"{tree[:16]}-{scoring_hash[:8]}"


def record_path(challenge: str, name: str, stem: str, private: bool = False) -> str:
    """`leaderboard_data/<challenge>[/private]/<name>/<stem>.yml`."""
    folder = private_folder(challenge) if private else f"{LEDGER_ROOT}/{challenge}"
    return f"{folder}/{name}/{stem}.yml"


def private_folder(challenge: str) -> str:
    """`leaderboard_data/<challenge>/private`: the revealed private parts of records."""
    return f"{LEDGER_ROOT}/{challenge}/{PRIVATE_DIR}"


def state_path(challenge: str) -> str:
    return f"{LEDGER_ROOT}/{challenge}/{STATE_FILE}"


def blend_path(challenge: str) -> str:
    """Where `gitramp blend` records the challenge's blend summary (challenge.credit)."""
    return f"{LEDGER_ROOT}/{challenge}/{BLEND_FILE}"


_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def path_segment(text: str) -> str:
    """`text` as one folder or file name of the ledger: itself when it is a plain name,
    else a cleaned form and a hash of it (a team or a name from outside is never a path)."""
    if _SEGMENT.fullmatch(text) and not text.endswith((".", ".yml", ".lock")):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", text).strip("._-")[:40] or "x"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{cleaned}~{digest}"


def rejection_path(challenge: str, team: str, name: str, stem: str) -> str:
    """`leaderboard_data/<challenge>/_rejected/<team>/<name>/<stem>.yml`: a rejection,
    apart from the records, keyed by the team it refused."""
    return "/".join([LEDGER_ROOT, challenge, REJECTED_DIR, path_segment(team or "unknown"),
                     path_segment(name), f"{stem}.yml"])


def claim_path(challenge: str, name: str) -> str:
    """`leaderboard_data/<challenge>/<name>/claim.yml`: which team owns the name."""
    return f"{LEDGER_ROOT}/{challenge}/{name}/{CLAIM_FILE}"


def attempts_path(challenge: str, team: str) -> str:
    """`leaderboard_data/<challenge>/_claims/<team>.yml`: the team's attempts in flight."""
    return f"{LEDGER_ROOT}/{challenge}/{ATTEMPTS_DIR}/{path_segment(team)}.yml"


def verification_path(challenge: str, name: str, stem: str, when: str, runner: str) -> str:
    """Where one verification of the record `<challenge>/<name>/<stem>` is kept."""
    stamp = re.sub(r"[^0-9TZ]", "", when)
    return "/".join([LEDGER_ROOT, challenge, VERIFICATIONS_DIR, path_segment(name),
                     path_segment(stem), f"{stamp}-{path_segment(runner or 'runner')}.yml"])


@dataclass(frozen=True)
class Key:
    """What identifies one scored submission version."""

    challenge: str
    name: str
    tree: str
    scoring_hash: str

    @property
    def stem(self) -> str:
        return record_stem(self.tree, self.scoring_hash)

    @property
    def file(self) -> str:
        return f"{self.stem}.yml"

    @property
    def label(self) -> str:
        return version_label(self.name, self.tree)

    def path(self, private: bool = False) -> str:
        return record_path(self.challenge, self.name, self.stem, private)

    def rejection_path(self, team: str) -> str:
        return rejection_path(self.challenge, team, self.name, self.stem)

    @classmethod
    def of(cls, result: Result) -> Key:
        if not (result.tree and result.scoring_hash):
            raise LedgerError(f"result of {result.challenge}/{result.submission} lacks its "
                              "tree or scoring hash; only results of git submissions are "
                              "recorded")
        return cls(result.challenge, result.submission, result.tree, result.scoring_hash)


@dataclass(frozen=True)
class Visibility:
    """`state.yml` of a challenge: what the public may see, changed only by organizer
    commands. An absent file means closed and unrevealed."""

    code_visible: bool = False
    opened_at: str | None = None
    revealed: bool = False
    revealed_at: str | None = None
    schema: int = STATE_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {"schema": d.pop("schema"), **d}

    @classmethod
    def from_dict(cls, d: Any, where: str = STATE_FILE) -> Visibility:
        """Only a literal `true` makes code visible or scores revealed."""
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise LedgerError(f"{where}: expected a mapping {{code_visible, revealed, ...}}")
        if d.get("schema", STATE_SCHEMA) != STATE_SCHEMA:
            raise LedgerError(f"{where}: schema {d.get('schema')!r} is not supported; "
                              "upgrade gitramp")
        return cls(code_visible=d.get("code_visible") is True,
                   opened_at=_iso(d.get("opened_at")) or None,
                   revealed=d.get("revealed") is True,
                   revealed_at=_iso(d.get("revealed_at")) or None)


# ------------------------------------------------------------------- record parsing
def dump_yaml(data: dict) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).encode()


def load_yaml(data: bytes):
    return yaml.load(data, Loader=_Loader)  # noqa: S506 - a safe loader


def dump_record(data: dict, where: str) -> bytes:
    """`data` as a record's YAML, once it reloads with the ledger's own loader to the
    same data; else LedgerError, and nothing is written. Records hold text a submission
    chose (cleaned by the scorer): this is the check that no record is ever committed
    that a reader would refuse or read differently."""
    blob = dump_yaml(data)
    try:
        again = parse_record(blob, where)
    except LedgerError as e:
        raise LedgerError(f"{where}: refusing to write a record that does not read back: "
                          f"{e}") from None
    if not _same(again, _plain(data)):
        raise LedgerError(f"{where}: refusing to write a record that reads back as other "
                          "data than was written")
    return blob


def _same(a: Any, b: Any) -> bool:
    """Equal as plain data, NaN equal to NaN (a score may be NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and a == b


def parse_record(data: bytes, where: str) -> Any:
    """A ledger file's YAML as plain data (an unquoted timestamp becomes its ISO text)."""
    try:
        return _plain(load_yaml(data))
    except (yaml.YAMLError, RecursionError, UnicodeError, ValueError) as e:
        raise LedgerError(f"{where}: not valid YAML ({e}); the ledger is written by runners "
                          "only, restore this file from git history") from None


def record_from(raw: Any, where: str) -> Result:
    """A parsed ledger record as a `Result`, or an error naming the file."""
    try:
        return Result.from_dict(raw)
    except (ResultFormatError, TypeError, KeyError, ValueError, AttributeError) as e:
        raise LedgerError(f"{where}: not a ledger record ({e}); the ledger is written by "
                          "runners only, restore this file from git history") from None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return _iso(value)


def _iso(value: Any) -> str:
    """YAML may hand back a datetime for an unquoted timestamp; readers want text."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


@dataclass(frozen=True)
class RecordFile:
    """One record file of a ledger, located but not read."""

    name: str  # the submission
    stem: str  # the file name without `.yml`: <tree16>-<hash8>
    ident: str  # changes whenever the content does (a blob id, or path, size and mtime)
    where: str  # for messages
    fetch: Callable[[], bytes]


@dataclass
class Additions:
    """The records a challenge's ledger folder gained (`Ledger.records_added`): public
    records and rejections as `record_files` gives them, and the revealed private parts
    by (submission, stem)."""

    records: list[CommittedRecord]
    private: dict[tuple[str, str], CommittedRecord]


class Ledger:
    """One ledger branch of one repository (public: the default branch; or private)."""

    def __init__(self, path: str | Path, *, branch: str | None = None, create: bool = False):
        self.path = Path(path)
        if create and not (self.path / ".git").exists() and not (self.path / "HEAD").exists():
            self.path.mkdir(parents=True, exist_ok=True)
            pygit2.init_repository(str(self.path), initial_head="main")
        self._local = threading.local()
        self._remote_lock = threading.Lock()
        # the environment variable holding this ledger's own push token, sent only over
        # https to the host of `token_url` (the private ledger's remote); None: the job's
        self.token_env: str | None = None
        self.token_url: str | None = None
        self.skipped: dict[str, str] = {}  # records() could not read these: {path: why}
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

    def entries(self, challenge: str | None = None,
                trees: dict | None = None) -> dict[str, pygit2.Oid]:
        """{path: blob id} of every public record, rejections included (claims are not
        records), read from trees only (no blob read). `trees`: see `entries_at`."""
        head = self.head()
        return entries_at(self.repo, head.tree if head else None, challenge, trees)

    def has(self, key: Key) -> bool:
        return self.read(key.path()) is not None

    def read(self, path: str) -> dict | None:
        head = self.head()
        data = gitrepo.blob_at(self.repo, head.tree, path) if head else None
        return parse_record(data, path) if data is not None else None

    def records(self, challenge: str | None = None) -> list[Result]:
        """Every public record (of `challenge`), rejections included, an annulled one
        marked (`Annulled`). A file that does not read as a record
        (not YAML its loader accepts, not a result) is skipped and noted in `skipped`
        ({path: why}) for the caller to report: one bad file never stops the rest of the
        ledger from being read."""
        repo = self.repo
        out = []
        for path, oid in self.entries(challenge).items():
            try:
                out.append(record_from(parse_record(repo[oid].data, path), path))
            except LedgerError as e:
                self.skipped[path] = str(e)
        head = self.head()
        return mark_annulled(repo, head.tree if head else None, out)

    def state(self, challenge: str) -> Visibility:
        path = state_path(challenge)
        return Visibility.from_dict(self.read(path), f"{path} (committed)")

    def record_files(self, challenge: str, trees: dict | None = None) -> list[RecordFile]:
        """Every public record of `challenge` (rejections too), located on the branch,
        not read. `trees`: see `entries_at`."""
        head = self.head()
        repo = self.repo
        return [CommittedRecord(repo, name, stem, oid, folder, file)
                for folder, file, oid, name, stem in _records_at(
                    repo, head.tree if head else None, challenge, trees)]

    def private_file(self, challenge: str, name: str, stem: str) -> CommittedRecord | None:
        """The revealed private record beside a public one, if `reveal` published it."""
        head = self.head()
        path = record_path(challenge, name, stem, private=True)
        try:
            entry = head.tree[path] if head else None
        except KeyError:
            return None
        if entry is None or entry.type_str != "blob":
            return None
        return CommittedRecord.of_submission(self.repo, private_folder(challenge), name, stem,
                                             str(entry.id))

    def verification_files(self, challenge: str) -> list[RecordFile]:
        """Every verification of a record of `challenge` (`stem`: the record's)."""
        head = self.head()
        folder = gitrepo.subtree(self.repo, head.tree, "/".join(
            [LEDGER_ROOT, challenge, VERIFICATIONS_DIR])) if head else None
        out = []
        for name in folder if folder is not None else ():
            if name.filemode != FileMode.TREE:
                continue
            for stem in self.repo[name.id]:
                if stem.filemode != FileMode.TREE:
                    continue
                for f in self.repo[stem.id]:
                    if f.name.endswith(".yml") and f.filemode == FileMode.BLOB:
                        path = "/".join([LEDGER_ROOT, challenge, VERIFICATIONS_DIR, name.name,
                                         stem.name, f.name])
                        out.append(self._file(name.name, stem.name, path, f.id))
        return out

    def records_added(self, challenge: str, since: str, now: str) -> Additions | None:
        """What the challenge's folder gained between its git trees `since` and `now`,
        when new public records, rejections and private parts are all it gained (a new
        name's claim and the attempts in flight, which no reader of records reads, may
        change too); None when anything else changed: a record changed or went, an act,
        a verification, the state, a selection, or a tree is missing. A reader holding
        what it read of `since` then reads only the new records."""
        repo = self.repo
        root = f"{LEDGER_ROOT}/{challenge}"
        out = Additions([], {})
        try:
            changes = list(tree_changes(repo, since, now, LEDGER_DEPTH))
        except (KeyError, ValueError, TypeError, pygit2.GitError):
            return None
        for path, old, new in changes:
            parts = path.split("/")
            if parts[0] == ATTEMPTS_DIR or (len(parts) == 2 and parts[1] == CLAIM_FILE
                                            and not parts[0].startswith("_")):
                continue
            if old is not None or new is None:  # changed or gone
                return None
            file, mode = parts[-1], new.filemode
            record = _is_record_file(file, mode)
            if len(parts) == 2 and not parts[0].startswith("_") and parts[0] != PRIVATE_DIR:
                if record:
                    out.records.append(CommittedRecord(repo, parts[0], file[:-4], str(new.id),
                                                       f"{root}/{parts[0]}", file))
            elif len(parts) == 3 and parts[0] == PRIVATE_DIR:
                # any blob: the private parts are listed so (the site's private index)
                if file.endswith(".yml") and mode in (FileMode.BLOB, FileMode.BLOB_EXECUTABLE):
                    out.private[(parts[1], file[:-4])] = CommittedRecord.of_submission(
                        repo, private_folder(challenge), parts[1], file[:-4], str(new.id))
            elif len(parts) == 4 and parts[0] == REJECTED_DIR:
                if record:
                    out.records.append(CommittedRecord(
                        repo, parts[2], f"{file[:-4]}.rejected.{parts[1]}", str(new.id),
                        f"{root}/{'/'.join(parts[:3])}", file))
            else:
                return None
        return out

    def _file(self, name: str, stem: str, path: str, oid: pygit2.Oid) -> RecordFile:
        repo = self.repo
        return RecordFile(name, stem, f"blob:{oid}", f"{path} (committed)",
                          lambda: repo[oid].data)

    # ------------------------------------------------------------------ writing
    def update(self, build: Builder) -> str | None:
        """Commit what `build(repo, head)` returns, (tree, extra parents, message), on the
        branch, compare-and-swap; `build` is called again on the new head after a race.
        `build` returns None when there is nothing to write."""
        repo = self.repo
        for attempt in range(ATTEMPTS):
            ref = repo.references.get(self.branch)
            head = repo[ref.target].peel(pygit2.Commit) if ref is not None else None
            made = _commit_on(repo, head, build)
            if made is None:
                return None
            commit, message = made
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

    def record(self, result: Result, *, private: bool = False,
               remote: str | None = None) -> str:
        """Write `result` (its public part, or with `private` its private part) at its
        key's path, or a rejection at its team's rejection path; returns the path. With
        `remote`, the commit is made on the remote at once (`update_remote`).

        A record never replaces a record of another team (LedgerError), and a rejection
        never replaces a record: it has a path of its own. A record of a version replaces
        the same team's rejection of it (a quota or phase refusal passed later)."""
        key = Key.of(result)
        rejected = result.status == REJECTED and not private
        path = key.rejection_path(result.team or "") if rejected else key.path()
        data = result.private_dict() if private else result.public_dict()
        verb = "private scores of" if private else "result of"
        files: dict[str, bytes | None] = {path: dump_record(data, path)}
        if not rejected and not private:
            files[key.rejection_path(result.team or "")] = None
        message = (f"ledger: {verb} {key.challenge}/{key.name} by {result.team} "
                   f"({result.status})\n\ntree {key.tree}\nscoring hash {key.scoring_hash}\n")

        def build(repo, head):
            if not rejected and head is not None:
                _refuse_other_team(repo, head.tree, path, result.team)
            tree = head.tree if head else None
            for p, blob in sorted(files.items()):
                if blob is None and (tree is None or gitrepo.blob_at(repo, tree, p) is None):
                    continue
                oid = repo.create_blob(blob) if blob is not None else None
                tree = repo[put_path(repo, tree, p, oid, FileMode.BLOB)]
            return tree.id, [], message
        self._commit(build, remote)
        return path

    def record_rejections(self, results: list[Result], *,
                          remote: str | None = None) -> list[str | None]:
        """Write these rejections in one commit (one round trip with `remote`, however
        many there are); for each, its path, or None when the ledger holds the same
        rejection already (status and reason), written by this runner or another."""
        if not results:
            return []
        paths = [Key.of(r).rejection_path(r.team or "") for r in results]
        blobs = [dump_record(r.public_dict(), p) for r, p in zip(results, paths, strict=True)]
        written: list[str | None] = []

        def build(repo, head):
            written.clear()
            tree = head.tree if head else None
            for r, path, blob in zip(results, paths, blobs, strict=True):
                old = gitrepo.blob_at(repo, tree, path) if tree is not None else None
                old = load_yaml(old) if old is not None else None
                if isinstance(old, dict) and old.get("status") == REJECTED and \
                        old.get("reason") == r.reason:
                    written.append(None)
                    continue
                tree = repo[put_path(repo, tree, path, repo.create_blob(blob), FileMode.BLOB)]
                written.append(path)
            if not any(written):
                return None
            names = "\n".join(f"{r.challenge}/{r.submission} by {r.team}: tree {r.tree}"
                              for r, w in zip(results, written, strict=True) if w)
            return tree.id, [], f"ledger: {sum(map(bool, written))} rejection(s)\n\n{names}\n"
        self._commit(build, remote)
        return written

    def _commit(self, build: Builder, remote: str | None) -> None:
        if remote:
            self.update_remote(build, remote)
        else:
            self.update(build)

    def set_state(self, challenge: str, state: Visibility, message: str) -> str | None:
        return self.write({state_path(challenge): dump_yaml(state.to_dict())}, message)

    # ------------------------------------------------------------------ pushing
    def push(self, remote: str = "origin", attempts: int = 10) -> None:
        """Push the branch, compare-and-swap on the remote: fetch its head, merge it here
        (ledger files never conflict: each writer adds its own paths; claims made apart
        from each other do, on purpose: see `_merge_build`), and move the remote branch
        only if it is still at the head fetched; else fetch and merge again."""
        for _ in range(attempts):
            theirs = self._fetch(remote)
            head = self._merge_in(theirs)
            if head is None or (theirs is not None and head.id == theirs.id) or \
                    self._swap_remote(remote, head.id, theirs.id if theirs else None):
                self._push_side_refs(remote, attempts)
                return
            time.sleep(random.uniform(0, 0.05))
        raise LedgerError(f"could not push {self.branch} to {remote} after {attempts} tries")

    def update_remote(self, build: Builder, remote: str) -> str | None:
        """`update`, with the compare-and-swap made on the remote itself: `build` sees the
        remote's head merged with this branch, and its commit lands on the remote only if
        the remote did not move meanwhile (else it is built again on the new head); this
        branch then follows. Claims are made so, before any scoring starts."""
        repo = self.repo
        started = time.monotonic()
        with self._remote_lock:
            for attempt in itertools.count(1):
                tried = time.monotonic()
                theirs = self._fetch(remote)
                base = self._merged(theirs)
                made = _commit_on(repo, base, build)
                if made is None:
                    return None
                commit, _ = made
                if self._swap_remote(remote, commit, theirs.id if theirs else None):
                    self._merge_in(repo[commit])
                    return str(commit)
                if attempt >= ATTEMPTS and time.monotonic() - started > REMOTE_PATIENCE:
                    break
                # Full jitter, growing from the time one try takes here: writers that keep
                # colliding spread out. A fixed short pause let the quickest writer win
                # nearly every race, and a slower one lost a scored result after 50 tries.
                took = time.monotonic() - tried
                time.sleep(random.uniform(0, min(BACKOFF_CAP, took * 2 ** min(attempt, 8))))
        raise LedgerError(f"{remote}: could not update {self.branch} in {attempt} tries over "
                          f"{time.monotonic() - started:.0f} s; too many concurrent writers, "
                          "try again")

    def _fetch(self, remote: str) -> pygit2.Commit | None:
        """The remote's head of the branch, fetched when missing here (None when the
        remote has no such branch yet)."""
        for attempt in range(FETCH_ATTEMPTS):
            try:
                return self._fetch_once(remote)
            except pygit2.GitError:
                # a remote on this machine: another writer's temporary ref may vanish
                # while its refs are listed; over a network, a dropped connection
                if attempt + 1 == FETCH_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.05 * (attempt + 1)))
        return None

    def _fetch_once(self, remote: str) -> pygit2.Commit | None:
        repo = self.repo
        rem = repo.remotes[remote]
        heads = {h.name: h.oid for h in rem.list_heads(callbacks=self._callbacks())}
        oid = heads.get(self.branch)
        if oid is None:
            return None
        if oid not in repo:
            tracking = f"refs/remotes/{remote}/{self.branch.removeprefix('refs/heads/')}"
            rem.fetch([f"+{self.branch}:{tracking}"], callbacks=self._callbacks())
            if oid not in repo:  # it moved on meanwhile: take what the fetch brought
                oid = repo.references[tracking].target
        return repo[oid].peel(pygit2.Commit)

    def _merged(self, theirs: pygit2.Commit | None) -> pygit2.Commit | None:
        """This branch's head merged with `theirs`, as a commit on no branch (or either of
        them when one holds the other)."""
        repo = self.repo
        head = self.head()
        if theirs is None or head is None:
            return head or theirs
        if head.id == theirs.id or repo.descendant_of(theirs.id, head.id):
            return theirs
        if repo.descendant_of(head.id, theirs.id):
            return head
        tree, extra, message = _merge_build(repo, head, theirs)
        sig = pygit2.Signature(*SIGNATURE)
        return repo[repo.create_commit(None, sig, sig, message, tree, [head.id, *extra])]

    def _merge_in(self, theirs: pygit2.Commit | None) -> pygit2.Commit | None:
        """Bring `theirs` into this branch (fast-forward when it holds the branch, else a
        merge commit), compare-and-swap; returns the new head."""
        repo = self.repo
        if theirs is None:
            return self.head()
        for _ in range(ATTEMPTS):
            ref = repo.references.get(self.branch)
            if ref is None:
                try:
                    repo.references.create(self.branch, theirs.id)
                    return theirs
                except (pygit2.GitError, pygit2.AlreadyExistsError, ValueError):
                    continue
            if ref.target == theirs.id or repo.descendant_of(ref.target, theirs.id):
                return repo[ref.target].peel(pygit2.Commit)
            if not repo.descendant_of(theirs.id, ref.target):
                self.update(lambda r, head: _merge_build(r, head, theirs))
                return self.head()
            try:
                ref.set_target(theirs.id, "ledger: fast-forward to the remote")
                return theirs
            except (pygit2.GitError, ValueError, OSError):
                time.sleep(random.uniform(0, 0.01))
        raise LedgerError(f"{self.path}: could not bring {self.branch} up to date")

    def _swap_remote(self, remote: str, new: pygit2.Oid, old: pygit2.Oid | None) -> bool:
        """Move the remote's branch from `old` to `new` only if it is still at `old`.

        Over the network the server decides under its ref lock (a push from an old head
        is not a fast-forward); a remote on this machine is updated here the same way,
        because libgit2's local transport would overwrite the ref without comparing."""
        repo = self.repo
        rem = repo.remotes[remote]
        own = f"refs/gitramp/outgoing/{os.getpid()}-{threading.get_ident()}-" \
              f"{random.getrandbits(32):08x}"
        repo.references.create(own, new, force=True)
        try:
            local = _local_path(rem.url)
            if local is None:
                callbacks = self._callbacks()
                try:
                    rem.push([f"{own}:{self.branch}"], callbacks=callbacks)
                except pygit2.GitError:
                    return False
                return not callbacks.rejected
            try:
                rem.push([f"+{own}:{own}"], callbacks=self._callbacks())  # the objects only
            except pygit2.GitError:
                # another writer's temporary ref vanished while this push listed the
                # remote's refs: nothing moved, the caller tries again
                return False
            target = pygit2.Repository(local)
            try:
                ref = target.references.get(self.branch)
                if old is None:
                    if ref is not None:
                        return False
                    target.references.create(self.branch, new)
                    return True
                if ref is None or ref.target != old:
                    return False
                ref.set_target(new, "ledger: compare-and-swap push")
                return True
            except (pygit2.GitError, pygit2.AlreadyExistsError, ValueError, OSError):
                return False
            finally:
                with contextlib.suppress(KeyError, pygit2.GitError):
                    target.references.delete(own)
        finally:
            with contextlib.suppress(KeyError, pygit2.GitError):
                repo.references.delete(own)

    def _push_side_refs(self, remote: str, attempts: int) -> None:
        """Refs kept beside the ledger branch (fold predictions, for blending) travel with
        it, merged the same way when another runner pushed first."""
        for ref in SIDE_REFS:
            if ref != self.branch and ref in self.repo.references:
                side = Ledger(self.path, branch=ref)
                side.token_env, side.token_url = self.token_env, self.token_url
                side.push(remote, attempts)

    def _callbacks(self) -> _PushCallbacks:
        return _PushCallbacks(self.token_env, self.token_url)


class Annulled(Result):
    """A record an organizer annulled (`challenge.moderation`): it reads as the record
    it is, and no board or blend counts it. `act`: the act's file, {by, at, reason,
    ...}."""

    act: dict


def yaml_files_at(repo: pygit2.Repository, tree: pygit2.Tree | None,
                  folder: str) -> list[tuple[str, Any]]:
    """[(path, content)] of the `.yml` files directly in `folder` of a commit's tree, by
    name; a file that does not read as YAML is left out."""
    sub = gitrepo.subtree(repo, tree, folder) if tree is not None else None
    out = []
    for e in sub if sub is not None else ():
        if e.filemode != FileMode.BLOB or not e.name.endswith(".yml"):
            continue
        path = f"{folder}/{e.name}"
        try:
            out.append((path, parse_record(repo[e.id].data, path)))
        except LedgerError:
            continue
    return out


def annulled(result: Result, act: Act) -> Annulled:
    """`result` marked as annulled by `act` (its file's fields and path)."""
    out = Annulled(**{f.name: getattr(result, f.name) for f in fields(Result)})
    out.act = {**act.to_dict(), "path": act.path}
    return out


def mark_annulled(repo: pygit2.Repository, tree: pygit2.Tree | None,
                  results: list[Result]) -> list[Result]:
    """`results` (of any challenges), each one an organizer annulled as `Annulled`: the
    acts read by challenge.acts, the one reader of them, so that every surface
    (boards, site, CLI, quota) agrees on what is annulled and by which act."""
    acts: dict[str, Moderation] = {}
    out = []
    for r in results:
        if r.challenge not in acts:
            acts[r.challenge] = read_acts(yaml_files_at(
                repo, tree, f"{LEDGER_ROOT}/{r.challenge}/{MODERATION_DIR}"))
        act = acts[r.challenge].annulment(r.submission, record_stem(r.tree or "",
                                                                     r.scoring_hash or ""))
        out.append(annulled(r, act) if act is not None and r.status != REJECTED else r)
    return out


# Written by runners next to the ledger, off the default branch: see predictions_store.
SIDE_REFS = ("refs/gitramp/predictions",)


def entries_at(repo: pygit2.Repository, tree: pygit2.Tree | None,
               challenge: str | None = None, trees: dict | None = None
               ) -> dict[str, pygit2.Oid]:
    """{path: blob id} of the public records (and rejections) in a commit's tree.

    `trees`: a cache a caller keeps between calls, {tree id: [(file name, blob id)]}
    of the record folders already listed (a tree's content never changes): a big
    ledger's ten thousand folders are then not looked up again; its blob ids are hex
    strings, which the repository takes as well as ids."""
    return {f"{folder}/{file}": oid
            for folder, file, oid, _, _ in _records_at(repo, tree, challenge, trees)}


def _records_at(repo: pygit2.Repository, tree: pygit2.Tree | None, challenge: str | None,
                trees: dict | None):
    """(folder, file name, blob id, submission, stem) of each public record (and
    rejection) in a commit's tree: `entries_at`'s walk, each record's submission and
    stem named as the walk finds them (a big ledger's ten thousand paths are not split
    again). A rejection's stem names its team too (`<tree16>-<hash8>.rejected.<team>`),
    so it never equals a record's."""
    root = gitrepo.subtree(repo, tree, LEDGER_ROOT) if tree is not None else None
    if root is None:
        return

    def files(folder: pygit2.Object) -> list:
        if trees is not None:
            key = str(folder.id)
            listed = trees.get(key)
            if listed is None:
                listed = trees[key] = [(f.name, str(f.id)) for f in repo[folder.id]
                                       if _is_record_file(f.name, f.filemode)]
            return listed
        return [(f.name, f.id) for f in repo[folder.id] if _is_record_file(f.name, f.filemode)]

    for c in root:
        if c.filemode != FileMode.TREE or (challenge and c.name != challenge):
            continue
        for n in repo[c.id]:
            if n.filemode != FileMode.TREE or n.name == PRIVATE_DIR:
                continue
            where = f"{LEDGER_ROOT}/{c.name}/{n.name}"
            if n.name == REJECTED_DIR:
                for team in repo[n.id]:
                    for name in repo[team.id] if team.filemode == FileMode.TREE else ():
                        if name.filemode == FileMode.TREE:
                            folder = f"{where}/{team.name}/{name.name}"
                            for file, oid in files(name):
                                yield (folder, file, oid, name.name,
                                       f"{file[:-4]}.rejected.{team.name}")
            elif not n.name.startswith("_"):
                for file, oid in files(n):
                    yield where, file, oid, n.name, file[:-4]


def _is_record_file(name: str, mode: int) -> bool:
    """Whether a file of a submission's (or a rejection's) folder is one of its records."""
    return name.endswith(".yml") and name != CLAIM_FILE and mode == FileMode.BLOB


LEDGER_DEPTH = 4  # the deepest file of a challenge's folder: _rejected/<team>/<name>/<file>


class CommittedRecord:
    """A committed record file (`folder`/`file` in the tree), read as a RecordFile is:
    made for each of ten thousand records a build, it works out its path only for a
    message."""

    __slots__ = ("repo", "name", "stem", "oid", "folder", "file", "ident")

    def __init__(self, repo: pygit2.Repository, name: str, stem: str, oid, folder: str,
                 file: str):
        self.repo, self.name, self.stem, self.oid = repo, name, stem, oid
        self.folder, self.file = folder, file
        self.ident = f"blob:{oid}"

    @classmethod
    def of_submission(cls, repo: pygit2.Repository, records: str, name: str, stem: str,
                      oid) -> CommittedRecord:
        """The record `<records>/<name>/<stem>.yml`: `records` holds a folder a
        submission (the challenge's, or its `private_folder`)."""
        return cls(repo, name, stem, oid, f"{records}/{name}", f"{stem}.yml")

    @property
    def where(self) -> str:
        return f"{self.folder}/{self.file} (committed)"

    def fetch(self) -> bytes:
        return self.repo[self.oid].data


def _name_and_stem(path: str) -> tuple[str, str]:
    """(submission folder, stem) of a record's path; a rejection's stem names its team
    too (`<tree16>-<hash8>.rejected.<team>`), so it never equals a record's."""
    parts = path.split("/")
    stem = parts[-1].removesuffix(".yml")
    if len(parts) == 6 and parts[2] == REJECTED_DIR:
        return parts[4], f"{stem}.rejected.{parts[3]}"
    return parts[-2], stem


class FolderLedger:
    """The ledger as files of a folder, for a repository whose ledger is not committed
    (or a folder that is no git repository): read only, same layout."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def state(self, challenge: str) -> Visibility:
        path = self.root / state_path(challenge)
        if not path.is_file():
            return Visibility()
        try:
            raw = load_yaml(path.read_bytes())
        except yaml.YAMLError as e:
            raise LedgerError(f"{path}: not valid YAML ({e}); fix or remove it") from None
        return Visibility.from_dict(_plain(raw), str(path))

    def record_files(self, challenge: str) -> list[RecordFile]:
        folder = self.root / LEDGER_ROOT / challenge
        if not folder.is_dir():
            return []
        out = [self._file(f) for sub in sorted(folder.iterdir())
               if sub.is_dir() and sub.name != PRIVATE_DIR and not sub.name.startswith("_")
               for f in sorted(sub.glob("*.yml")) if f.name != CLAIM_FILE]
        rejected = folder / REJECTED_DIR
        if rejected.is_dir():
            out += [self._file(f) for f in sorted(rejected.glob("*/*/*.yml"))]
        return out

    def private_file(self, challenge: str, name: str, stem: str) -> RecordFile | None:
        f = self.root / record_path(challenge, name, stem, private=True)
        return self._file(f) if f.is_file() else None

    def verification_files(self, challenge: str) -> list[RecordFile]:
        folder = self.root / LEDGER_ROOT / challenge / VERIFICATIONS_DIR
        out = []
        for f in sorted(folder.glob("*/*/*.yml")) if folder.is_dir() else ():
            st = f.stat()
            out.append(RecordFile(f.parent.parent.name, f.parent.name,
                                  f"file:{f}:{st.st_size}:{st.st_mtime_ns}", str(f),
                                  f.read_bytes))
        return out

    def _file(self, f: Path) -> RecordFile:
        st = f.stat()
        name, stem = _name_and_stem(f.relative_to(self.root).as_posix())
        return RecordFile(name, stem, f"file:{f}:{st.st_size}:{st.st_mtime_ns}",
                          str(f), f.read_bytes)


def open_ledger(root: str | Path) -> Ledger | FolderLedger:
    """The committed ledger when the repository at `root` has one, else its files."""
    try:
        ledger = Ledger(root)
        head = ledger.head()
    except (GitrampError, KeyError, ValueError):
        return FolderLedger(root)
    if head is None or LEDGER_ROOT not in head.tree:
        return FolderLedger(root)
    return ledger


class _PushCallbacks(pygit2.RemoteCallbacks):
    def __init__(self, token_env: str | None = None, token_url: str | None = None):
        super().__init__()
        self.rejected: list[str] = []
        self.token_env, self.token_url = token_env, token_url

    def push_update_reference(self, refname, message):
        if message:
            self.rejected.append(f"{refname}: {message}")

    def credentials(self, url, username_from_url, allowed_types):
        # A workflow pushes over HTTPS with the job's token, given to that step's
        # environment only (checkouts keep no credentials: persist-credentials: false).
        # The token goes to the host it was issued for and nowhere else, over HTTPS only:
        # a remote (or a redirect) pointing elsewhere is answered with no credentials.
        # A ledger with a token of its own (the private ledger's remote) sends it to that
        # remote's host only, over HTTPS only, and never the job's token.
        if self.token_env:
            token = os.environ.get(self.token_env)
            if token and allowed_types & pygit2.enums.CredentialType.USERPASS_PLAINTEXT \
                    and self.same_https_host(url, self.token_url or ""):
                return pygit2.UserPass("x-access-token", token)
            raise pygit2.Passthrough
        token = os.environ.get("GITRAMP_PUSH_TOKEN")
        if token and allowed_types & pygit2.enums.CredentialType.USERPASS_PLAINTEXT \
                and self.token_host_matches(url):
            return pygit2.UserPass("x-access-token", token)
        raise pygit2.Passthrough

    @staticmethod
    def same_https_host(url: str, configured: str) -> bool:
        """Whether `url` and `configured` are both https on one host and port."""
        from urllib.parse import urlsplit

        try:
            a, b = urlsplit(url), urlsplit(configured)
            return a.scheme == b.scheme == "https" and bool(a.hostname) and \
                (a.hostname, a.port or 443) == (b.hostname, b.port or 443)
        except ValueError:
            return False

    @staticmethod
    def token_host_matches(url: str) -> bool:
        """Whether `url` is https on the token's host: GITRAMP_PUSH_HOST (host[:port]),
        else the host of GITHUB_SERVER_URL when that is https, else github.com."""
        from urllib.parse import urlsplit

        def host_port(netloc: str) -> tuple[str, int] | None:
            try:
                parts = urlsplit(f"//{netloc}")
                return (parts.hostname or "").lower(), parts.port or 443
            except ValueError:
                return None

        configured = os.environ.get("GITRAMP_PUSH_HOST", "").strip()
        server = os.environ.get("GITHUB_SERVER_URL", "").strip()
        if configured:
            allowed = host_port(urlsplit(configured).netloc if "://" in configured
                                else configured)
        elif server:
            allowed = host_port(urlsplit(server).netloc) if server.startswith("https://") \
                else None
        else:
            allowed = ("github.com", 443)
        try:
            target = urlsplit(url)
        except ValueError:
            return False
        return bool(allowed and allowed[0] and target.scheme == "https"
                    and host_port(target.netloc.rpartition("@")[2]) == allowed)


def _claim_files(repo: pygit2.Repository, tree: pygit2.Tree | None) -> dict[str, pygit2.Oid]:
    """{path: blob id} of every claim file (names' claim.yml, teams' attempts)."""
    out: dict[str, pygit2.Oid] = {}
    root = gitrepo.subtree(repo, tree, LEDGER_ROOT) if tree is not None else None
    for c in root if root is not None else ():
        if c.filemode != FileMode.TREE:
            continue
        for n in repo[c.id]:
            if n.filemode != FileMode.TREE or n.name in (PRIVATE_DIR, REJECTED_DIR):
                continue
            folder = repo[n.id]
            for f in folder if n.name == ATTEMPTS_DIR else \
                    [e for e in folder if e.name == CLAIM_FILE]:
                out[f"{LEDGER_ROOT}/{c.name}/{n.name}/{f.name}"] = f.id
    return out


def _check_claims(repo: pygit2.Repository, base: pygit2.Tree | None, ours: pygit2.Tree,
                  theirs: pygit2.Tree) -> None:
    """ClaimConflict when both sides of a merge changed one claim file each their own
    way: each claim was checked against a ledger that lacked the other, so both cannot
    stand (a claim is decided on one shared ledger: see `Ledger.update_remote`)."""
    common, mine, yours = (_claim_files(repo, t) for t in (base, ours, theirs))
    clash = sorted(p for p in set(mine) | set(yours)
                   if mine.get(p) != common.get(p) and yours.get(p) != common.get(p)
                   and mine.get(p) != yours.get(p))
    if clash:
        raise ClaimConflict("claims were taken on two copies of the ledger at once ("
                            + ", ".join(clash[:3]) + "); claims are decided on the shared "
                            "ledger: score with --push REMOTE so each runner claims there "
                            "before scoring")


def _local_path(url: str) -> str | None:
    """The folder of a remote on this machine, or None for one reached over a network."""
    if url.startswith("file://"):
        return url.removeprefix("file://")
    if "://" in url or (":" in url.split("/", 1)[0] and not Path(url).exists()):
        return None
    return url if Path(url).exists() else None


def _refuse_other_team(repo: pygit2.Repository, tree: pygit2.Tree, path: str,
                       team: str | None) -> None:
    """LedgerError when `path` holds a record of a team other than `team`."""
    data = gitrepo.blob_at(repo, tree, path)
    if data is None:
        return
    try:
        old = load_yaml(data)
    except yaml.YAMLError:
        old = None
    owner = old.get("team") if isinstance(old, dict) else None
    if owner is not None and owner != team and old.get("status") != REJECTED:
        raise LedgerError(f"{path} holds a record of team {owner}; a record of team {team} "
                          "never replaces it")


def _commit_on(repo: pygit2.Repository, base: pygit2.Commit | None,
               build: Builder) -> tuple[pygit2.Oid, str] | None:
    """The commit `build` makes on `base` (not yet on any branch) and its message; None
    when it has nothing to write or writes the tree `base` already has."""
    built = build(repo, base)
    if built is None:
        return None
    tree, extra, message = built
    if base is not None and tree == base.tree.id and not extra:
        return None
    sig = pygit2.Signature(*SIGNATURE)
    parents = ([base.id] if base else []) + list(extra)
    return repo.create_commit(None, sig, sig, message, tree, parents), message


def _merge_build(repo: pygit2.Repository, head: pygit2.Commit | None, theirs: pygit2.Commit):
    if head is None:
        return theirs.tree.id, [], "ledger: take the remote"  # nothing of ours yet
    if repo.descendant_of(head.id, theirs.id) or head.id == theirs.id:
        return None
    base_id = repo.merge_base(head.id, theirs.id)
    base = repo[base_id].tree if base_id else None
    _check_claims(repo, base, head.tree, theirs.tree)
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

