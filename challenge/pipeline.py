"""One submission from ref to ledger: validate, score, record. Shared by `gitramp score`
and `gitramp scan`.

The kit a submission is scored against is the default branch's (trusted) copy; the
submission's files are exported from git to a temporary folder, never checked out.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pygit2

from challenge import lineage as lineage_mod
from challenge import predictions_store
from challenge import repo as gitrepo
from challenge import submission as subs
from challenge import validate as val
from challenge.credit import blend_challenges
from challenge.kit import Kit
from challenge.ledger import Key, Ledger, is_final, load_yaml
from challenge.phases import iso, utcnow
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

    def kit(self, loc: KitLocation) -> Kit:
        return gitrepo.load_kit_at(self.repo, self.kit_commit, loc)

    def key(self, sub: subs.Submission) -> Key:
        return Key(sub.challenge, sub.name, sub.tree, self.kit(sub.kit).scoring_hash())

    # ------------------------------------------------------------ deciding
    def settled(self, sub: subs.Submission, entries: dict | None = None) -> bool:
        """Whether this version already has a final record under the current kit."""
        if self.options.rescore:
            return False
        path = self.key(sub).path()
        if entries is not None:
            oid = entries.get(path)
            if oid is None:
                return False
            data = self.repo[oid].data
            return b"status: rejected" not in data or is_final(load_yaml(data))
        return is_final(self.ledger.read(path))

    def validate(self, *, ref: str, team: str | None = None, name: str | None = None,
                 pr: int | None = None, author: str | None = None, base: str | None = None,
                 records: list[Result] | None = None) -> val.Validation:
        records = self.ledger.records() if records is None else records
        v = val.validate_refs(self.repo, base=base, head=ref, team=team, author=author, pr=pr,
                              ref=ref, records=records + self._pending, now=self.now,
                              name=name, kit_loader=self.kit)
        if v.ok and v.submission is not None:
            s = v.submission
            # counts against the team's quota for the rest of this run
            self._pending.append(Result(challenge=s.challenge, submission=s.name,
                                        status="scored", team=s.team, tree=s.tree,
                                        submitted_at=iso(self.now)))
        return v

    # ------------------------------------------------------------ acting
    def reject(self, v: val.Validation) -> Outcome:
        """Record a rejection (unless the same one is recorded already)."""
        sub = v.submission
        if sub is None:
            return Outcome(None, REJECTED, v.message())
        kit = self.kit(sub.kit)
        result = self._stamp(val.rejected_result(kit, v), sub, kit, v.phase)
        existing = self.ledger.read(Key.of(result).path())
        if existing and existing.get("status") == REJECTED and \
                existing.get("reason") == result.reason:
            return Outcome(sub, REJECTED, v.message() + " (recorded earlier)",
                           Key.of(result).path(), result)
        path = self.ledger.record(result)
        return Outcome(sub, REJECTED, v.message(), path, result)

    def score(self, v: val.Validation, progress: Callable[[int], None] | None = None,
              records: list[Result] | None = None) -> Outcome:
        """Score an accepted submission and record its results (public and private)."""
        # imported when first scoring: pandas and the workflows take ~0.5 s, which a scan
        # with nothing new to score (or a rejection) should not pay
        from scorer.scoring import score_submission

        sub = v.submission
        assert sub is not None and v.ok
        kit = self.kit(sub.kit)
        with tempfile.TemporaryDirectory(prefix="gitramp-sub-") as tmp:
            folder = subs.export(self.repo, sub, Path(tmp))
            scored = score_submission(kit, folder, backend=self.backend(),
                                      data_dir=self._data_dir(kit), quick=self.options.quick,
                                      jobs=self.options.jobs, progress=progress, name=sub.name)
        result = self._stamp(scored.result, sub, kit, v.phase)
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
        key = predictions_store.record_key(result.challenge, result.submission, result.tree,
                                           result.scoring_hash)
        try:
            predictions_store.save(self.ledger.path, key, scored.predictions, scored.y_train,
                                   private_repo=self.options.private_ledger,
                                   y_test=scored.y_test)
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
