"""`gitramp score`: validate, score and record one submission (a ref or a pull request).

Exit 0 when scored, 1 when rejected or when the submission failed (the reason is
recorded in the ledger), 2 on a usage error."""

from __future__ import annotations

import argparse
import sys

from challenge import submission as subs
from challenge.errors import GitrampError
from challenge.pipeline import SKIPPED, Outcome, Pipeline
from gitramp.options import (
    add_repo,
    add_scoring,
    following_work_tree,
    options,
    print_json,
)
from scorer.result import SCORED
from scorer.untrusted import LINE_CHARS, clean_text


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("score", help="validate, score and record one submission",
                       description=__doc__)
    add_repo(p)
    p.add_argument("--ref", "--pr-ref", dest="ref", default=None,
                   help="a ref or commit holding the submission, such as submit/<team>/<name>"
                        "; with --pr, where the pull request's head is (default "
                        "refs/pull/<n>/head)")
    p.add_argument("--pr", type=int, default=None,
                   help="the pull request number (recorded in the ledger)")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--team", help="the submitting team (default: from the branch name)")
    who.add_argument("--author", help="the forge login of the author (mapped by teams.yml)")
    p.add_argument("--base", default=None, help="the base commit of the change (default: the "
                                                "merge base with the default branch)")
    add_scoring(p)
    return p


@following_work_tree
def run(args: argparse.Namespace) -> int:
    if args.ref is None and args.pr is None:
        raise GitrampError("say what to score: --ref REF, or --pr N (and --ref if its head "
                           "is not at refs/pull/N/head)")
    opts = options(args)
    opts.remote = args.push  # claims are taken where the ledger is pushed
    pipe = Pipeline(args.repo, opts)
    ref = args.ref or f"refs/pull/{args.pr}/head"
    team, name = args.team, None
    parsed = subs.parse_branch(ref) or subs.parse_branch(f"refs/heads/{ref}")
    if parsed:
        name = parsed[1]
        if team is None and args.author is None:
            team = parsed[0]
        if not ref.startswith("refs/"):
            ref = f"refs/heads/{ref}"
    v = pipe.validate(ref=ref, team=team, name=name, pr=args.pr, author=args.author,
                      base=args.base)
    if v.ok and pipe.settled(v.submission):
        out = Outcome(v.submission, SKIPPED, "already in the ledger (use --rescore to score "
                                             "again)", pipe.key(v.submission).path())
    else:
        if v.ok:
            v = pipe.claim(v)  # the name and the quota, decided on the shared ledger
        out = pipe.reject(v) if not v.ok else _score_with_progress(pipe, v, args.json)
    if out.status == SCORED:
        line = pipe.blend([out])  # contributivity follows every new score
        if line and not args.json:
            print(line, file=sys.stderr)
    if args.push:
        pipe.ledger.push(args.push)
        if pipe.private is not None and "origin" in pipe.private.repo.remotes.names():
            pipe.private.push("origin")
    if args.json:
        print_json(out.to_dict())
    else:
        print(describe(out))
    return 0 if out.status in (SCORED, SKIPPED) else 1


def _score_with_progress(pipe, v, quiet: bool):
    from rich.console import Console
    from rich.progress import Progress

    kit = pipe.kit(v.submission.kit)
    n = None if pipe.options.quick else (kit.cv.params.get("n_splits", 0) or None)
    with Progress(console=Console(stderr=True), disable=quiet, transient=True) as bar:
        task = bar.add_task(f"scoring {v.submission.title}", total=n)
        return pipe.score(v, progress=lambda _i: bar.advance(task))


def describe(out) -> str:
    """One line a person reads: what happened to the submission, and why. Its team and
    name may come from a branch's name, its message quotes what the submission wrote:
    the line is cleaned and bounded as any text from a submission (a job's log is
    public)."""
    return clean_text(_describe(out), LINE_CHARS)


def _describe(out) -> str:
    s = out.submission
    who = f"{s.challenge}/{s.name} ({s.team})" if s else "submission"
    if out.status == SCORED and out.result is not None:
        r = out.result
        rank = r.ranking_score
        v = r.bagged.get("valid", {}).get(rank)
        return f"scored   {who}: bagged valid {rank} = {v:.{r.precision.get(rank, 3)}f}" \
            if v is not None else f"scored   {who}"
    return f"{out.status:<8} {who}: {out.message}"
