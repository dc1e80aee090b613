"""`gitramp forge`: the forge operations a workflow step needs, configured from the
environment GitHub gives a job (GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN,
GITHUB_EVENT_PATH, GITHUB_OUTPUT).

    gitramp forge event --out pr.json          PR metadata from a pull_request event
    gitramp forge bundle --repo R --from CLONE --pr N --sha SHA --out F
                                               the PR head as a git bundle (artifact data)
    gitramp forge intake [--run-id ID] --artifact DIR --repo R --sha SHA
                                               take an artifact in, trusting only the API:
                                               the PR is open at SHA, the bundle holds SHA
                                               and nothing its ref does not reach; with
                                               --run-id, download it first (size-capped)
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
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from challenge import repo as gitrepo
from challenge.errors import GitrampError
from challenge.kit import parse_size
from challenge.ledger import Ledger
from challenge.phases import phase_at, utcnow
from challenge.quota import attempt_times, quota_left
from scorer.result import ERROR, REJECTED, SCORED, Result, ResultFormatError
from scorer.untrusted import LINE_CHARS, NAME_CHARS, REASON_CHARS, clean_identifier, clean_text

SHA_RE = re.compile(r"[0-9a-f]{40}")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # kits, submissions, teams
LABELS = {"scored": "gitramp:scored", "rejected": "gitramp:rejected",
          "failed": "gitramp:failed"}
# What crosses from the unprivileged run into the runner is capped before it is read.
ARTIFACT = "gitramp-submission"
MIB = 1 << 20
DEFAULT_MAX_BUNDLE = 32 * MIB  # GITRAMP_MAX_BUNDLE_BYTES; the artifact: this + 1 MiB
PR_JSON_MAX = 64 << 10
STATUS_CHARS = 140  # GitHub's limit on a commit status description


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
    i.add_argument("--artifact", type=Path, required=True,
                   help="the artifact's folder (with --run-id: where to download it)")
    i.add_argument("--repo", type=Path, required=True, help="trusted clone (default branch)")
    i.add_argument("--sha", required=True, help="the head SHA the triggering run was for")
    i.add_argument("--run-id", type=int, default=None,
                   help="download the run's gitramp-submission artifact through the API, "
                        "refused unread when the listing says it is over the cap")
    i.add_argument("--max-bundle-bytes", default=None, metavar="SIZE",
                   help="cap on the bundle (default: $GITRAMP_MAX_BUNDLE_BYTES or 32MB)")
    i.add_argument("--max-artifact-bytes", default=None, metavar="SIZE",
                   help="cap on the zipped artifact (default: $GITRAMP_MAX_ARTIFACT_BYTES or "
                        "the bundle cap + 1MB)")

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
    from challenge.forge.github import connect  # github3.py: only the verbs that call GitHub


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
    read from it, and only what the API and git confirm is used. Every byte of it is
    bounded before it is read: the artifact by its listed size (before the download)
    and while it streams, the bundle by its size and by what it may hold."""
    sha = _sha(args.sha)
    max_bundle = _size_cap(args.max_bundle_bytes, "GITRAMP_MAX_BUNDLE_BYTES",
                           DEFAULT_MAX_BUNDLE)
    max_artifact = _size_cap(args.max_artifact_bytes, "GITRAMP_MAX_ARTIFACT_BYTES",
                             max_bundle + MIB)
    if args.run_id is not None:
        _download_artifact(args.run_id, sha, args.artifact, max_artifact, max_bundle)
    try:
        meta = json.loads(_read_capped(args.artifact / "pr.json", PR_JSON_MAX))
    except ValueError:
        meta = None
    number = meta.get("number") if isinstance(meta, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 10**9:
        raise GitrampError(f"{args.artifact}/pr.json holds no valid PR number")
    pr = _checked_pull(number, sha)
    _take_bundle(args.repo, args.artifact / "submission.bundle", sha,
                 f"refs/pull/{number}/head", max_bundle)
    _write_outputs({"pr": str(pr.number), "author": pr.author, "head_sha": pr.head_sha,
                    "base_ref": pr.base_ref})
    print(json.dumps(pr.to_dict()))
    return 0


def _size_cap(value: str | None, env: str, default: int) -> int:
    raw = value if value not in (None, "") else os.environ.get(env, "").strip()
    if raw in (None, ""):
        return default
    size = parse_size(raw)
    if not size or size <= 0:
        raise GitrampError(f"{env}: {raw!r} is not a size (say e.g. 32MB or 33554432)")
    return size


def _checked_size(path: Path, cap: int, knob: str = "") -> int:
    """The size of an artifact's file, which must be a regular file (not a link) within
    `cap` bytes; checked before anything reads it."""
    import stat

    try:
        st = path.lstat()
    except OSError:
        raise GitrampError(f"the artifact holds no {path.name}") from None
    if not stat.S_ISREG(st.st_mode):
        raise GitrampError(f"the artifact's {path.name} is not a regular file")
    if st.st_size > cap:
        raise GitrampError(f"the artifact's {path.name} is {st.st_size} bytes, over the cap "
                           f"of {cap}{f' ({knob})' if knob else ''}; a submission is a few "
                           "files: refused before anything read it")
    return st.st_size


def _read_capped(path: Path, cap: int) -> bytes:
    _checked_size(path, cap)
    with path.open("rb") as f:
        return f.read(cap)


def _download_artifact(run_id: int, sha: str, dest: Path, max_artifact: int,
                       max_bundle: int) -> None:
    """Download the run's artifact through the API into `dest`: refused unread when the
    listing gives a size over `max_artifact`, cut off when more arrives than listed, and
    only its two expected files extracted, each within its own cap. The token goes to
    the API only; the archive's signed address (another host) gets no credentials."""
    import io
    import zipfile

    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    api = (os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    token = os.environ.get("GITHUB_TOKEN")
    if repository.count("/") != 1 or not token:
        raise GitrampError("downloading an artifact needs GITHUB_REPOSITORY and GITHUB_TOKEN "
                           "(with `permissions: actions: read`)")
    session = requests.Session()
    retry = Retry(total=4, backoff_factor=1.0, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=("GET",), raise_on_status=False)
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    auth = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    where = f"{api}/repos/{repository}/actions"
    r = session.get(f"{where}/runs/{run_id}/artifacts", headers=auth, timeout=60,
                    params={"name": ARTIFACT, "per_page": 100})
    if r.status_code != 200:
        raise GitrampError(f"listing the artifacts of run {run_id} failed: HTTP "
                           f"{r.status_code} (the job needs `permissions: actions: read`)")
    listed = [a for a in (r.json().get("artifacts") or []) if isinstance(a, dict)
              and a.get("name") == ARTIFACT and not a.get("expired")]
    if len(listed) != 1:
        raise GitrampError(f"run {run_id} has {len(listed)} unexpired artifact(s) named "
                           f"{ARTIFACT}; expected one")
    artifact = listed[0]
    size, artifact_id = artifact.get("size_in_bytes"), artifact.get("id")
    if not isinstance(size, int) or not isinstance(artifact_id, int):
        raise GitrampError(f"the listing of run {run_id}'s artifact gives no size or id")
    if size > max_artifact:
        raise GitrampError(f"the artifact {ARTIFACT} of run {run_id} is {size} bytes, over "
                           f"the cap of {max_artifact} (GITRAMP_MAX_ARTIFACT_BYTES); a "
                           "submission is a few files: refused without downloading it")
    head = (artifact.get("workflow_run") or {}).get("head_sha")
    if head not in (None, sha):
        raise GitrampError(f"the artifact of run {run_id} was made for {str(head)[:10]}, "
                           f"not {sha[:10]}")
    r = session.get(f"{where}/artifacts/{artifact_id}/zip", headers=auth, timeout=60,
                    allow_redirects=False, stream=True)
    if r.is_redirect:  # to a signed address that carries its own grant: no token there
        location = r.headers.get("Location", "")
        r.close()
        r = session.get(location, timeout=60, stream=True)
    if r.status_code != 200:
        raise GitrampError(f"downloading the artifact of run {run_id} failed: HTTP "
                           f"{r.status_code}")
    data = io.BytesIO()
    for chunk in r.iter_content(1 << 16):
        data.write(chunk)
        if data.tell() > max_artifact:
            r.close()
            raise GitrampError(f"the artifact of run {run_id} sent more than its cap of "
                               f"{max_artifact} bytes; refused")
    caps = {"pr.json": PR_JSON_MAX, "submission.bundle": max_bundle}
    try:
        archive = zipfile.ZipFile(data)
        members = [m for m in archive.infolist() if m.filename in caps]
        if len({m.filename for m in members}) != len(members):
            raise GitrampError(f"the artifact of run {run_id} holds a file twice")
        dest.mkdir(parents=True, exist_ok=True)
        for m in members:
            cap = caps[m.filename]
            if m.file_size > cap:
                raise GitrampError(f"the artifact's {m.filename} is {m.file_size} bytes, "
                                   f"over the cap of {cap} (GITRAMP_MAX_BUNDLE_BYTES for "
                                   "the bundle)")
            out = dest / m.filename
            out.unlink(missing_ok=True)
            with archive.open(m) as src, out.open("xb") as f:
                copied = 0
                while chunk := src.read(1 << 16):
                    copied += len(chunk)
                    if copied > cap:
                        raise GitrampError(f"the artifact's {m.filename} inflates past its "
                                           f"cap of {cap} bytes; refused")
                    f.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
        raise GitrampError(f"the artifact of run {run_id} is not a readable zip: {e}") from None


def _bundle_header(bundle: Path, sha: str, ref: str) -> tuple[list[str], int]:
    """(prerequisite commits, offset of the pack) of a bundle whose one ref must be `ref`
    at `sha`; read line by line, with a bound, before git sees the file."""
    prerequisites, refs = [], []
    with bundle.open("rb") as f:
        signature = f.readline(64)
        if signature not in (b"# v2 git bundle\n", b"# v3 git bundle\n"):
            raise GitrampError("the artifact's bundle is not a git bundle (v2 or v3)")
        while True:
            line = f.readline(1024)
            if not line.endswith(b"\n") or f.tell() > 64 * 1024:
                raise GitrampError("the artifact's bundle has a malformed header")
            text = line[:-1].decode("ascii", "replace")
            if not text:
                break
            if text.startswith("@"):
                if text != "@object-format=sha1":
                    raise GitrampError(f"the artifact's bundle asks for {text[:60]!r}; only "
                                       "plain sha1 bundles are taken")
            elif text.startswith("-"):
                prerequisites.append(_sha(text[1:].split(" ", 1)[0]))
            else:
                refs.append(text.split(" ", 1))
        offset = f.tell()
    if refs != [[sha, ref]]:
        raise GitrampError(f"the artifact's bundle must hold exactly {ref} at {sha[:10]}; "
                           f"it holds {[' '.join(r)[:100] for r in refs[:5]]}")
    return prerequisites, offset


def _take_bundle(repo: Path, bundle: Path, sha: str, ref: str, max_bytes: int) -> None:
    """Fetch `ref` from an untrusted bundle into the trusted clone, refusing (before git
    reads more than its header) a bundle over `max_bytes`, and (before anything reaches
    the clone) one whose pack carries an object that `ref` does not reach and the clone
    does not already have. The pack is indexed and checked in a quarantine repository
    that borrows the clone's objects; only what `ref` reaches is then fetched from it."""
    import tempfile

    _checked_size(bundle, max_bytes, "GITRAMP_MAX_BUNDLE_BYTES")
    prerequisites, offset = _bundle_header(bundle, sha, ref)
    _git(repo, "bundle", "verify", "--quiet", str(bundle.resolve()))
    objects = Path(_git(repo, "rev-parse", "--path-format=absolute", "--git-path",
                        "objects").strip())
    with tempfile.TemporaryDirectory(prefix="gitramp-quarantine-") as tmp:
        quarantine = Path(tmp) / "quarantine.git"
        _git(Path(tmp), "init", "--quiet", "--bare", str(quarantine))
        (quarantine / "objects" / "info" / "alternates").write_text(f"{objects}\n")
        with bundle.open("rb") as f:
            f.seek(offset)
            proc = subprocess.run(["git", "-C", str(quarantine), "index-pack", "--stdin",
                                   "--fix-thin", "--strict", f"--max-input-size={max_bytes}"],
                                  stdin=f, capture_output=True, text=True)
        if proc.returncode != 0:
            raise GitrampError("the artifact's bundle holds no valid pack: "
                               f"{proc.stderr.strip()[-300:]}")
        pack = proc.stdout.split()[-1]
        with (quarantine / "objects" / "pack" / f"pack-{pack}.idx").open("rb") as idx:
            listing = subprocess.run(["git", "show-index"], stdin=idx, capture_output=True,
                                     text=True, check=True).stdout
        carried = [line.split()[1] for line in listing.splitlines()]
        reached = set(_git(quarantine, "rev-list", "--objects", "--no-object-names", sha,
                           "--not", *prerequisites).split())
        others = [o for o in carried if o not in reached]
        if others:
            check = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-check"],
                                   input="".join(f"{o}\n" for o in others),
                                   capture_output=True, text=True, check=True).stdout
            unknown = [line.split()[0] for line in check.splitlines()
                       if line.endswith(" missing")]
            if unknown:
                raise GitrampError(
                    f"the artifact's bundle carries {len(unknown)} object(s) that {ref} does "
                    f"not reach (e.g. {unknown[0][:10]}); a submission's bundle holds its "
                    "own commits only: refused, nothing of it was kept")
        _git(quarantine, "update-ref", ref, sha)
        # only what the ref reaches crosses, and git checks each object it takes in
        _git(repo, "-c", "fetch.fsckObjects=true", "fetch", "--quiet", "--no-tags",
             str(quarantine), f"+{ref}:{ref}")


def _runner_labels(args) -> int:
    """The runner labels a valid submission's kit asks for (`gpu`), and which kit,
    submission and team the verdict names: the scoring job's concurrency group is the
    team's, and the public-data run needs the kit's folder and the submission's name."""
    verdict = json.loads(args.verdict.read_text())
    submission = (verdict.get("submission") or {}) if isinstance(verdict, dict) else {}
    challenge = submission.get("challenge")
    labels = ["self-hosted", "gitramp"]
    r = gitrepo.open_repo(args.repo)
    head = gitrepo.head_commit(r)
    loc = next((k for k in gitrepo.find_kits(r, head.tree) if k.name == challenge), None)
    if loc is not None and gitrepo.load_kit_at(r, head, loc).limits.gpus > 0:
        labels.append("gpu")
    outputs = {"runs_on": json.dumps(labels, separators=(",", ":"))}
    if loc is not None and submission.get("name") is not None:  # a valid submission's
        names = {"challenge": challenge, "submission": submission.get("name")}
        for key, value in names.items():
            if not isinstance(value, str) or not NAME_RE.fullmatch(value):
                raise GitrampError(f"the verdict's {key} {str(value)[:60]!r} is not a plain "
                                   "name")
        team = str(submission.get("team") or "")
        if not NAME_RE.fullmatch(team):  # teams.yml may name a team freely: key it by hash
            team = "team-" + hashlib.sha256(team.encode()).hexdigest()[:16]
        outputs.update(kit=loc.path() or ".", **names, team=team)
    _write_outputs(outputs)
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
    # a status is plain text of at most 140 characters; the reason quotes the submission
    desc = clean_text(desc, STATUS_CHARS)
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
    """The rejection (or acceptance) a `gitramp validate --json` verdict tells, read as
    data: it crossed from the unprivileged job, so every field is type-checked and every
    text cleaned (Result cleans them again when it is rendered)."""
    sub = verdict.get("submission") if isinstance(verdict.get("submission"), dict) else {}
    raw = verdict.get("reasons") if isinstance(verdict.get("reasons"), list) else []
    reasons = [(clean_identifier(r.get("rule")) or "invalid",
                clean_text(r.get("message"), REASON_CHARS))
               for r in raw if isinstance(r, dict)]
    if not reasons and verdict.get("ok") is not True:
        reasons = [("invalid", "the submission was not accepted")]

    def text(key: str) -> str | None:
        return clean_text(sub.get(key), NAME_CHARS) or None

    return Result(challenge=text("challenge") or "?", submission=text("name") or "?",
                  status=REJECTED if reasons else SCORED,
                  reason=clean_text("; ".join(f"{rule}: {msg}" for rule, msg in reasons),
                                    REASON_CHARS) or None,
                  stage=reasons[0][0] if reasons else None, team=text("team"),
                  commit=text("commit"), tree=text("tree"))


def _ledger_result(repo: Path, outcome: dict):
    ledger = Ledger(repo)
    path = outcome.get("path") if isinstance(outcome.get("path"), str) else None
    try:
        record = ledger.read(path) if path else None
        result = Result.from_dict(record) if record is not None else None
    except (GitrampError, ResultFormatError, TypeError, KeyError) as e:
        # a record that does not read back (written by an older gitramp) is reported,
        # and the participant still gets the outcome
        print(f"warning: {path}: {e}", file=sys.stderr)
        result = None
    if result is None:
        status = outcome.get("status")
        result = Result(challenge=clean_text(outcome.get("challenge"), NAME_CHARS) or "?",
                        submission=clean_text(outcome.get("submission"), NAME_CHARS) or "?",
                        status=status if status in (REJECTED, ERROR) else ERROR,
                        reason=clean_text(outcome.get("reason") or outcome.get("message"),
                                          REASON_CHARS) or None,
                        team=clean_text(outcome.get("team"), NAME_CHARS) or None,
                        commit=clean_text(outcome.get("commit"), NAME_CHARS) or None,
                        tree=clean_text(outcome.get("tree"), NAME_CHARS) or None)
        return result, []
    records = ledger.records(result.challenge)
    for where, why in ledger.skipped.items():
        print("warning: ledger record skipped: " + clean_text(f"{where}: {why}", LINE_CHARS),
              file=sys.stderr)
    return result, records


def _page_url(site: str | None, outcome: dict, result) -> str | None:
    if not site or not outcome.get("path"):
        return site
    from site_generator.model import submission_page  # the site's modules: ~0.2 s to import

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
