"""Scanning: every submission ref whose current version has no final ledger record is
validated (in order, so quotas count earlier ones of the same run), then claimed when a
worker is free to score it (so quotas count the claims of other runners, and several
runners share the pending work), up to `workers` at a time. Nothing recorded already
is read beyond its ledger entry.

Submission refs are the branches `submit/<team>/<name>` and the fetched pull-request
heads `refs/pull/<n>/head` whose team the ledger knows from an earlier version of the
same pull request (a new pull request is scored first by `gitramp score --pr N
--author LOGIN`, which is given the author by the forge)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from challenge import branch_rejections
from challenge import submission as subs
from challenge.pipeline import SKIPPED, Options, Outcome, Pipeline
from scorer.result import ERROR


def candidates(pipe: Pipeline) -> tuple[list[subs.Submission], list[Outcome]]:
    """Submission branches not settled in the ledger, oldest commit first; and the
    branches that are not usable submissions (each with its reason)."""
    repo = pipe.repo
    entries = pipe.ledger.entries()
    todo, bad = [], []
    for ref in subs.branch_refs(repo):
        try:
            sub = subs.from_branch(repo, ref)
        except subs.SubmissionError as e:  # recorded, so its participant learns why
            bad.append(branch_rejections.record_error(pipe, ref, e))
            continue
        if not pipe.settled(sub, entries):
            todo.append(sub)
    pulls = sorted(r for r in repo.references if subs.PR_REF.fullmatch(r))
    if pulls:
        teams = {r.pr: r.team for r in sorted(pipe.ledger.records(),
                                              key=lambda r: r.submitted_at or "") if r.pr}
        for ref in pulls:
            number = int(subs.PR_REF.fullmatch(ref).group(1))
            if number not in teams:
                bad.append(Outcome(None, SKIPPED, f"{ref}: no team known yet; score it with "
                                   f"gitramp score --pr {number} --author LOGIN"))
                continue
            try:
                sub = subs.from_ref(repo, ref, team=teams[number], pr=number)
            except subs.SubmissionError as e:
                bad.append(Outcome(None, "rejected", str(e)))
                continue
            if not pipe.settled(sub, entries):
                todo.append(sub)
    todo.sort(key=lambda s: (repo[s.commit].commit_time, s.ref))
    return todo, bad


@dataclass
class ScanEvents:
    """What a caller (the command line) hears while a scan runs; the scan prints nothing."""

    noted: Callable[[Outcome], None] = lambda _o: None  # skipped or rejected before scoring
    scoring: Callable[[int], None] = lambda _n: None  # how many will be scored
    scored: Callable[[Outcome], None] = lambda _o: None  # one submission done, any status
    blended: Callable[[str], None] = lambda _line: None


def scan(repo_path: str | Path, options: Options, *, workers: int = 1,
         events: ScanEvents | None = None) -> list[Outcome]:
    """Validate every candidate, then claim each accepted one just before a worker is
    free to score it (in order), so several runners on one hub share the work: a claim
    another runner took meanwhile, or a version it scored, is skipped."""
    ev = events or ScanEvents()
    pipe = Pipeline(repo_path, options)
    todo, outcomes = candidates(pipe)
    for o in outcomes:
        ev.noted(o)
    if not todo:
        return outcomes
    for loc in {s.kit: None for s in todo}:  # refuse to score with other hidden data
        pipe.check_data(pipe.kit(loc))
    records = pipe.ledger.records()
    accepted, refused = [], []
    for sub in todo:
        name = sub.name if sub.pr is None else None  # a branch's name is its submission's
        v = pipe.validate(ref=sub.ref, team=sub.team, name=name, pr=sub.pr, records=records)
        if v.ok:
            accepted.append(v)
        elif v.submission is not None or sub.pr is not None:
            refused.append(v)  # recorded together below: one ledger commit
        else:
            out = branch_rejections.record(pipe, sub.ref, v.reasons)
            outcomes.append(out)
            ev.noted(out)
    for out in pipe.reject_all(refused):
        outcomes.append(out)
        ev.noted(out)
    if not accepted:
        return outcomes
    ev.scoring(len(accepted))
    slots = threading.Semaphore(max(1, workers))
    lock = threading.Lock()

    def done(out: Outcome) -> None:
        with lock:
            outcomes.append(out)
            ev.scored(out)

    def work(v) -> None:
        try:
            out = pipe.score(v, None, records)
        except Exception as e:  # one broken scoring must not stop the others
            out = Outcome(v.submission, ERROR, f"scoring failed on the runner: "
                          f"{type(e).__name__}: {e}")
        finally:
            slots.release()
        done(out)

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for v in accepted:
                slots.acquire()  # claim only what a free worker scores now
                try:
                    v = pipe.claim(v)  # the name and the quota, decided on the shared ledger
                except Exception:
                    slots.release()
                    raise
                if v.ok:
                    pool.submit(work, v)
                else:
                    slots.release()
                    done(pipe.reject(v))  # refused meanwhile, or another runner's (skipped)
    finally:
        pipe.close()  # nothing more to score: no container prepared ahead is kept
    line = pipe.blend(outcomes)  # contributivity follows every new score
    if line:
        ev.blended(line)
    return outcomes
