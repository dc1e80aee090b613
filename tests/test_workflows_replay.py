"""Replaying the workflows: each job's `run:` steps, in order, with the environment GitHub
gives them, against a local bare repository (the hub on "GitHub") and the local GitHub
server. `uses:` steps are emulated minimally: checkout clones the bare repository at the
ref, upload/download-artifact copy folders, the Pages actions copy the site. Each job
gets a token holding exactly the permissions its `permissions:` block grants, so the
replay also proves those permissions are enough.

A fork's pull request goes from opened to validated, approved, scored in Docker,
recorded in the ledger, commented and given a status, and the site is built; a pull
request touching `.github/` or another team's folder is rejected with its reason and
never scored.
"""

from __future__ import annotations

import hashlib
import html
import io
import itertools
import json
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2
import pytest
import yaml

from challenge.hub import build_hub, commit_files
from challenge.ledger import Ledger
from scorer.result import SCORED, FoldScores, Result
from tests.conftest import ROOT
from tests.github_server import GitHubServer

WORKFLOWS = ROOT / ".github" / "workflows"
KITS = ROOT / "kits"
HUB = "organizers/iris-hub"
SITE_URL = "https://organizers.example/iris-hub"
STATUS_FUNCS = ("success()", "failure()", "always()", "cancelled()")


# --------------------------------------------------------------------------- expressions
TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)
                       |(?P<op>==|!=|&&|\|\||!|\(|\)|,)
                       |(?P<name>[A-Za-z_][\w-]*(?:\.[\w-]+|\.\*)*))""", re.X)


def evaluate(expr: str, ctx: dict):
    """A GitHub Actions expression: literals, context paths, ==, !=, &&, ||, !, and the
    functions the workflows use. && and || return an operand, as GitHub's do."""
    out, pos, expr = [], 0, expr.strip()
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot parse expression {expr!r} at {pos}")
        pos = m.end()
        if m["str"]:
            out.append(repr(m["str"][1:-1].replace("''", "'")))
        elif m["num"]:
            out.append(m["num"])
        elif m["op"]:
            out.append({"&&": " and ", "||": " or ", "!": " not "}.get(m["op"], m["op"]))
        else:
            name = m["name"]
            if expr[pos:].lstrip().startswith("("):
                out.append(f"_f[{name!r}]")
            elif name in ("true", "false", "null"):
                out.append({"true": "True", "false": "False", "null": "None"}[name])
            else:
                out.append(f"_get({name!r})")

    def get(path: str):
        value = ctx
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def hash_files(*patterns: str) -> str:
        root = Path(ctx["github"].get("workspace", "."))
        files = sorted(p for pat in patterns for p in root.glob(pat) if p.is_file())
        if not files:
            return ""
        return hashlib.sha256(b"".join(hashlib.sha256(p.read_bytes()).digest()
                                       for p in files)).hexdigest()

    funcs = {"success": lambda: ctx["_status"] == "success", "hashFiles": hash_files,
             "failure": lambda: ctx["_status"] == "failure",
             "always": lambda: True, "cancelled": lambda: False,
             "fromJSON": json.loads, "toJSON": json.dumps,
             "contains": lambda a, b: b in a, "startsWith": lambda a, b: a.startswith(b)}
    return eval("".join(out), {"__builtins__": {}}, {"_get": get, "_f": funcs})  # noqa: S307


def interpolate(value, ctx: dict):
    if not isinstance(value, str):
        return value
    whole = re.fullmatch(r"\s*\$\{\{(.*?)\}\}\s*", value, re.S)
    if whole:
        return evaluate(whole[1], ctx)
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _text(evaluate(m[1], ctx)), value)


def _text(v) -> str:
    return "" if v is None else ("true" if v is True else "false" if v is False else str(v))


def condition(step_or_job: dict, ctx: dict) -> bool:
    cond = str(step_or_job.get("if", "")).strip()
    cond = re.sub(r"^\$\{\{(.*)\}\}$", r"\1", cond, flags=re.S).strip()
    if not cond:
        return ctx["_status"] == "success"
    if not any(f in cond for f in STATUS_FUNCS):
        cond = f"success() && ({cond})"
    return bool(evaluate(cond, ctx))


# --------------------------------------------------------------------------- the runner
@dataclass
class JobRun:
    name: str
    result: str
    outputs: dict[str, str]
    steps: dict[str, dict]
    log: list[str] = field(default_factory=list)
    runs_on: object = None
    environment: str | None = None


@dataclass
class Replay:
    """GitHub, as far as the workflows can tell: a bare repository, the API server,
    artifact storage and per-run environments."""

    tmp: Path
    origin: Path
    github: GitHubServer
    runner_env: dict[str, str]
    vars: dict[str, str]
    _runs: itertools.count = field(default_factory=lambda: itertools.count(9001))
    _tokens: itertools.count = field(default_factory=lambda: itertools.count(1))
    # the environments configured with required reviewers (docs/security.md); a job in
    # any other environment starts without anyone's approval
    reviewed: frozenset[str] = frozenset({"gitramp-scoring", "gitramp-organizer"})
    caches: list[dict] = field(default_factory=list)  # actions/cache entries, oldest first

    def workflow(self, name: str) -> dict:
        data = yaml.safe_load((WORKFLOWS / name).read_text())
        data["on"] = data.pop(True, data.get("on"))
        return data

    def run_workflow(self, name: str, event_name: str, event: dict,
                     approve: bool = True, hold: frozenset[str] = frozenset()
                     ) -> tuple[int, dict[str, JobRun]]:
        """Run the workflow's jobs in order. Without `approve`, a job in a reviewed
        environment waits; a job named in `hold` that would start is recorded as `held`
        (started, its steps not replayed: for a job that needs Docker)."""
        wf = self.workflow(name)
        assert event_name in wf["on"], f"{name} does not run on {event_name}"
        run_id = next(self._runs)
        event_path = self.tmp / f"event-{run_id}.json"
        event_path.write_text(json.dumps(event))
        jobs: dict[str, JobRun] = {}
        for job_name, job in wf["jobs"].items():  # the workflows' needs follow file order
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            needs_ctx = {n: {"result": jobs[n].result, "outputs": jobs[n].outputs}
                         for n in needs}
            ctx = self._context(event_name, event, run_id, wf, job, needs_ctx)
            ctx["_status"] = "success" if all(jobs[n].result == "success" for n in needs) \
                else "failure"
            if not condition(job, ctx):
                jobs[job_name] = JobRun(job_name, "skipped", {}, {})
                continue
            environment = job.get("environment")
            if isinstance(environment, dict):
                environment = environment.get("name")
            if environment in self.reviewed and not approve:
                jobs[job_name] = JobRun(job_name, "waiting", {}, {}, environment=environment)
                continue
            if job_name in hold:
                jobs[job_name] = JobRun(job_name, "held", {}, {},
                                        runs_on=interpolate(job["runs-on"], ctx),
                                        environment=environment)
                continue
            jobs[job_name] = self._run_job(job_name, job, ctx, event_path, run_id, wf)
        return run_id, jobs

    def _context(self, event_name, event, run_id, wf, job, needs_ctx) -> dict:
        perms = job.get("permissions", wf.get("permissions", {})) or {}
        token = f"ghs_job{next(self._tokens)}"
        self.github.add_token(token, permissions={k.replace("-", "_"): v
                                                  for k, v in perms.items()})
        inputs = event.get("inputs", {}) if event_name == "workflow_dispatch" else {}
        return {"github": {"event": event, "event_name": event_name, "token": token,
                           "repository": HUB, "run_id": str(run_id), "run_attempt": "1"},
                "vars": self.vars, "inputs": inputs, "needs": needs_ctx, "steps": {},
                "runner": {}, "env": {}, "_perms": perms}

    def _run_job(self, name, job, ctx, event_path, run_id, wf) -> JobRun:
        work = self.tmp / f"run{run_id}-{name}"
        workspace, temp = work / "workspace", work / "temp"
        workspace.mkdir(parents=True)
        temp.mkdir()
        ctx["runner"] = {"temp": str(temp), "os": "Linux"}
        ctx["github"]["workspace"] = str(workspace)
        runs_on = interpolate(job["runs-on"], ctx)
        self_hosted = "self-hosted" in (runs_on if isinstance(runs_on, list) else [runs_on])
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
               "HOME": str(self.tmp / "home"), "LANG": "C.UTF-8",
               "CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux",
               "RUNNER_TEMP": str(temp), "GITHUB_WORKSPACE": str(workspace),
               "GITHUB_EVENT_NAME": ctx["github"]["event_name"],
               "GITHUB_EVENT_PATH": str(event_path), "GITHUB_REPOSITORY": HUB,
               "GITHUB_REPOSITORY_OWNER": HUB.split("/")[0], "GITHUB_RUN_ID": str(run_id),
               "GITHUB_API_URL": self.github.api_url, "GITHUB_SERVER_URL": self.github.url,
               "GITHUB_JOB": name, **self._refs(ctx)}
        if self_hosted:
            env.update(self.runner_env)  # the runner host's .env
        for k, v in (job.get("env") or {}).items():
            env[k] = _text(interpolate(v, ctx))
        run = JobRun(name, "success", {}, ctx["steps"], runs_on=runs_on,
                     environment=(job.get("environment") or {}).get("name")
                     if isinstance(job.get("environment"), dict) else job.get("environment"))
        for i, step in enumerate(job["steps"]):
            sid = step.get("id", f"_{i}")
            if not condition(step, ctx):
                ctx["steps"][sid] = {"outcome": "skipped", "conclusion": "skipped",
                                     "outputs": {}}
                continue
            step_env = {**env, **{k: _text(interpolate(v, ctx))
                                  for k, v in (step.get("env") or {}).items()}}
            outputs: dict[str, str] = {}
            try:
                if "uses" in step:
                    outputs = self._uses(step, ctx, workspace, run_id)
                    ok = True
                else:
                    ok, outputs, text = self._shell(step["run"], step_env, workspace, temp)
                    run.log.append(f"$ {step.get('name', sid)}\n{text}")
            except StepFailed as e:
                ok = False
                run.log.append(f"{step.get('name', sid)}: {e}")
            outcome = "success" if ok else "failure"
            ctx["steps"][sid] = {"outcome": outcome, "conclusion": outcome, "outputs": outputs}
            if not ok:
                ctx["_status"] = run.result = "failure"
        run.outputs = {k: _text(interpolate(v, ctx)) for k, v in
                       (job.get("outputs") or {}).items()}
        return run

    def _refs(self, ctx: dict) -> dict[str, str]:
        """GITHUB_REF and GITHUB_SHA as GitHub sets them for each event."""
        event, name = ctx["github"]["event"], ctx["github"]["event_name"]
        main = str(pygit2.Repository(str(self.origin)).references["refs/heads/main"].target)
        if name == "pull_request":
            pr = event["pull_request"]
            return {"GITHUB_REF": f"refs/pull/{pr['number']}/merge",
                    "GITHUB_SHA": pr["head"]["sha"], "GITHUB_HEAD_REF": pr["head"]["ref"],
                    "GITHUB_BASE_REF": pr["base"]["ref"]}
        return {"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": main}

    # ------------------------------------------------------------------ run: steps
    def _shell(self, script: str, env: dict, workspace: Path, temp: Path):
        out_file = temp / f"output-{next(self._tokens)}"
        out_file.touch()
        script_file = temp / f"step-{next(self._tokens)}.sh"
        script_file.write_text(script)
        env = {**env, "GITHUB_OUTPUT": str(out_file), "GITHUB_ENV": str(temp / "env"),
               "GITHUB_PATH": str(temp / "path")}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail",
                               str(script_file)], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=900)
        return proc.returncode == 0, parse_outputs(out_file.read_text()), \
            proc.stdout[-3000:] + proc.stderr[-3000:]

    # ------------------------------------------------------------------ uses: steps
    def _uses(self, step: dict, ctx: dict, workspace: Path, run_id: int) -> dict:
        action = step["uses"].split("@")[0]
        w = {k: _text(interpolate(v, ctx)) for k, v in (step.get("with") or {}).items()}
        if action == "actions/checkout":
            assert w.get("persist-credentials") == "false"
            return self._checkout(workspace / w.get("path", "."), w.get("ref") or None, ctx)
        if action in ("actions/upload-artifact", "actions/upload-pages-artifact"):
            name = w.get("name", "github-pages")
            src = Path(w["path"])
            if not src.exists() or not any(src.iterdir()):
                raise StepFailed(f"no files found at {src}")
            shutil.copytree(src, self.tmp / "artifacts" / str(run_id) / name)
            if action == "actions/upload-artifact":  # listed and served by the API too
                pr = ctx["github"]["event"].get("pull_request") or {}
                self.publish_artifact(run_id, name, head_sha=pr.get("head", {}).get("sha", ""))
            return {}
        if action == "actions/download-artifact":
            source_run = w.get("run-id") or str(run_id)
            if source_run != str(run_id):
                assert ctx["_perms"].get("actions") in ("read", "write"), \
                    "downloading another run's artifact needs actions: read"
            src = self.tmp / "artifacts" / source_run / w["name"]
            if not src.exists():
                raise StepFailed(f"artifact {w['name']} not found in run {source_run}")
            shutil.copytree(src, w["path"], dirs_exist_ok=True)
            return {}
        if action == "actions/deploy-pages":
            assert ctx["_perms"].get("pages") == "write"
            assert ctx["_perms"].get("id-token") == "write"
            return {"page_url": SITE_URL + "/"}
        if action == "actions/setup-python":
            return {}
        if action in ("actions/cache/restore", "actions/cache/save"):
            return self._cache(action.rsplit("/", 1)[1], w, ctx, workspace,
                               str(step["with"]["path"]))
        raise AssertionError(f"no emulation for {action}")

    def _cache(self, verb: str, w: dict, ctx: dict, workspace: Path, listing: str) -> dict:
        """actions/cache as GitHub keeps it: an entry is the listed paths under a key and
        a version (the list itself: `listing`, as written, since runner.temp is the same
        folder on every hosted runner but not in this replay), never overwritten; a run
        restores the exact key, else the newest entry whose key starts with a restore
        key, among its own ref's entries and the default branch's."""
        listed = [line.strip() for line in w["path"].splitlines() if line.strip()]
        paths = [workspace / line for line in listed]  # an absolute path stays as it is
        version = listing
        ref = self._refs(ctx)["GITHUB_REF"]
        if verb == "save":
            if any(c["key"] == w["key"] and c["version"] == version and c["ref"] == ref
                   for c in self.caches):
                return {}  # GitHub warns that the key is taken, and saves nothing
            folder = self.tmp / "caches" / str(len(self.caches))
            for i, path in enumerate(paths):
                if path.is_dir():
                    shutil.copytree(path, folder / str(i))
            self.caches.append({"key": w["key"], "version": version, "ref": ref,
                                "folder": folder})
            return {}
        seen = [c for c in self.caches if c["version"] == version
                and c["ref"] in (ref, "refs/heads/main")]
        hit = next((c for c in reversed(seen) if c["key"] == w["key"]), None)
        for prefix in (line.strip() for line in w.get("restore-keys", "").splitlines()):
            if hit is None and prefix:
                hit = next((c for c in reversed(seen) if c["key"].startswith(prefix)), None)
        if hit is None:
            return {"cache-hit": "false"}
        for i, path in enumerate(paths):
            if (hit["folder"] / str(i)).is_dir():
                shutil.copytree(hit["folder"] / str(i), path, dirs_exist_ok=True)
        return {"cache-hit": str(hit["key"] == w["key"]).lower(),
                "cache-matched-key": hit["key"]}

    def publish_artifact(self, run_id: int, name: str, *, head_sha: str,
                         files: dict[str, bytes] | None = None,
                         size_in_bytes: int | None = None) -> None:
        """Make the run's artifact `name` what the API lists and serves (zipped as GitHub
        zips an uploaded folder); with `files`, replace its content first, as a pull
        request that rewrote its own workflow could."""
        folder = self.tmp / "artifacts" / str(run_id) / name
        if files is not None:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            for rel, data in files.items():
                (folder / rel).write_bytes(data)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(folder.rglob("*")):
                if f.is_file():
                    z.write(f, f.relative_to(folder).as_posix())
        self.github.add_artifact(HUB, run_id, name, buffer.getvalue(), head_sha=head_sha,
                                 size_in_bytes=size_in_bytes)

    def _checkout(self, dest: Path, ref: str | None, ctx: dict) -> dict:
        git = ["git", "-c", "advice.detachedHead=false"]
        subprocess.run([*git, "clone", "--quiet", str(self.origin), str(dest)], check=True)
        subprocess.run([*git, "-C", str(dest), "fetch", "--quiet", "origin",
                        "+refs/pull/*:refs/remotes/origin/pull/*"], check=True)
        if ref is None and ctx["github"]["event_name"] == "pull_request":
            raise AssertionError("checking out a pull_request's merge ref is not emulated")
        if ref and re.fullmatch(r"[0-9a-f]{40}", ref):
            subprocess.run([*git, "-C", str(dest), "checkout", "--quiet", "--detach", ref],
                           check=True)
        elif ref and ref.startswith("refs/pull/"):
            remote = "refs/remotes/origin/pull/" + ref.removeprefix("refs/pull/")
            subprocess.run([*git, "-C", str(dest), "checkout", "--quiet", "--detach", remote],
                           check=True)
        elif ref:
            subprocess.run([*git, "-C", str(dest), "checkout", "--quiet", "-B", ref,
                            f"origin/{ref}"], check=True)
        # a fresh clone of the bare repository: no credentials are stored anywhere
        assert "extraheader" not in (dest / ".git" / "config").read_text()
        return {}


class StepFailed(Exception):
    pass


def parse_outputs(text: str) -> dict[str, str]:
    out, lines = {}, iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<")[0]:
            key, marker = line.split("<<", 1)
            out[key] = "\n".join(itertools.takewhile(lambda x, m=marker: x != m, lines))
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out


# --------------------------------------------------------------------------- fixtures
def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def hub(tmp_path):
    """The hub on "GitHub": a bare repository with the iris kit, in its closed phase."""
    start = datetime.now(UTC) - timedelta(hours=1)
    work = build_hub(tmp_path / "setup", KITS, ["iris"], start)
    origin = tmp_path / "origin.git"
    git("clone", "--quiet", "--bare", str(work.workdir or work.path), str(origin))
    (tmp_path / "home").mkdir()
    with GitHubServer() as github:
        github.add_repo(HUB)
        replay = Replay(tmp_path, origin, github,
                        runner_env={"GITRAMP_DATA_DIR": str(KITS / "{challenge}" / "hidden"),
                                    "GITRAMP_PRIVATE_LEDGER": str(tmp_path / "private")},
                        vars={"GITRAMP_SITE_URL": SITE_URL})
        yield replay


def open_fork_pr(replay: Replay, author: str, files: dict[str, bytes], number: int,
                 title: str = "My submission") -> tuple[str, dict]:
    """A commit in `author`'s fork, pushed to the hub as refs/pull/<n>/head (as GitHub
    does), the PR known to the API, and its `pull_request` event payload."""
    fork = pygit2.Repository(str(replay.origin))
    main = fork.references["refs/heads/main"].target
    head = commit_files(fork, f"refs/pull/{number}/head", files, parent=main,
                        message=title, author=author)
    changed = sorted(files)
    pull = replay.github.open_pull(HUB, number=number, author=author, head_sha=str(head),
                                   head_repo=f"{author}/iris-hub", head_ref="my-submission",
                                   base_sha=str(main), files=changed, title=title)
    gh = replay.github
    event = {"action": "opened", "number": number, "pull_request": gh.pull_json(pull),
             "repository": gh.repo_json(HUB), "sender": gh.user_json(author)}
    return str(head), event


def workflow_run_event(replay: Replay, run_id: int, head_sha: str, author: str,
                       conclusion: str, name: str = "gitramp submission") -> dict:
    gh = replay.github
    return {"action": "completed",
            "workflow_run": {"id": run_id, "name": name, "event": "pull_request",
                             "status": "completed", "conclusion": conclusion,
                             "head_sha": head_sha, "head_branch": "my-submission",
                             "head_repository": gh.repo_json(f"{author}/iris-hub"),
                             "pull_requests": []},  # empty for a fork's PR, as on GitHub
            "repository": gh.repo_json(HUB), "sender": gh.user_json(author)}


def example(name: str) -> dict[str, bytes]:
    folder = KITS / "iris" / "submissions" / name
    return {f.name: f.read_bytes() for f in folder.glob("*.py")}


def ledger_records(replay: Replay) -> list[Result]:
    return Ledger(replay.origin).records("iris")


def comments(replay: Replay, number: int) -> list[str]:
    return [c["body"] for c in replay.github.comments_on(HUB, number)]


def displayed(markdown: str) -> str:
    """A comment's text as GitHub shows it: Markdown escapes and HTML entities undone
    (a comment escapes what came from a submission, so that it renders inert)."""
    return html.unescape(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown))


def logs(jobs: dict[str, JobRun]) -> str:
    return "\n".join(line for j in jobs.values() for line in j.log)


# --------------------------------------------------------------------------- the replays
@pytest.mark.docker
@pytest.mark.slow
def test_a_fork_pr_goes_from_opened_to_scored_commented_and_recorded(hub, docker_engine):
    files = {f"kits/iris/submissions/alice_rf/{n}": d
             for n, d in example("random_forest").items()}
    sha, event = open_fork_pr(hub, "alice", files, number=7)

    run_id, jobs = hub.run_workflow("submission.yml", "pull_request", event)
    assert jobs["validate"].result == "success", logs(jobs)
    assert (hub.tmp / "artifacts" / str(run_id) / "gitramp-submission" /
            "submission.bundle").is_file()

    # nothing runs on the self-hosted runner before an organizer approves
    trigger = workflow_run_event(hub, run_id, sha, "alice", "success")
    _, waiting = hub.run_workflow("scoring.yml", "workflow_run", trigger, approve=False)
    assert waiting["plan"].result == "success", logs(waiting)
    assert waiting["score"].result == "waiting" and ledger_records(hub) == []
    assert hub.github.statuses_of(HUB, sha)[-1]["state"] == "pending"

    _, jobs = hub.run_workflow("scoring.yml", "workflow_run", trigger)
    assert jobs["plan"].outputs["runs_on"] == '["self-hosted","gitramp"]'
    assert jobs["score"].runs_on == ["self-hosted", "gitramp"]
    assert jobs["score"].environment == "gitramp-scoring"
    assert jobs["score"].result == "success", logs(jobs)

    (record,) = ledger_records(hub)
    assert (record.status, record.submission, record.team, record.pr, record.commit) == \
        (SCORED, "alice_rf", "alice", 7, sha)
    assert record.backend == "docker"
    (body,) = comments(hub, 7)
    assert "**scored**" in body and "Rank **1** of 1" in body
    assert f"{SITE_URL}/iris/s/alice_rf~" in body
    test_values = _test_values(hub.tmp / "private")
    assert test_values  # the private ledger on the runner holds the test scores
    assert not {v for v in test_values if v in body}
    status = hub.github.statuses_of(HUB, sha)[-1]
    assert status["state"] == "success" and status["description"].startswith("scored: acc")
    assert hub.github.pulls[(HUB, 7)].labels == ["gitramp:scored"]

    # the site is rebuilt after scoring and deployed
    site_trigger = workflow_run_event(hub, 1, sha, "alice", "success", name="gitramp scoring")
    site_run, site = hub.run_workflow("site.yml", "workflow_run", site_trigger)
    assert site["build"].result == "success" and site["deploy"].result == "success", logs(site)
    pages = hub.tmp / "artifacts" / str(site_run) / "github-pages"
    assert list(pages.rglob("s/alice_rf~*.html"))

    # organizers: rescore the PR (the one comment is edited), reveal, open the open phase
    def dispatch(action: str, pr: str = "") -> dict[str, JobRun]:
        # the hub is in its closed phase: opening the code now is opening it early
        event = {"inputs": {"action": action, "challenge": "iris", "pr": pr,
                            "early": action == "open-phase"},
                 "ref": "refs/heads/main", "repository": hub.github.repo_json(HUB),
                 "sender": hub.github.user_json("organizer")}
        _, jobs = hub.run_workflow("organizer.yml", "workflow_dispatch", event)
        assert jobs["organize"].result == "success", logs(jobs)
        assert jobs["organize"].runs_on == ["self-hosted", "gitramp"]
        return jobs

    scored_at = record.scored_at
    dispatch("rescore", "7")
    (rescored,) = ledger_records(hub)
    assert rescored.scored_at >= scored_at and rescored.status == SCORED
    assert len(comments(hub, 7)) == 1
    assert sum(1 for m, path, _ in hub.github.log if m == "PATCH" and "comments" in path) == 1

    dispatch("reveal")
    assert Ledger(hub.origin).state("iris").revealed
    dispatch("open-phase")
    assert Ledger(hub.origin).state("iris").code_visible
    main = pygit2.Repository(str(hub.origin)).revparse_single("main").peel(pygit2.Commit)
    assert "kits/iris/submissions/alice_rf/classifier.py" in main.tree


def _test_values(private: Path) -> set[str]:
    """The private test scores the runner kept, as a comment would print them."""
    ledger = Ledger(private)
    out: set[str] = set()
    for path in ledger.entries("iris"):
        for split in (ledger.read(path).get("bagged") or {}).values():
            for v in split.values():
                out.update({f"{v:.3f}", f"{v:.4f}"})
    return out


def _record_alice(replay: Replay) -> None:
    """alice's scored submission alice_rf already in the ledger (pushed to the hub)."""
    _record(replay, "alice", "alice_rf", 0.9, pr=3)


def _record(replay: Replay, team: str, name: str, acc: float, pr: int) -> None:
    """A scored submission recorded in the hub's ledger, as a runner pushes it."""
    work = replay.tmp / "organizer"
    if not work.exists():
        git("clone", "--quiet", str(replay.origin), str(work))
    git("pull", "--quiet", "--ff-only", cwd=work)
    ledger = Ledger(work)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ledger.record(Result(challenge="iris", submission=name, status=SCORED, team=team,
                         score_names=["acc"], folds=[FoldScores({"valid": {"acc": acc}},
                                                                1.0, 0.1)],
                         bagged={"valid": {"acc": acc}}, tree="a" * 40, commit="b" * 40,
                         scoring_hash="c" * 40, submitted_at=now, scored_at=now, pr=pr))
    ledger.push("origin")


def test_the_site_job_keeps_its_last_build_and_rewrites_only_what_changed(hub):
    """The site job restores the last build (pages and the generator's caches) from
    actions/cache and saves its own: a new result renders its page alone, a run with
    nothing new renders none, and each deployed site is whole."""
    def site_run() -> tuple[str, Path]:
        event = {"inputs": {}, "ref": "refs/heads/main", "repository": hub.github.repo_json(HUB),
                 "sender": hub.github.user_json("organizer")}
        run_id, jobs = hub.run_workflow("site.yml", "workflow_dispatch", event)
        assert jobs["build"].result == "success" and jobs["deploy"].result == "success", \
            logs(jobs)
        built = next(line for line in "\n".join(jobs["build"].log).splitlines()
                     if line.startswith("site: "))
        return built, hub.tmp / "artifacts" / str(run_id) / "github-pages"

    for i, team in enumerate(("alice", "bob", "carol")):
        _record(hub, team, f"{team}_rf", 0.8 + i / 100, pr=3 + i)
    first, pages = site_run()
    assert "3 submission page(s) rendered, 0 kept" in first
    assert len(list(pages.rglob("s/*_rf~*.html"))) == 3

    _record(hub, "dave", "dave_rf", 0.95, pr=9)
    second, pages = site_run()
    assert "1 submission page(s) rendered, 3 kept" in second  # the others restored
    assert len(list(pages.rglob("s/*_rf~*.html"))) == 4
    assert "dave_rf" in (pages / "iris" / "index.html").read_text()

    third, pages = site_run()
    assert "0 submission page(s) rendered, 4 kept" in third
    # at most the build time (status.js and status.html), which is told to the minute
    assert int(re.search(r"; (\d+) file\(s\) written", third)[1]) <= 2, third
    assert len(list(pages.rglob("s/*_rf~*.html"))) == 4
    assert len(hub.caches) == 3 and all(c["ref"] == "refs/heads/main" for c in hub.caches)


@pytest.mark.parametrize("case", ["github_folder", "other_team"])
def test_a_pr_out_of_bounds_is_rejected_with_its_reason_and_never_scored(hub, case):
    _record_alice(hub)
    before = ledger_records(hub)
    if case == "github_folder":
        files = {"kits/iris/submissions/mallory_x/classifier.py":
                 example("starting_kit")["classifier.py"],
                 ".github/workflows/steal.yml": b"on: push\njobs: {}\n"}
        expected = r"scope: the change touches files outside a submission folder " \
                   r"\(\.github/workflows/steal\.yml\)"
    else:
        files = {"kits/iris/submissions/alice_rf/classifier.py":
                 example("starting_kit")["classifier.py"]}
        expected = r"name: the submission name 'alice_rf' belongs to team alice"
    sha, event = open_fork_pr(hub, "mallory", files, number=11)

    run_id, jobs = hub.run_workflow("submission.yml", "pull_request", event)
    assert jobs["validate"].result == "failure"
    assert re.search(expected, logs(jobs)), logs(jobs)
    # the artifact is still uploaded, so the privileged side can tell the participant
    trigger = workflow_run_event(hub, run_id, sha, "mallory", "failure")
    _, jobs = hub.run_workflow("scoring.yml", "workflow_run", trigger)
    assert jobs["plan"].result == "failure"
    assert jobs["score"].result == "skipped"  # never reaches the self-hosted runner
    (body,) = comments(hub, 11)
    assert "**rejected**" in body and re.search(expected, displayed(body)), body
    assert hub.github.statuses_of(HUB, sha)[-1]["state"] == "failure"
    assert hub.github.pulls[(HUB, 11)].labels == ["gitramp:rejected"]
    assert ledger_records(hub) == before  # nothing recorded, nothing scored


def test_an_artifact_lying_about_its_head_is_refused(hub):
    files = {f"kits/iris/submissions/bob_a/{n}": d for n, d in example("starting_kit").items()}
    sha, event = open_fork_pr(hub, "bob", files, number=5)
    run_id, jobs = hub.run_workflow("submission.yml", "pull_request", event)
    assert jobs["validate"].result == "success", logs(jobs)
    # the PR moves on after the run: the run's head is no longer the PR's head
    hub.github.push_to_pull(HUB, 5, "f" * 40)
    trigger = workflow_run_event(hub, run_id, sha, "bob", "success")
    _, jobs = hub.run_workflow("scoring.yml", "workflow_run", trigger)
    assert jobs["plan"].result == "failure" and jobs["score"].result == "skipped"
    assert "has moved" in logs(jobs)
    assert comments(hub, 5) == [] and ledger_records(hub) == []


def test_expressions_follow_github_rules():
    ctx = {"_status": "failure", "steps": {"v": {"outcome": "failure"}},
           "vars": {}, "github": {"event": {"workflow_run": {"event": "pull_request"}}}}
    assert evaluate("failure() && steps.v.outcome == 'failure'", ctx) is True
    assert evaluate("vars.X || './trusted'", ctx) == "./trusted"
    assert evaluate("!cancelled()", ctx) is True
    assert condition({"if": "github.event.workflow_run.event == 'pull_request'"}, ctx) is False
    assert interpolate("${{ fromJSON('[\"a\",\"b\"]') }}", ctx) == ["a", "b"]


def test_gitramp_is_installed_from_the_hub_or_from_pypi_in_a_standalone_kit(tmp_path):
    step = next(s for s in yaml.safe_load((WORKFLOWS / "scoring.yml").read_text())
                ["jobs"]["score"]["steps"] if s.get("name") == "Install gitramp")
    spec = step["env"]["GITRAMP_PIP_SPEC"]
    ctx = {"vars": {}, "github": {"workspace": str(tmp_path)}, "_status": "success"}
    assert interpolate(spec.strip(), ctx) == "gitramp"
    (tmp_path / "trusted").mkdir()
    (tmp_path / "trusted" / "pyproject.toml").write_text("[project]\nname = 'gitramp'\n")
    assert interpolate(spec.strip(), ctx) == "./trusted"
    ctx["vars"]["GITRAMP_PIP_SPEC"] = "gitramp==0.1.0"
    assert interpolate(spec.strip(), ctx) == "gitramp==0.1.0"


# --------------------------------------------------------------------------- approval
APPROVED_TEAMS = b"""teams:
  red-pandas: [alice]
approved: [red-pandas]
"""


def _approve_red_pandas(replay: Replay) -> None:
    """The organizers approve team red-pandas (alice) once, on the default branch."""
    commit_files(pygit2.Repository(str(replay.origin)), "refs/heads/main",
                 {"kits/iris/teams.yml": APPROVED_TEAMS}, message="approve red-pandas",
                 author="organizer")


def _validated(replay: Replay, author: str, number: int) -> tuple[str, dict]:
    files = {f"kits/iris/submissions/{author}_lr/{n}": d
             for n, d in example("starting_kit").items()}
    sha, event = open_fork_pr(replay, author, files, number=number)
    # the public-data run is the participant's, and no part of the routing
    run_id, jobs = replay.run_workflow("submission.yml", "pull_request", event,
                                       hold=frozenset({"public-run"}))
    assert jobs["validate"].result == "success", logs(jobs)
    return sha, workflow_run_event(replay, run_id, sha, author, "success")


def test_an_approved_teams_pr_goes_to_scoring_with_no_reviewer_a_strangers_waits(hub):
    _approve_red_pandas(hub)
    scoring = {"score", "score-approved"}

    sha, trigger = _validated(hub, "alice", 21)
    _, jobs = hub.run_workflow("scoring.yml", "workflow_run", trigger, approve=False,
                               hold=frozenset(scoring))
    assert jobs["plan"].result == "success", logs(jobs)
    assert jobs["plan"].outputs["route"] == "approved"
    assert jobs["score"].result == "skipped"
    # started with no organizer's approval, on the self-hosted runner
    assert jobs["score-approved"].result == "held"
    assert jobs["score-approved"].environment == "gitramp-scoring-approved"
    assert jobs["score-approved"].runs_on == ["self-hosted", "gitramp"]
    assert "queued for scoring" in hub.github.statuses_of(HUB, sha)[-1]["description"]

    sha, trigger = _validated(hub, "mallory", 22)
    _, jobs = hub.run_workflow("scoring.yml", "workflow_run", trigger, approve=False,
                               hold=frozenset(scoring))
    assert jobs["plan"].result == "success", logs(jobs)
    assert jobs["plan"].outputs["route"] == "review"
    assert jobs["score"].result == "waiting"  # until an organizer approves
    assert jobs["score"].environment == "gitramp-scoring"
    assert jobs["score-approved"].result == "skipped"
    status = hub.github.statuses_of(HUB, sha)[-1]
    assert status["state"] == "pending" and "waiting for an organizer" in status["description"]
    assert ledger_records(hub) == []


def test_a_pr_cannot_route_itself_past_review(hub):
    """mallory's pull request adds her to teams.yml's approved list: the change is
    refused for touching a file outside a submission folder, and the default branch's
    teams.yml routes her to review all the same."""
    _approve_red_pandas(hub)
    files = {"kits/iris/submissions/mallory_lr/classifier.py":
             example("starting_kit")["classifier.py"],
             "kits/iris/teams.yml": APPROVED_TEAMS.replace(b"[red-pandas]", b"[mallory]")}
    sha, event = open_fork_pr(hub, "mallory", files, number=23)
    run_id, jobs = hub.run_workflow("submission.yml", "pull_request", event,
                                    hold=frozenset({"public-run"}))
    assert jobs["validate"].result == "failure"
    trigger = workflow_run_event(hub, run_id, sha, "mallory", "success")
    _, jobs = hub.run_workflow("scoring.yml", "workflow_run", trigger, approve=False,
                               hold=frozenset({"score", "score-approved"}))
    assert jobs["plan"].result == "failure"
    assert jobs["score"].result == "skipped" and jobs["score-approved"].result == "skipped"
    proc = subprocess.run([sys.executable, "-m", "gitramp.main", "approval", "route",
                           "--repo", str(hub.origin), "--challenge", "iris",
                           "--login", "mallory"], capture_output=True, text=True)
    assert proc.stdout.strip() == "review", proc.stderr


@pytest.mark.docker
@pytest.mark.slow
def test_an_approved_teams_pr_is_scored_with_no_reviewer(hub, docker_engine):
    _approve_red_pandas(hub)
    sha, trigger = _validated(hub, "alice", 24)
    _, jobs = hub.run_workflow("scoring.yml", "workflow_run", trigger, approve=False)
    assert jobs["score"].result == "skipped"
    assert jobs["score-approved"].result == "success", logs(jobs)
    (record,) = ledger_records(hub)
    assert (record.status, record.team, record.pr, record.commit) == \
        (SCORED, "red-pandas", 24, sha)
    assert "**scored**" in comments(hub, 24)[0]
    assert hub.github.statuses_of(HUB, sha)[-1]["state"] == "success"
