"""`gitramp forge`: the forge operations a workflow step needs, configured from the
environment GitHub gives a job (GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN,
GITHUB_EVENT_PATH, GITHUB_OUTPUT).

    gitramp forge event --out pr.json          PR metadata from a pull_request event
    gitramp forge bundle --repo R --from CLONE --pr N --sha SHA --out F
                                               the PR head as a git bundle (artifact data)
    gitramp forge intake --artifact DIR --repo R --sha SHA
                                               take an artifact in, trusting only the API:
                                               the PR is open at SHA, the bundle holds SHA
    gitramp forge runner-labels --repo R --verdict v.json
                                               the runner labels the kit asks for (gpu)
    gitramp forge check-head --pr N --sha SHA  the PR is open and its head is still SHA
    gitramp forge status --sha SHA --state S   a commit status
    gitramp forge report --pr N --sha SHA --outcome out.json
                                               the PR comment, the status and a label,
                                               from `gitramp score --json`'s outcome
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from pathlib import Path

from challenge import repo as gitrepo
from challenge.errors import GitrampError
from challenge.ledger import Ledger
from challenge.phases import phase_at, utcnow
from challenge.quota import attempt_times, quota_left
from scorer.result import REJECTED, SCORED, Result

SHA_RE = re.compile(r"[0-9a-f]{40}")
LABELS = {"scored": "gitramp:scored", "rejected": "gitramp:rejected",
          "failed": "gitramp:failed"}


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("forge", help="PR comments, statuses and checks on the forge",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True

    e = sub.add_parser("event", help="write the PR metadata of a pull_request event")
    e.add_argument("--event", type=Path, help="event payload (default: $GITHUB_EVENT_PATH)")
    e.add_argument("--out", type=Path, required=True)

    b = sub.add_parser("bundle", help="write the PR head as a git bundle")
    b.add_argument("--repo", type=Path, required=True, help="trusted clone (default branch)")
    b.add_argument("--from", dest="source", type=Path, required=True,
                   help="the clone holding the PR head")
    b.add_argument("--pr", type=int, required=True)
    b.add_argument("--sha", required=True)
    b.add_argument("--out", type=Path, required=True)

    i = sub.add_parser("intake", help="check an artifact against the API and fetch its head")
    i.add_argument("--artifact", type=Path, required=True)
    i.add_argument("--repo", type=Path, required=True, help="trusted clone (default branch)")
    i.add_argument("--sha", required=True, help="the head SHA the triggering run was for")

    rl = sub.add_parser("runner-labels", help="the self-hosted runner labels a kit asks for")
    rl.add_argument("--repo", type=Path, required=True)
    rl.add_argument("--verdict", type=Path, required=True)

    c = sub.add_parser("check-head", help="check through the API that PR N is open at SHA")
    c.add_argument("--pr", type=int, required=True)
    c.add_argument("--sha", required=True)

    s = sub.add_parser("status", help="set the gitramp commit status")
    s.add_argument("--sha", required=True)
    s.add_argument("--state", required=True, choices=("pending", "success", "failure", "error"))
    s.add_argument("--description", default="")
    s.add_argument("--url", default=None)

    r = sub.add_parser("report", help="comment, status and label from a scoring outcome")
    r.add_argument("--pr", type=int, required=True)
    r.add_argument("--sha", required=True)
    r.add_argument("--outcome", type=Path, required=True,
                   help="the JSON `gitramp score --json` or `gitramp validate --json` printed")
    r.add_argument("--repo", type=Path, default=Path("."),
                   help="the challenge repository holding the ledger (default: .)")
    r.add_argument("--site-url", default=os.environ.get("GITRAMP_SITE_URL"),
                   help="the site's address (default: $GITRAMP_SITE_URL)")
    return p


def run(args: argparse.Namespace) -> int:
    return {"event": _event, "bundle": _bundle, "intake": _intake,
            "runner-labels": _runner_labels, "check-head": _check_head, "status": _status,
            "report": _report}[args.action](args)


def _forge():
    from challenge.forge.github import connect

    return connect()


def _sha(text: str) -> str:
    if not SHA_RE.fullmatch(text or ""):
        raise GitrampError(f"{text!r} is not a full 40-hex commit id")
    return text


def _event(args) -> int:
    path = args.event or os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        raise GitrampError("no event: pass --event FILE or set GITHUB_EVENT_PATH")
    event = json.loads(Path(path).read_text())
    pr = event.get("pull_request")
    if not isinstance(pr, dict):
        raise GitrampError(f"{path} is not a pull_request event (no pull_request key)")
    meta = {"number": int(pr["number"]), "author": pr["user"]["login"],
            "head_sha": _sha(pr["head"]["sha"]), "base_sha": _sha(pr["base"]["sha"]),
            "base_ref": pr["base"]["ref"], "head_ref": pr["head"]["ref"],
            "head_repo": (pr["head"].get("repo") or {}).get("full_name", ""),
            "base_repo": (pr["base"].get("repo") or {}).get("full_name", "")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta))
    return 0


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise GitrampError(f"git {' '.join(args[:2])} failed in {repo}: "
                           f"{proc.stderr.strip()[-500:]}")
    return proc.stdout


def _bundle(args) -> int:
    sha, ref = _sha(args.sha), f"refs/pull/{args.pr}/head"
    _git(args.repo, "fetch", "--quiet", "--no-tags", str(args.source.resolve()), f"+{sha}:{ref}")
    default = _git(args.repo, "symbolic-ref", "HEAD").strip()
    # Leave out what the default branch has (the scorer's clone has it too), unless the
    # head is already on it: a bundle may not be empty.
    merged = subprocess.run(["git", "-C", str(args.repo), "merge-base", "--is-ancestor", sha,
                             default], capture_output=True).returncode == 0
    exclude = [] if merged else [f"^{default}"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    _git(args.repo, "bundle", "create", "--quiet", str(args.out.resolve()), ref, *exclude)
    print(f"{args.out}: {ref} at {sha}")
    return 0


def _intake(args) -> int:
    """Take the unprivileged run's artifact in as data: its PR number is the only thing
    read from it, and only what the API and git confirm is used."""
    sha = _sha(args.sha)
    meta = json.loads((args.artifact / "pr.json").read_text())
    number = meta.get("number") if isinstance(meta, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 10**9:
        raise GitrampError(f"{args.artifact}/pr.json holds no valid PR number")
    pr = _checked_pull(number, sha)
    bundle = (args.artifact / "submission.bundle").resolve()
    ref = f"refs/pull/{number}/head"
    _git(args.repo, "bundle", "verify", "--quiet", str(bundle))
    heads = [line.split() for line in _git(args.repo, "bundle", "list-heads",
                                           str(bundle)).splitlines() if line.strip()]
    if heads != [[sha, ref]]:
        raise GitrampError(f"the artifact's bundle must hold exactly {ref} at {sha[:10]}; "
                           f"it holds {heads}")
    # the bundle comes from an untrusted run: have git check every object it takes in
    _git(args.repo, "-c", "fetch.fsckObjects=true", "fetch", "--quiet", "--no-tags",
         str(bundle), f"+{ref}:{ref}")
    _write_outputs({"pr": str(pr.number), "author": pr.author, "head_sha": pr.head_sha,
                    "base_ref": pr.base_ref})
    print(json.dumps(pr.to_dict()))
    return 0


def _runner_labels(args) -> int:
    verdict = json.loads(args.verdict.read_text())
    challenge = ((verdict.get("submission") or {}).get("challenge")
                 if isinstance(verdict, dict) else None)
    labels = ["self-hosted", "gitramp"]
    r = gitrepo.open_repo(args.repo)
    head = gitrepo.head_commit(r)
    loc = next((k for k in gitrepo.find_kits(r, head.tree) if k.name == challenge), None)
    if loc is not None and gitrepo.load_kit_at(r, head, loc).limits.gpus > 0:
        labels.append("gpu")
    _write_outputs({"runs_on": json.dumps(labels, separators=(",", ":"))})
    print(json.dumps(labels))
    return 0


def _checked_pull(number: int, sha: str):
    forge = _forge()
    pr = forge.pull(number)
    if pr.state != "open":
        raise GitrampError(f"PR #{pr.number} is {pr.state}; only open pull requests are scored")
    if pr.head_sha != sha:
        raise GitrampError(f"PR #{pr.number} has moved: its head is {pr.head_sha[:10]}, not "
                           f"{sha[:10]}; the new head will be validated and scored on its own")
    if pr.base_repo and pr.base_repo != os.environ.get("GITHUB_REPOSITORY", pr.base_repo):
        raise GitrampError(f"PR #{pr.number} targets {pr.base_repo}, not this repository")
    return pr


def _check_head(args) -> int:
    """Trust nothing an artifact says: ask the forge for the PR, its author and head."""
    pr = _checked_pull(args.pr, _sha(args.sha))
    _write_outputs({"pr": str(pr.number), "author": pr.author, "head_sha": pr.head_sha,
                    "base_ref": pr.base_ref})
    print(json.dumps(pr.to_dict()))
    return 0


def _write_outputs(values: dict[str, str]) -> None:
    out = os.environ.get("GITHUB_OUTPUT")
    if not out:
        return
    with open(out, "a") as f:
        for k, v in values.items():
            if "\n" in v:
                raise GitrampError(f"output {k} holds a line break; refusing to write it")
            f.write(f"{k}={v}\n")


def _status(args) -> int:
    _forge().set_status(_sha(args.sha), args.state, args.description, target_url=args.url)
    return 0


def _report(args) -> int:
    # the comment's ranking imports the scorer's score types (numpy): measured ~0.3 s,
    # which the other forge verbs need not pay at start-up
    from challenge.forge.comment import render
    from challenge.ranking import rank_of

    sha = _sha(args.sha)
    try:
        outcome = json.loads(args.outcome.read_text())
    except (OSError, ValueError):
        raise GitrampError(f"{args.outcome} holds no outcome: the scoring step failed before "
                           "recording one (see its log)") from None
    if "ok" in outcome:  # a `gitramp validate --json` verdict
        result, records = _validation_result(outcome), []
    else:
        result, records = _ledger_result(args.repo, outcome)
    rank = rank_of(result, records) if result.status == SCORED else None
    url = _page_url(args.site_url, outcome, result)
    body = render(result, rank=rank, quota_left=_quota_left(args.repo, result, records),
                  url=url)
    forge = _forge()
    forge.upsert_comment(args.pr, body)
    if result.status == SCORED:
        state, label = "success", LABELS["scored"]
        p = result.precision.get(result.ranking_score or "", 3)
        v = result.bagged.get("valid", {}).get(result.ranking_score or "")
        desc = f"scored: {result.ranking_score} {v:.{p}f}" if isinstance(v, float) else "scored"
        if rank:
            desc += f", rank {rank[0]}/{rank[1]}"
    else:
        state = "failure"
        label = LABELS["rejected"] if result.status == REJECTED else LABELS["failed"]
        desc = f"{result.status}: {result.reason or ''}"
    forge.set_status(sha, state, desc, target_url=url)
    if getattr(forge, "app", False):  # a GitHub App login can also show a check run
        forge.create_check_run(sha, "gitramp/score", "success" if state == "success"
                               else "failure", desc[:120], body, details_url=url)
    for other in LABELS.values():
        if other != label:
            forge.remove_label(args.pr, other)
    forge.add_labels(args.pr, label)
    print(f"PR #{args.pr}: {result.status}; comment and status {state} posted")
    return 0


def _validation_result(verdict: dict):
    sub = verdict.get("submission") or {}
    reasons = verdict.get("reasons") or []
    return Result(challenge=sub.get("challenge") or "?", submission=sub.get("name") or "?",
                  status=REJECTED if not verdict.get("ok") else "scored",
                  reason="; ".join(f"{r['rule']}: {r['message']}" for r in reasons) or None,
                  stage=reasons[0]["rule"] if reasons else None, team=sub.get("team"),
                  commit=sub.get("commit"), tree=sub.get("tree"))


def _ledger_result(repo: Path, outcome: dict):
    ledger = Ledger(repo)
    record = ledger.read(outcome["path"]) if outcome.get("path") else None
    if record is None:
        result = Result(challenge=outcome.get("challenge") or "?",
                        submission=outcome.get("submission") or "?",
                        status=outcome.get("status") if outcome.get("status") in (
                            "rejected", "error") else "error",
                        reason=outcome.get("reason") or outcome.get("message"),
                        team=outcome.get("team"), commit=outcome.get("commit"),
                        tree=outcome.get("tree"))
        return result, []
    result = Result.from_dict(record)
    return result, ledger.records(result.challenge)


def _page_url(site: str | None, outcome: dict, result) -> str | None:
    if not site or not outcome.get("path"):
        return site
    from site_generator.build import submission_page  # the site's modules: ~0.2 s to import

    page = submission_page(result.submission, Path(outcome["path"]).stem)
    return f"{site.rstrip('/')}/{result.challenge}/{page}"


def _quota_left(repo: Path, result, records) -> str | None:
    """"N submission(s) left today (closed phase)": validation's count of the quota, from
    the kit's phase and the ledger."""
    if not result.team:
        return None
    try:
        r = gitrepo.open_repo(repo)
        head = gitrepo.head_commit(r)
        loc = next((k for k in gitrepo.find_kits(r, head.tree) if k.name == result.challenge),
                   None) if head else None
        kit = gitrepo.load_kit_at(r, head, loc) if loc else None
    except GitrampError:
        return None
    if kit is None:
        return None
    now = utcnow()
    times = attempt_times(records, kit.name, result.team)
    return quota_left(phase_at(kit, now).phase, times, now).describe()
