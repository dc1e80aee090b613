"""Re-running a record from what it names, and saying whether its score reproduces.

`verify(repo, record, options)` takes a scored record of the ledger and:

1. refuses, naming each difference, when the re-run could not be the same run: the
   kit commit it names is not here or its kit no longer hashes to the record's scoring
   hash; the submission's tree is not here; the data this runner has does not match
   the record's keyed fingerprint (each file that differs, is missing or is extra;
   another key cannot be compared); the environment (the image's manifest, or the local
   one) differs in content; or the backend differs;
2. otherwise exports the submission at its tree, scores it with the kit of the recorded
   commit on this runner's data with the recorded quick settings, and compares every
   fold's scores and the bagged ones at the kit's printed precision: `reproduced`, or
   `differs` with the per-fold deltas, or `failed` with the reason;
3. with `twice`, scores it twice first: when the two runs disagree, the submission is
   `non-deterministic` (its own randomness is unseeded), which tells it apart from a
   broken environment.

What the record could not name (a schema 1 record, a runner without a fingerprint key
when it was scored) is listed in `unchecked`, not refused. `record_verification` writes
the verification beside the record (`challenge.ledger.verification_path`), never in it.
"""

from __future__ import annotations

import getpass
import math
import random
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from challenge import provenance
from challenge import repo as gitrepo
from challenge.errors import GitrampError
from challenge.ledger import (
    Key,
    Ledger,
    dump_record,
    parse_record,
    verification_path,
)
from challenge.phases import iso, utcnow
from challenge.ranking import PRIVATE, PUBLIC, RankingScore, board
from scorer import fingerprint as fp
from scorer.backends import get_backend
from scorer.backends.base import IngestJob
from scorer.backends.docker_image import kit_requirements_hash
from scorer.result import PRIVATE_SPLITS, SCORED, Result

REPRODUCED = "reproduced"
DIFFERS = "differs"
FAILED = "failed"
REFUSED = "refused"
NON_DETERMINISTIC = "non-deterministic"
VERDICTS = (REPRODUCED, DIFFERS, FAILED, REFUSED, NON_DETERMINISTIC)
SCHEMA = 1


@dataclass
class VerifyOptions:
    backend: str | None = None  # default: the record's
    data_dir: str | None = None  # may hold {challenge}; default: the kit's public data
    private_ledger: Path | None = None  # to compare the test scores too
    runner: str = field(default_factory=socket.gethostname)
    who: str = field(default_factory=lambda: _user())
    twice: bool = False
    image: str | None = None  # a container backend's image (default: the kit's tag)


@dataclass
class Verification:
    challenge: str
    submission: str
    team: str | None
    stem: str  # the record's file name without .yml
    tree: str | None
    verdict: str
    who: str
    when: str
    runner: str
    backend: str
    environment: str | None = None  # the manifest digest of the environment re-run in
    differences: list[str] = field(default_factory=list)  # why it was refused
    deltas: list[dict[str, Any]] = field(default_factory=list)  # where scores differ
    reason: str | None = None  # why the re-run failed
    unchecked: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.challenge}/{self.submission}@{(self.tree or self.stem)[:16]}"

    def to_dict(self, public: bool = True) -> dict[str, Any]:
        """As the ledger keeps it. The public form names no private (test) score: only
        how many of them differ."""
        deltas = self.deltas
        hidden = 0
        if public:
            deltas = [d for d in self.deltas if d["split"] not in PRIVATE_SPLITS]
            hidden = len(self.deltas) - len(deltas)
        out = {"schema": SCHEMA, "challenge": self.challenge, "submission": self.submission,
               "team": self.team, "record": self.stem, "tree": self.tree,
               "verdict": self.verdict, "who": self.who, "when": self.when,
               "runner": self.runner, "backend": self.backend,
               "environment": self.environment, "differences": list(self.differences),
               "deltas": deltas, "reason": self.reason, "unchecked": list(self.unchecked)}
        if hidden:
            out["private_deltas"] = hidden
        return out

    def summary(self) -> str:
        """One line a person reads."""
        head = f"{self.verdict:<17} {self.label} ({self.team or 'unknown'})"
        if self.verdict == REFUSED:
            return f"{head}: " + "; ".join(self.differences)
        if self.verdict == FAILED:
            return f"{head}: {self.reason}"
        if self.deltas:
            worst = max(self.deltas, key=lambda d: abs(d["delta"])
                        if math.isfinite(d["delta"]) else math.inf)
            return (f"{head}: {len(self.deltas)} score(s) differ, e.g. fold {worst['fold']} "
                    f"{worst['split']} {worst['score']} {worst['recorded']} -> {worst['rerun']}")
        return f"{head} on {self.runner}"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# ------------------------------------------------------------------ finding records
def find_record(ledger: Ledger, challenge: str, name: str, version: str | None = None
                ) -> Result:
    """The scored record `challenge/name[@version]`: `version` a prefix of its tree, its
    commit or its file stem; without one, the latest scored version."""
    found = [r for r in ledger.records(challenge) if r.submission == name
             and r.status != "rejected"]
    if version:
        found = [r for r in found if any((x or "").startswith(version) for x in
                                         (r.tree, r.commit, Key.of(r).stem if r.tree and
                                          r.scoring_hash else None))]
    if not found:
        raise GitrampError(f"no record of {challenge}/{name}" + (f"@{version}" if version
                                                                  else "") + " in the ledger")
    return max(found, key=lambda r: (r.scored_at or "", r.submitted_at or ""))


def top_records(ledger: Ledger, challenge: str, n: int, private: Ledger | None = None
                ) -> list[Result]:
    """The first `n` of a board: the private board (test scores) when the private ledger
    is given, else the public one."""
    records = [r for r in ledger.records(challenge) if r.status == SCORED]
    split = PUBLIC
    if private is not None:
        merged = []
        for r in records:
            raw = private.read(Key.of(r).path())
            if isinstance(raw, dict):
                merged.append(r.merge_private(raw))
        records, split = merged, PRIVATE
    rows = board(records, RankingScore.of_result(records[0]) if records else None, split)
    return [row.result for row in rows[:n]]


def sample_records(ledger: Ledger, challenge: str, n: int, seed: int | None = None
                   ) -> list[Result]:
    records = [r for r in ledger.records(challenge) if r.status == SCORED]
    return random.Random(seed).sample(records, min(n, len(records)))


# ------------------------------------------------------------------------ verifying
def verify(repo_path: str | Path, record: Result, options: VerifyOptions,
           progress: Callable[[str], None] | None = None) -> Verification:
    """Re-run `record` on this runner; see the module's docstring."""
    ledger = Ledger(repo_path)
    repo = ledger.repo
    backend_name = options.backend or record.backend or "local"
    out = Verification(record.challenge, record.submission, record.team,
                       Key.of(record).stem, record.tree, REFUSED, options.who, iso(utcnow()),
                       options.runner, backend_name)
    if record.status != SCORED:
        out.differences.append(f"the record is not a scored one (status {record.status}): "
                               "there is no score to reproduce")
        return out
    kit = _recorded_kit(repo, record, out.differences)
    if record.tree and pygit2.Oid(hex=record.tree) not in repo:
        out.differences.append(f"the submission's tree {record.tree[:12]} is not in this "
                               "repository (fetch its branch or pull request)")
    if record.backend and backend_name != record.backend:
        out.differences.append(f"backend: recorded {record.backend}, this run {backend_name}")
    if kit is None or out.differences:
        return out
    prov = record.provenance or {}
    data_dir = Path(options.data_dir.format(challenge=kit.name)) if options.data_dir else None
    out.differences += _data_differences(kit, data_dir, prov.get("data"), out.unchecked)
    backend = get_backend(backend_name, **({"image": options.image}
                                            if options.image and backend_name != "local"
                                            else {}))
    try:
        out.environment, env_diff = _environment(kit, backend, prov.get("environment"),
                                                 out.unchecked)
        out.differences += env_diff
        if out.differences:
            return out
        seeds = prov.get("seeds") or {}
        quick = bool(seeds.get("quick"))
        if not seeds:
            out.unchecked.append("the record names no seeds: scored as a full run")
        runs = 2 if options.twice else 1
        results = []
        for i in range(runs):
            if progress:
                progress(f"run {i + 1} of {runs}")
            results.append(_rerun(repo, kit, record, backend, data_dir, quick))
    finally:
        if hasattr(backend, "close"):
            backend.close()
    failed = next((r for r in results if r.status != SCORED), None)
    if failed is not None:
        out.verdict, out.reason = FAILED, f"the re-run ended {failed.status}: " \
            f"{failed.reason or 'no reason given'}"
        return out
    if options.twice:
        deltas = compare(results[0], results[1], record.precision)
        if deltas:
            out.verdict, out.deltas = NON_DETERMINISTIC, deltas
            return out
    recorded = record
    if options.private_ledger is not None:
        raw = Ledger(options.private_ledger).read(Key.of(record).path())
        if isinstance(raw, dict):
            recorded = record.merge_private(raw)
        else:
            out.unchecked.append("no private record: the test scores are not compared")
    else:
        out.unchecked.append("no private ledger given: the test scores are not compared")
    out.deltas = compare(recorded, results[0], record.precision)
    out.verdict = DIFFERS if out.deltas else REPRODUCED
    return out


def _recorded_kit(repo: pygit2.Repository, record: Result, differences: list[str]):
    if not record.kit_commit:
        differences.append("the record names no kit commit")
        return None
    try:
        commit = repo[record.kit_commit].peel(pygit2.Commit)
    except (KeyError, ValueError):
        differences.append(f"kit commit {record.kit_commit[:12]} is not in this repository "
                           "(fetch it): the kit the record was scored with is unknown here")
        return None
    loc = next((k for k in gitrepo.find_kits(repo, commit.tree)
                if k.name == record.challenge), None)
    if loc is None:
        differences.append(f"kit commit {record.kit_commit[:12]} holds no kit "
                           f"{record.challenge}")
        return None
    kit = gitrepo.load_kit_at(repo, commit, loc)
    if record.scoring_hash and kit.scoring_hash() != record.scoring_hash:
        differences.append(f"the kit at {record.kit_commit[:12]} has scoring hash "
                           f"{kit.scoring_hash()}, the record {record.scoring_hash}")
    return kit


def _data_differences(kit, data_dir: Path | None, recorded: dict | None,
                      unchecked: list[str]) -> list[str]:
    if not recorded:
        unchecked.append("the record names no data fingerprint (schema 1, or no key on "
                         "the runner that scored it): the data is not checked")
        return []
    key = fp.fingerprint_key()
    if key is None:
        return [f"this runner has no fingerprint key ({fp.KEY_ENV}, {fp.KEY_FILE_ENV} or "
                f"{fp.default_key_file()}): the record's data fingerprint cannot be checked"]
    if fp.key_id(key) != recorded.get("key"):
        return [f"data fingerprint key: the record's was made with key {recorded.get('key')}"
                f", this runner's is {fp.key_id(key)}; use the challenge's key"]
    current = fp.data_fingerprint(kit, data_dir or kit.path, key)
    if current["digest"] == recorded.get("digest"):
        return []
    old, new = recorded.get("files") or {}, current["files"]
    where = data_dir or "the kit's public data"
    out = []
    for path in sorted(set(old) | set(new)):
        if path not in new or new[path] == "missing":
            out.append(f"data file {path}: in the record, missing from {where}")
        elif path not in old:
            out.append(f"data file {path}: in {where}, not in the record")
        elif old[path] != new[path]:
            out.append(f"data file {path} differs from the one the record was scored on")
    return out or [f"data fingerprint {recorded.get('digest')} -> {current['digest']}"]


def _environment(kit, backend, recorded: dict | None, unchecked: list[str]
                 ) -> tuple[str | None, list[str]]:
    image = None
    if getattr(backend, "name", "local") != "local":
        job = IngestJob(kit.workflow, Path("."), Path("."), 1, kit.limits,
                        requirements_hash=kit_requirements_hash(kit.requirements))
        tag, img = backend.image_for(job)
        image = f"{tag}@{img.id}"
    manifest, current = provenance.backend_environment(backend, image)
    if not recorded or not recorded.get("manifest"):
        unchecked.append("the record names no environment manifest: the environment is not "
                         "checked")
        return current.get("manifest"), []
    return current.get("manifest"), fp.environment_differences(recorded, manifest, current)


def _rerun(repo: pygit2.Repository, kit, record: Result, backend, data_dir: Path | None,
           quick: bool) -> Result:
    from scorer.scoring import score_submission

    with tempfile.TemporaryDirectory(prefix="gitramp-verify-") as tmp:
        folder = gitrepo.export_tree(repo, repo[record.tree], Path(tmp) / record.submission)
        return score_submission(kit, folder, backend=backend, data_dir=data_dir, quick=quick,
                                name=record.submission).result


def compare(recorded: Result, rerun: Result, precision: dict[str, int]) -> list[dict]:
    """Every score of `recorded` (per fold and bagged) that `rerun` does not give at the
    kit's printed precision: {fold, split, score, recorded, rerun, delta}."""
    out = []

    def check(fold, split: str, name: str, a, b) -> None:
        digits = int(precision.get(name, 3))
        if _shown(a, digits) != _shown(b, digits):
            delta = (b - a) if _number(a) and _number(b) else math.nan
            out.append({"fold": fold, "split": split, "score": name, "recorded": a,
                        "rerun": b, "delta": delta})

    for i, fold in enumerate(recorded.folds):
        other = rerun.folds[i].scores if i < len(rerun.folds) else {}
        for split, scores in fold.scores.items():
            for name, a in scores.items():
                check(i, split, name, a, other.get(split, {}).get(name))
    for split, scores in recorded.bagged.items():
        for name, a in scores.items():
            check("bagged", split, name, a, rerun.bagged.get(split, {}).get(name))
    if len(rerun.folds) != len(recorded.folds):
        out.append({"fold": "count", "split": "-", "score": "folds",
                    "recorded": len(recorded.folds), "rerun": len(rerun.folds),
                    "delta": len(rerun.folds) - len(recorded.folds)})
    return out


def _number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _shown(x, digits: int) -> str:
    """A score as the kit prints it (-0.000 is 0.000)."""
    if not _number(x):
        return repr(x)
    text = f"{x:.{digits}f}"
    return text.lstrip("-") if float(text) == 0 else text


# ------------------------------------------------------------------------- recording
def record_verification(repo_path: str | Path, v: Verification) -> str:
    """Write `v` beside the record it checks; returns its path. The record is not
    touched, nor any other."""
    ledger = Ledger(repo_path)
    path = verification_path(v.challenge, v.submission, v.stem, v.when, v.runner)
    data = dump_record(v.to_dict(public=True), path)
    ledger.write({path: data}, f"verify: {v.label} {v.verdict} on {v.runner}\n\n"
                               f"by {v.who}\n")
    return path


def read_verifications(source, challenge: str) -> dict[tuple[str, str], list[dict]]:
    """{(name, record stem): [verification, ...]} of a challenge, latest last; a file
    that does not read is left out."""
    out: dict[tuple[str, str], list[dict]] = {}
    for f in source.verification_files(challenge):
        try:
            raw = parse_record(f.fetch(), f.where)
        except GitrampError:
            continue
        if isinstance(raw, dict) and raw.get("verdict") in VERDICTS:
            out.setdefault((f.name, f.stem), []).append(raw)
    for items in out.values():
        items.sort(key=lambda d: str(d.get("when", "")))
    return out
