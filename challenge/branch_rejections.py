"""Rejections of submission branches that name no submission version, recorded.

A branch `submit/<team>/<name>` that changes another team's folder too, or only another
folder, or files outside any submission folder with none of its own, is refused before
any submission version can be read from it, so `Pipeline.reject` has nothing to key a
record by. Its team and name are in the branch's name, though, and its participant
must learn why: the rejection is recorded under
`leaderboard_data/<challenge>/_rejected/<team>/<name>/` like any other (the site's
failed page and `gitramp leaderboard` show it), keyed by the tree of the branch's whole
commit, as it names no submission version. It is recorded once per commit: a later
scan of the same commit reports it as recorded earlier and writes nothing, and a new
commit on the branch is validated afresh.
"""

from __future__ import annotations

import pygit2

from challenge import repo as gitrepo
from challenge import submission as subs
from challenge import validate as val
from challenge.pipeline import SKIPPED, Outcome, Pipeline
from challenge.repo import KitLocation
from scorer.result import REJECTED


def record(pipe: Pipeline, ref: str, reasons: list[val.Reason]) -> Outcome:
    """Record the rejection of branch `ref` for `reasons` (once per commit), or, for a
    ref that is no submission branch or whose kit cannot be told, only report it."""
    message = "; ".join(str(r) for r in reasons)
    parsed = subs.parse_branch(ref)
    try:
        head = gitrepo.resolve_commit(pipe.repo, ref) if parsed else None
    except gitrepo.RepoError:
        head = None
    loc = _kit_of(pipe, head, parsed[1]) if head is not None and parsed else None
    if loc is None:
        return Outcome(None, REJECTED, message)
    team, name = parsed
    sub = subs.Submission(loc, name, team, str(head.id), str(head.tree.id), ref, None)
    where = pipe.key(sub).rejection_path(team)
    earlier = pipe.ledger.read(where)
    if isinstance(earlier, dict) and earlier.get("status") == REJECTED:
        return Outcome(sub, SKIPPED, f"{ref.removeprefix('refs/heads/')} at "
                       f"{str(head.id)[:10]} was rejected earlier ({where}); push a new "
                       "commit to be validated again", where)
    return pipe.reject(val.Validation(list(reasons), sub, None))


def _kit_of(pipe: Pipeline, head: pygit2.Commit, name: str) -> KitLocation | None:
    """The kit the branch is for: the only one; else the one holding its submission
    folder at its head; else the only one whose submission folders it changes."""
    repo = pipe.repo
    kits = gitrepo.find_kits(repo, pipe.kit_commit.tree)
    if len(kits) <= 1:
        return kits[0] if kits else None
    holding = [k for k in kits
               if gitrepo.subtree(repo, head.tree, k.path("submissions", name)) is not None]
    if len(holding) == 1:
        return holding[0]
    try:
        change = subs.read_change(repo, str(head.id))
    except subs.SubmissionError:
        return None
    touched = {k for k, _ in subs.touched_submissions(change.changed, kits)}
    return next((k for k in kits if k.name in touched), None) if len(touched) == 1 else None


def record_error(pipe: Pipeline, ref: str, error: subs.SubmissionError) -> Outcome:
    """`record` for a branch no submission could be read from (`subs.from_branch`)."""
    rule = "limits" if isinstance(error, subs.TreeTooLarge) else "scope"
    return record(pipe, ref, [val.Reason(rule, str(error))])
