"""One submission from ref to ledger: validate, claim, score, record. Shared by
`gitramp score` and `gitramp scan`.

Between validation and scoring, the submission's name and one attempt of its team's
quota are claimed in one compare-and-swap commit on the shared ledger (the push remote
when there is one), checked again against the head that commit is built on
(`challenge.claims`). A runner whose scoring fails gives the attempt back.

The kit a submission is scored against is the default branch's (trusted) copy; the
submission's files are exported from git to a temporary folder, never checked out.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import secrets
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pygit2
from pygit2.enums import FileMode

from challenge import claims as claims_mod
from challenge import data_manifest, plagiarism, predictions_store, sealing
from challenge import lineage as lineage_mod
from challenge import repo as gitrepo
from challenge import submission as subs
from challenge import validate as val
from challenge.credit import blend_challenges
from challenge.kit import Kit
from challenge.ledger import (
    ClaimConflict,
    Key,
    Ledger,
    LedgerError,
    attempts_path,
    claim_path,
    entries_at,
    is_final,
    load_yaml,
    parse_record,
    put_path,
    record_from,
)
from challenge.phases import iso, utcnow
from challenge.provenance import collect as collect_provenance
from challenge.repo import KitLocation
from scorer.backends import get_backend
from scorer.result import REJECTED, SCORED, Result


@dataclass
class Options:
    backend: str = "local"
    data_dir: str | None = None  # may hold {challenge}: hidden data of each kit
    # the hidden data's expected hash (challenge.data_manifest): "sha256:..." or a
    # manifest file, for every kit or, as "<challenge>=<value>", for one
    data_hash: list[str] = field(default_factory=list)
    # a repository path, or the URL of a remote every runner pushes to (then kept in a
    # local copy, `private_copy`, default: under the user's cache folder)
    private_ledger: Path | str | None = None
    private_copy: Path | None = None
    private_token_env: str = "GITRAMP_PRIVATE_TOKEN"  # the runner's own, for https
    runner: str = field(default_factory=socket.gethostname)
    rescore: bool = False
    now: datetime | None = None  # the time submissions are validated at (default: now)
    quick: bool = False
    jobs: int = 1
    remote: str | None = None  # the ledger's push remote: claims are taken there
    claim_ttl: timedelta = claims_mod.CLAIM_TTL  # how long an unscored claim holds
    # keyword arguments of get_backend beyond the name: the container engine and its
    # socket, a Slurm runner's settings (gitramp/config.py, Config.backend_options)
    backend_options: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """What happened to one submission; `status` is a Result status or `skipped`."""

    submission: subs.Submission | None
    status: str
    message: str = ""
    path: str | None = None
    result: Result | None = None

    def to_dict(self) -> dict:
        s = self.submission
        r = self.result
        return {"status": self.status, "message": self.message, "path": self.path,
                "challenge": s.challenge if s else None, "submission": s.name if s else None,
                "team": s.team if s else None, "tree": s.tree if s else None,
                "commit": s.commit if s else None, "pr": s.pr if s else None,
                "reason": r.reason if r else None,
                "bagged_valid": r.bagged.get("valid") if r else None}


SKIPPED = "skipped"
# The rule of a claim refused because another runner scores, or scored, the version:
# not the team's doing, so nothing is recorded and the submission is skipped.
TAKEN = "taken"
BLEND_ATTEMPTS = 8


class Pipeline:
    def __init__(self, repo_path: str | Path, options: Options):
        self.options = options
        self.ledger = Ledger(repo_path)
        self.private, self._private_remote = open_private(options)
        self._data_checked: dict[str, str] = {}
        self._backend = None
        self._lock = threading.Lock()
        self._pending: list[Result] = []  # accepted in this run, not yet recorded
        self._attempts: dict[tuple[str, str, str], claims_mod.Attempt] = {}  # claimed here
        self._parsed: dict = {}  # records read while claiming, by blob id
        self._now = options.now or utcnow()
        default = self.ledger.head()
        if default is None:
            raise subs.SubmissionError(f"{repo_path}: the default branch has no commit yet")
        self.kit_commit = default

    @property
    def repo(self) -> pygit2.Repository:
        return self.ledger.repo

    @property
    def now(self) -> datetime:
        """When submissions are validated: one instant for the whole run, so quotas and
        `submitted_at` agree (the scoring itself may take minutes)."""
        return self._now

    def backend(self):
        with self._lock:
            if self._backend is None:
                self._backend = get_backend(self.options.backend,
                                            **self.options.backend_options)
            return self._backend

    def close(self) -> None:
        """Let the backend go: a container backend removes the one it prepared ahead."""
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None and hasattr(backend, "close"):
            backend.close()

    def kit(self, loc: KitLocation) -> Kit:
        return gitrepo.load_kit_at(self.repo, self.kit_commit, loc)

    def key(self, sub: subs.Submission) -> Key:
        return Key(sub.challenge, sub.name, sub.tree, self.kit(sub.kit).scoring_hash())

    # ------------------------------------------------------------ deciding
    def settled(self, sub: subs.Submission, entries: dict | None = None) -> bool:
        """Whether this version already has a final record of its team under the current
        kit: its record, or the team's final rejection of it. Another team's record of the
        same code settles nothing (that submission is validated, and refused, apart)."""
        if self.options.rescore:
            return False
        key = self.key(sub)
        for path in (key.path(), key.rejection_path(sub.team)):
            if entries is not None:
                oid = entries.get(path)
                record = load_yaml(self.repo[oid].data) if oid is not None else None
            else:
                record = self.ledger.read(path)
            if isinstance(record, dict) and record.get("team") in (sub.team, None) and \
                    is_final(record):
                return True
        return False

    def validate(self, *, ref: str, team: str | None = None, name: str | None = None,
                 pr: int | None = None, author: str | None = None, base: str | None = None,
                 records: list[Result] | None = None) -> val.Validation:
        records = self.ledger.records() if records is None else records
        head = self.ledger.head()
        v = val.validate_refs(self.repo, base=base, head=ref, team=team, author=author, pr=pr,
                              ref=ref, records=records + self._pending, now=self.now,
                              name=name, kit_loader=self.kit,
                              claims=claims_mod.read_all(self.repo, head.tree if head else None))
        if v.ok and v.submission is not None:
            s = v.submission
            # counts against the team's quota for the rest of this run
            self._pending.append(Result(challenge=s.challenge, submission=s.name,
                                        status="scored", team=s.team, tree=s.tree,
                                        submitted_at=iso(self.now)))
        return v

    # ------------------------------------------------------------ claiming
    def claim(self, v: val.Validation) -> val.Validation:
        """Claim the name and one attempt of the team's quota for an accepted submission,
        in one compare-and-swap commit on the ledger (on `options.remote` when set, so
        every runner pushing there sees it), the name, phase and quota rules checked again
        against the head it is built on. Returns `v`, or a rejection with the reasons a
        claim taken meanwhile left."""
        sub = v.submission
        assert sub is not None and v.ok
        kit = self.kit(sub.kit)
        key = self.key(sub)
        now, ttl = self.now, self.options.claim_ttl
        attempt = claims_mod.Attempt(secrets.token_hex(8), sub.name, sub.tree,
                                     key.scoring_hash, iso(now), iso(now + ttl),
                                     self.options.runner, claims_mod.this_process())
        refused: list[val.Reason] = []

        def build(repo: pygit2.Repository, head: pygit2.Commit | None):
            refused.clear()
            tree = head.tree if head else None
            taken = self._taken(repo, tree, sub, key)
            if taken:
                refused.append(val.Reason(TAKEN, taken))
                return None
            records = _records_at(repo, tree, sub.challenge, self._parsed)
            owner = claims_mod.read_name_claim(repo, tree, sub.challenge, sub.name)
            live = claims_mod.live(claims_mod.read_attempts(repo, tree, sub.challenge,
                                                            sub.team),
                                   records, sub.challenge, sub.team, now)
            busy = [a for a in live if a.tree == sub.tree and a.process != attempt.process
                    and not a.abandoned()]
            if busy and not self.options.rescore:
                refused.append(val.Reason(TAKEN, f"being scored by runner {busy[0].runner} "
                                          f"since {busy[0].submitted_at}"))
                return None
            refused.extend(val.check_claim(kit, sub, records, owner, live, now))
            if refused:
                return None
            files = {attempts_path(sub.challenge, sub.team): claims_mod.attempts_file(
                sub.team, [a for a in live if a.tree != sub.tree] + [attempt])}
            if owner is None or owner.team != sub.team:
                files[claim_path(sub.challenge, sub.name)] = claims_mod.name_claim_file(
                    claims_mod.NameClaim(sub.team, iso(now), iso(now + ttl), sub.tree))
            for path, data in sorted(files.items()):
                tree = repo[put_path(repo, tree, path, repo.create_blob(data), FileMode.BLOB)]
            return tree.id, [], (f"ledger: claim {sub.challenge}/{sub.name} for team "
                                 f"{sub.team}\n\ntree {sub.tree}\nattempt {attempt.id}\n")

        self._write(build)
        if refused:
            return val.Validation(list(refused), sub, v.phase)
        with self._lock:
            self._attempts[(sub.challenge, sub.team, sub.tree)] = attempt
        return v

    def _taken(self, repo: pygit2.Repository, tree: pygit2.Tree | None,
               sub: subs.Submission, key: Key) -> str | None:
        """Why another runner's work settles `sub` on the ledger at `tree`: its final
        record (or final rejection) landed since this scan listed its candidates."""
        if self.options.rescore or tree is None:
            return None
        for path in (key.path(), key.rejection_path(sub.team)):
            data = gitrepo.blob_at(repo, tree, path)
            record = load_yaml(data) if data is not None else None
            if isinstance(record, dict) and record.get("team") in (sub.team, None) and \
                    is_final(record):
                return f"{record.get('status')} already by runner {record.get('runner')}"
        return None

    def release(self, sub: subs.Submission) -> None:
        """Give back the attempt claimed for `sub`: its scoring failed on the runner's
        side, which is no attempt of the team's."""
        with self._lock:
            attempt = self._attempts.pop((sub.challenge, sub.team, sub.tree), None)
        if attempt is None:
            return

        def build(repo: pygit2.Repository, head: pygit2.Commit | None):
            tree = head.tree if head else None
            attempts = claims_mod.read_attempts(repo, tree, sub.challenge, sub.team)
            if not any(a.id == attempt.id for a in attempts):
                return None
            rest = [a for a in attempts if a.id != attempt.id]
            path = attempts_path(sub.challenge, sub.team)
            tree = repo[put_path(repo, tree, path, repo.create_blob(
                claims_mod.attempts_file(sub.team, rest)), FileMode.BLOB)]
            return tree.id, [], (f"ledger: release the attempt of {sub.challenge}/{sub.name} "
                                 f"by {sub.team} (the runner failed)\n\nattempt {attempt.id}\n")

        self._write(build)

    def _write(self, build) -> str | None:
        if self.options.remote:
            return self.ledger.update_remote(build, self.options.remote)
        return self.ledger.update(build)

    # ------------------------------------------------------------ acting
    def reject(self, v: val.Validation) -> Outcome:
        """Record a rejection (unless the same one is recorded already), apart from the
        records: keyed by its team, it never replaces one."""
        return self.reject_all([v])[0]

    def reject_all(self, vs: list[val.Validation]) -> list[Outcome]:
        """`reject` for each, with every rejection to record in one ledger commit: a
        scan's quota refusals, which every runner of a hub finds alike, cost one round
        trip to the remote and not one each; what another runner recorded already
        (same status and reason) is not written again."""
        outcomes: list[Outcome | None] = [None] * len(vs)
        todo: list[tuple[int, subs.Submission, val.Validation, Result]] = []
        for i, v in enumerate(vs):
            sub = v.submission
            if sub is None:
                outcomes[i] = Outcome(None, REJECTED, v.message())
            elif v.rule == TAKEN:  # another runner's: nothing of the team's to record
                self._forget(sub)
                outcomes[i] = Outcome(sub, SKIPPED, v.reasons[0].message)
            else:
                kit = self.kit(sub.kit)
                todo.append((i, sub, v, self._stamp(val.rejected_result(kit, v), sub, kit,
                                                    v.phase)))
        paths = self.ledger.record_rejections([r for *_, r in todo],
                                              remote=self.options.remote)
        for (i, sub, v, result), path in zip(todo, paths, strict=True):
            outcomes[i] = (Outcome(sub, REJECTED, v.message(), path, result) if path else
                           Outcome(sub, REJECTED, v.message() + " (recorded earlier)",
                                   Key.of(result).rejection_path(sub.team), result))
        return [o for o in outcomes if o is not None]

    def _forget(self, sub: subs.Submission) -> None:
        """`sub` no longer counts against its team's quota in this run."""
        with self._lock:
            self._pending = [r for r in self._pending if not (
                r.challenge == sub.challenge and r.team == sub.team and r.tree == sub.tree)]

    def score(self, v: val.Validation, progress: Callable[[int], None] | None = None,
              records: list[Result] | None = None) -> Outcome:
        """Score an accepted submission and record its results (public and private)."""
        sub = v.submission
        assert sub is not None and v.ok
        try:
            return self._score(v, progress, records)
        except BaseException:
            # a failure on the runner's side (the backend, the ledger) is not an attempt
            # of the team's: give the claim back, and let the caller report it
            try:
                self.release(sub)
            except Exception as e:  # noqa: BLE001 - the claim then expires on its own
                warnings.warn(f"the claim of {sub.title} could not be released ({e}); it "
                              "lapses on its own", stacklevel=2)
            raise

    def _score(self, v: val.Validation, progress: Callable[[int], None] | None,
               records: list[Result] | None) -> Outcome:
        # imported when first scoring: pandas and the workflows take ~0.5 s, which a scan
        # with nothing new to score (or a rejection) should not pay
        from scorer.scoring import score_submission

        sub = v.submission
        kit = self.kit(sub.kit)
        self.check_data(kit)
        with tempfile.TemporaryDirectory(prefix="gitramp-sub-") as tmp:
            folder = subs.export(self.repo, sub, Path(tmp))
            # a sealed submission is opened here, in the folder the container is given,
            # which is removed with `tmp` (challenge.sealing)
            sealing.open_folder(folder, sealing.identity_from_env())
            scored = score_submission(kit, folder, backend=self.backend(),
                                      data_dir=self._data_dir(kit), quick=self.options.quick,
                                      jobs=self.options.jobs, progress=progress, name=sub.name)
        result = self._stamp(scored.result, sub, kit, v.phase)
        result.provenance = collect_provenance(kit, self._data_dir(kit), self.backend(),
                                               result.image, self.options.quick)
        records = self.ledger.records(sub.challenge) if records is None else records
        starting = gitrepo.subtree(self.repo, self.kit_commit.tree,
                                   sub.kit.path("submissions", "starting_kit"))
        # lineage over the code as the runner reads it (sealed folders opened in memory),
        # and, while the code is hidden, near copies of other teams' earlier submissions:
        # flagged in the private ledger only, and given no lineage from what they copied
        assessed = plagiarism.assess(
            self.repo, result, records,
            lineage_mod.boilerplate_of(self.repo, str(starting.id) if starting else None),
            code_hidden=not self.ledger.state(sub.challenge).code_visible,
            identity=sealing.identity_from_env())
        result.lineage = assessed.lineage.to_dict()
        result.scored_at = iso(utcnow())
        if self.private is not None:  # first: a public record is never rescored
            self.private.record(result, private=True, remote=self._private_remote)
            if assessed.flag is not None:
                plagiarism.keep(self.private, assessed.flag, remote=self._private_remote)
        elif assessed.flag is not None:
            warnings.warn("a near copy of another team's submission was found, but no "
                          "private ledger is configured to keep the flag", stacklevel=2)
        path = self.ledger.record(result, remote=self.options.remote)
        if scored.predictions:
            self._keep_predictions(result, scored)
        with self._lock:
            self._attempts.pop((sub.challenge, sub.team, sub.tree), None)  # recorded now
        return Outcome(sub, result.status, result.reason or "", path, result)

    def _stamp(self, result: Result, sub: subs.Submission, kit: Kit,
               phase: str | None) -> Result:
        result.challenge, result.submission = kit.name, sub.name
        result.team, result.pr, result.commit, result.tree = sub.team, sub.pr, sub.commit, \
            sub.tree
        result.kit_commit = str(self.kit_commit.id)
        result.scoring_hash = kit.scoring_hash()
        result.phase = phase
        result.submitted_at = iso(self.now)
        result.runner = self.options.runner
        result.backend = result.backend or (self.options.backend
                                            if result.status != REJECTED else None)
        return result

    def _data_dir(self, kit: Kit) -> Path | None:
        if not self.options.data_dir:
            return None
        return Path(self.options.data_dir.format(challenge=kit.name))

    def check_data(self, kit: Kit) -> None:
        """DataMismatch (naming what differs) unless the kit's hidden data folder has the
        hash the runner's configuration expects; checked once a run per kit."""
        value = None
        for item in self.options.data_hash:
            name, sep, rest = item.partition("=")
            if sep and "/" not in name and ":" not in name:  # <challenge>=<value>
                if name == kit.name:
                    value = rest
            elif value is None:
                value = item
        if value is None:
            return
        folder = self._data_dir(kit)
        if folder is None:
            raise data_manifest.DataMismatch(
                f"{kit.name}: a data hash is expected but no hidden data folder is given "
                "(--data-dir)")
        with self._lock:
            if kit.name not in self._data_checked:
                self._data_checked[kit.name] = data_manifest.check(
                    folder, value.format(challenge=kit.name))

    def _keep_predictions(self, result: Result, scored) -> None:
        if self.private is None:
            return  # predictions on hidden rows are kept in the private ledger only
        key = predictions_store.record_key(result.challenge, result.submission, result.tree,
                                           result.scoring_hash)
        try:
            with self._lock:  # one writer of the side ref at a time in this process
                predictions_store.save(self.private.path, key, scored.predictions,
                                       scored.y_train, y_test=scored.y_test,
                                       public_repo=self.ledger.path)
                if self._private_remote:
                    self._push_private(predictions_store.REF)
        except Exception as e:  # blending is extra: never lose a result over it
            warnings.warn(f"fold predictions of {key} not kept: {e}", stacklevel=2)

    def blend(self, outcomes: list[Outcome]) -> str | None:
        """Re-blend the challenges that got a new score, so contributivity stays current.

        Returns a line for the person running the command, or None when nothing was
        scored. Blending is extra: a failure is reported, never raised, and loses nothing.
        """
        challenges = sorted({o.submission.challenge for o in outcomes
                             if o.status == SCORED and o.submission is not None})
        if not challenges:
            return None
        private = self.private.path if self.private is not None else None
        try:
            if self._private_remote:  # every runner's predictions, not this one's only
                self._pull_private(predictions_store.REF)
            for attempt in range(BLEND_ATTEMPTS):
                credits = blend_challenges(self.ledger.path, challenges, private_repo=private)
                if not self.options.remote or self._pushed_blend(attempt):
                    break
            if self._private_remote:
                self._push_private(self.private.branch)
        except Exception as e:
            return f"blending {', '.join(challenges)} failed: {type(e).__name__}: {e}"
        return "contributivity updated for " + ", ".join(c.challenge for c in credits)

    def _pushed_blend(self, attempt: int) -> bool:
        """Push the contributivity just written; False when another runner's landed on
        the same records meanwhile: this branch then takes the remote's ledger (every
        other write of a run with a remote is on it already) to blend again on top."""
        try:
            self.ledger.push(self.options.remote)
            return True
        except ClaimConflict:
            raise
        except LedgerError:
            # contributivity is derived: when runners keep racing, the last one's stands
            # (the next blend brings it up to date); ours is dropped, never a result
            theirs = self.ledger._fetch(self.options.remote)
            self.repo.references.create(self.ledger.branch, theirs.id, force=True)
            time.sleep(random.uniform(0, 0.2 * (attempt + 1)))
            return attempt + 1 == BLEND_ATTEMPTS

    def _side(self, branch: str) -> Ledger:
        side = Ledger(self.private.path, branch=branch)
        side.token_env, side.token_url = self.private.token_env, self.private.token_url
        return side

    def _pull_private(self, branch: str) -> None:
        side = self._side(branch)
        side._merge_in(side._fetch(self._private_remote))

    def _push_private(self, branch: str) -> None:
        """Push a branch of the private ledger's copy; when another runner wrote the
        same file meanwhile (a blend summary), the remote's stands."""
        side = self._side(branch)
        try:
            side.push(self._private_remote)
        except LedgerError:
            theirs = side._fetch(self._private_remote)
            if theirs is not None:
                side.repo.references.create(branch, theirs.id, force=True)


def _records_at(repo: pygit2.Repository, tree: pygit2.Tree | None, challenge: str,
                parsed: dict) -> list[Result]:
    """The records of `challenge` in a commit's tree; `parsed` keeps them by blob id
    from one claim (or rebuild of a claim) to the next. A record that does not read is
    left out."""
    out = []
    for path, oid in entries_at(repo, tree, challenge).items():
        if oid not in parsed:
            try:
                parsed[oid] = record_from(parse_record(repo[oid].data, path), path)
            except LedgerError:
                parsed[oid] = None
        if parsed[oid] is not None:
            out.append(parsed[oid])
    return out


def is_url(spec: str | Path) -> bool:
    """Whether a private ledger is given as a remote's URL (file://, https://, ssh://,
    or user@host:path) rather than a repository path on this runner."""
    text = str(spec)
    return "://" in text or bool(re.match(r"^[\w.-]+@[\w.-]+:", text))


def private_copy_path(url: str) -> Path:
    """Where a runner keeps its copy of a private ledger remote by default."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gitramp" / "private-ledger" / hashlib.sha256(url.encode()).hexdigest()[:16]


def open_private(options: Options) -> tuple[Ledger | None, str | None]:
    """The private ledger to write, and the remote to push it to (None: written in
    place). A URL is a remote every runner pushes to with its own credential (the token
    in `options.private_token_env`, sent over https to that host only); this runner
    writes it through a local copy, each record a compare-and-swap on the remote."""
    spec = options.private_ledger
    if not spec:
        return None, None
    if not is_url(spec):
        return Ledger(spec, create=True), None
    url = str(spec)
    copy = Path(options.private_copy) if options.private_copy else private_copy_path(url)
    ledger = Ledger(copy, create=True)
    repo = ledger.repo
    if "origin" in [r.name for r in repo.remotes]:
        if repo.remotes["origin"].url != url:
            repo.remotes.set_url("origin", url)
    else:
        repo.remotes.create("origin", url)
    ledger.token_env, ledger.token_url = options.private_token_env, url
    ledger._merge_in(ledger._fetch("origin"))
    return ledger, "origin"
