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

import secrets
import socket
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pygit2
from pygit2.enums import FileMode

from challenge import claims as claims_mod
from challenge import lineage as lineage_mod
from challenge import predictions_store, sealing
from challenge import repo as gitrepo
from challenge import submission as subs
from challenge import validate as val
from challenge.credit import blend_challenges
from challenge.kit import Kit
from challenge.ledger import (
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
    private_ledger: Path | None = None
    runner: str = field(default_factory=socket.gethostname)
    rescore: bool = False
    now: datetime | None = None  # the time submissions are validated at (default: now)
    quick: bool = False
    jobs: int = 1
    remote: str | None = None  # the ledger's push remote: claims are taken there
    claim_ttl: timedelta = claims_mod.CLAIM_TTL  # how long an unscored claim holds


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


class Pipeline:
    def __init__(self, repo_path: str | Path, options: Options):
        self.options = options
        self.ledger = Ledger(repo_path)
        self.private = Ledger(options.private_ledger, create=True) \
            if options.private_ledger else None
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
                self._backend = get_backend(self.options.backend)
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
                                     self.options.runner)
        refused: list[val.Reason] = []

        def build(repo: pygit2.Repository, head: pygit2.Commit | None):
            refused.clear()
            tree = head.tree if head else None
            records = _records_at(repo, tree, sub.challenge, self._parsed)
            owner = claims_mod.read_name_claim(repo, tree, sub.challenge, sub.name)
            live = claims_mod.live(claims_mod.read_attempts(repo, tree, sub.challenge,
                                                            sub.team),
                                   records, sub.challenge, sub.team, now)
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
        sub = v.submission
        if sub is None:
            return Outcome(None, REJECTED, v.message())
        kit = self.kit(sub.kit)
        result = self._stamp(val.rejected_result(kit, v), sub, kit, v.phase)
        where = Key.of(result).rejection_path(sub.team)
        existing = self.ledger.read(where)
        if existing and existing.get("status") == REJECTED and \
                existing.get("reason") == result.reason:
            return Outcome(sub, REJECTED, v.message() + " (recorded earlier)", where, result)
        path = self.ledger.record(result)
        return Outcome(sub, REJECTED, v.message(), path, result)

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
        result.lineage = lineage_mod.compute(
            self.repo, sub.commit, sub.tree, sub.challenge, records,
            lineage_mod.boilerplate_of(self.repo, str(starting.id) if starting else None)
        ).to_dict()
        result.scored_at = iso(utcnow())
        if self.private is not None:
            self.private.record(result, private=True)
        path = self.ledger.record(result)
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

    def _keep_predictions(self, result: Result, scored) -> None:
        if self.options.private_ledger is None:
            return  # predictions on hidden rows are kept in the private ledger only
        key = predictions_store.record_key(result.challenge, result.submission, result.tree,
                                           result.scoring_hash)
        try:
            predictions_store.save(self.options.private_ledger, key, scored.predictions,
                                   scored.y_train, y_test=scored.y_test,
                                   public_repo=self.ledger.path)
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
        try:
            credits = blend_challenges(self.ledger.path, challenges,
                                       private_repo=self.options.private_ledger)
        except Exception as e:
            return f"blending {', '.join(challenges)} failed: {type(e).__name__}: {e}"
        return "contributivity updated for " + ", ".join(c.challenge for c in credits)


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
