"""A local GitHub: an HTTP server on 127.0.0.1 answering GitHub's REST API (v3) for the
calls gitramp makes, with payloads shaped as GitHub documents them, so the real
github3.py client (whose models raise on incomplete payloads) runs against it.

It keeps state (repositories, pull requests, comments, labels, statuses, check runs,
merges, workflow-run artifacts), checks tokens and their permissions as GitHub does for
GITHUB_TOKEN and App installation tokens, sends rate-limit headers, and can be told to
fail the next requests (5xx, 403/429 rate limits) to exercise retries.

An artifact's zip is served as GitHub serves it: the API answers 302 with a signed
address on another host (here `localhost` instead of `127.0.0.1`), and that address
refuses (400) a request carrying an Authorization header, as the storage behind it
does; `blob_requests` records every request it got.

    with GitHubServer() as gh:
        gh.add_repo("hub/iris")
        gh.add_token("t0k", permissions={"pull_requests": "write", "statuses": "write"})
        gh.open_pull("hub/iris", author="alice", head_sha=sha, files=[...])
        env = {"GITHUB_API_URL": gh.api_url, "GITHUB_TOKEN": "t0k", ...}
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ISO = "%Y-%m-%dT%H:%M:%SZ"
WRITE_ALL = {"contents": "write", "pull_requests": "write", "issues": "write",
             "statuses": "write", "checks": "write", "actions": "read"}


def _now() -> str:
    return time.strftime(ISO, time.gmtime())


@dataclass
class Token:
    login: str
    permissions: dict[str, str]
    kind: str = "token"  # token (GITHUB_TOKEN-like) | installation
    installation: int | None = None


@dataclass
class Pull:
    repo: str
    number: int
    author: str
    head_sha: str
    head_repo: str
    head_ref: str
    base_ref: str
    base_sha: str
    title: str
    body: str
    files: list[dict]
    labels: list[str] = field(default_factory=list)
    state: str = "open"
    merged: bool = False
    merge_commit_sha: str | None = None
    created_at: str = field(default_factory=_now)


@dataclass
class Artifact:
    id: int
    repo: str
    run_id: int
    name: str
    data: bytes  # the zip GitHub would serve
    head_sha: str
    size_in_bytes: int
    expired: bool = False
    created_at: str = field(default_factory=_now)


@dataclass
class Fault:
    status: int
    headers: dict[str, str]
    message: str


class GitHubServer:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.repos: dict[str, dict] = {}
        self.users: dict[str, int] = {}
        self.pulls: dict[tuple[str, int], Pull] = {}
        self.comments: dict[int, dict] = {}  # id -> {repo, number, user, body, created, updated}
        self.statuses: list[dict] = []
        self.check_runs: list[dict] = []
        self.artifacts: dict[int, Artifact] = {}
        self.blob_requests: list[tuple[str, str | None]] = []  # (path, Authorization)
        self.tokens: dict[str, Token] = {}
        self.apps: dict[int, dict] = {}  # installation id -> {app_id, public_key, login, perms}
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int]] = []  # (method, path, status)
        self.merge_hook = None  # called with (Pull, sha) on merge; returns the merge sha
        self.rate_remaining = 5000
        self._ids = itertools.count(1000)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # ------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/v3"

    def start(self) -> GitHubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> GitHubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ set-up
    def add_repo(self, full_name: str, *, default_branch: str = "main",
                 private: bool = False, fork_of: str | None = None) -> dict:
        owner, _ = full_name.split("/")
        with self.lock:
            self._user_id(owner)
            self.repos[full_name] = {"full_name": full_name, "id": next(self._ids),
                                     "default_branch": default_branch, "private": private,
                                     "fork": fork_of is not None, "created_at": _now()}
            return self.repos[full_name]

    def add_token(self, token: str, *, login: str = "github-actions[bot]",
                  permissions: dict[str, str] | None = None) -> None:
        self._user_id(login)
        self.tokens[token] = Token(login, dict(WRITE_ALL if permissions is None
                                               else permissions))

    def add_app_installation(self, installation_id: int, *, app_id: int, public_key_pem: bytes,
                             slug: str = "gitramp", permissions: dict[str, str] | None = None
                             ) -> None:
        self._user_id(f"{slug}[bot]")
        self.apps[installation_id] = {"app_id": app_id, "key": public_key_pem, "slug": slug,
                                      "permissions": dict(permissions or WRITE_ALL)}

    def open_pull(self, repo: str, *, author: str, head_sha: str, files: list[str],
                  head_repo: str | None = None, head_ref: str = "submission",
                  base_ref: str = "main", base_sha: str = "0" * 40, title: str = "Submission",
                  body: str = "", number: int | None = None) -> Pull:
        with self.lock:
            self._user_id(author)
            head_repo = head_repo or repo
            if head_repo not in self.repos:
                self.add_repo(head_repo, fork_of=repo)
            number = number or 1 + max([n for (r, n) in self.pulls if r == repo], default=0)
            pull = Pull(repo, number, author, head_sha, head_repo, head_ref, base_ref, base_sha,
                        title, body, [{"filename": f, "status": "added"} for f in files])
            self.pulls[(repo, number)] = pull
            return pull

    def add_artifact(self, repo: str, run_id: int, name: str, data: bytes, *, head_sha: str,
                     size_in_bytes: int | None = None) -> Artifact:
        """A workflow run's artifact (`data` is its zip); a same-named one is replaced.
        `size_in_bytes` is what the listing says (default: the zip's size)."""
        with self.lock:
            for aid, a in list(self.artifacts.items()):
                if (a.repo, a.run_id, a.name) == (repo, run_id, name):
                    del self.artifacts[aid]
            a = Artifact(next(self._ids), repo, run_id, name, data, head_sha,
                         len(data) if size_in_bytes is None else size_in_bytes)
            self.artifacts[a.id] = a
            return a

    def artifact_json(self, a: Artifact) -> dict:
        base = f"{self.api_url}/repos/{a.repo}/actions"
        return {"id": a.id, "node_id": f"MDg6QXJ0aWZhY3Q{a.id}", "name": a.name,
                "size_in_bytes": a.size_in_bytes, "url": f"{base}/artifacts/{a.id}",
                "archive_download_url": f"{base}/artifacts/{a.id}/zip",
                "expired": a.expired, "digest": None, "created_at": a.created_at,
                "updated_at": a.created_at, "expires_at": a.created_at,
                "workflow_run": {"id": a.run_id, "repository_id": self.repos[a.repo]["id"],
                                 "head_repository_id": self.repos[a.repo]["id"],
                                 "head_branch": "submission", "head_sha": a.head_sha}}

    def push_to_pull(self, repo: str, number: int, head_sha: str) -> None:
        with self.lock:
            self.pulls[(repo, number)].head_sha = head_sha

    def fail_next(self, status: int, *, times: int = 1, headers: dict[str, str] | None = None,
                  message: str = "Server Error") -> None:
        self.faults.extend([Fault(status, dict(headers or {}), message)] * times)

    def comments_on(self, repo: str, number: int) -> list[dict]:
        return [c for c in self.comments.values() if c["repo"] == repo and c["number"] == number]

    def statuses_of(self, repo: str, sha: str) -> list[dict]:
        return [s for s in self.statuses if s["repo"] == repo and s["sha"] == sha]

    def _user_id(self, login: str) -> int:
        return self.users.setdefault(login, 100 + len(self.users))

    # ------------------------------------------------------------ payloads
    def user_json(self, login: str) -> dict:
        api, web = self.api_url, self.url
        bot = login.endswith("[bot]")
        return {
            "login": login, "id": self._user_id(login), "node_id": f"U_{self._user_id(login)}",
            "avatar_url": f"{web}/avatars/{login}", "gravatar_id": "",
            "url": f"{api}/users/{login}", "html_url": f"{web}/{login}",
            "followers_url": f"{api}/users/{login}/followers",
            "following_url": f"{api}/users/{login}/following{{/other_user}}",
            "gists_url": f"{api}/users/{login}/gists{{/gist_id}}",
            "starred_url": f"{api}/users/{login}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/users/{login}/subscriptions",
            "organizations_url": f"{api}/users/{login}/orgs",
            "repos_url": f"{api}/users/{login}/repos",
            "events_url": f"{api}/users/{login}/events{{/privacy}}",
            "received_events_url": f"{api}/users/{login}/received_events",
            "type": "Bot" if bot else "User", "site_admin": False}

    def repo_json(self, full_name: str) -> dict:
        r = self.repos[full_name]
        owner, name = full_name.split("/")
        a, web = f"{self.api_url}/repos/{full_name}", f"{self.url}/{full_name}"
        host = urlsplit(self.url).netloc
        return {
            "id": r["id"], "node_id": f"R_{r['id']}", "name": name, "full_name": full_name,
            "owner": self.user_json(owner), "private": r["private"], "html_url": web,
            "description": f"{name} challenge", "fork": r["fork"], "url": a,
            "archive_url": f"{a}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{a}/assignees{{/user}}",
            "blobs_url": f"{a}/git/blobs{{/sha}}", "branches_url": f"{a}/branches{{/branch}}",
            "collaborators_url": f"{a}/collaborators{{/collaborator}}",
            "comments_url": f"{a}/comments{{/number}}", "commits_url": f"{a}/commits{{/sha}}",
            "compare_url": f"{a}/compare/{{base}}...{{head}}",
            "contents_url": f"{a}/contents/{{+path}}", "contributors_url": f"{a}/contributors",
            "deployments_url": f"{a}/deployments", "downloads_url": f"{a}/downloads",
            "events_url": f"{a}/events", "forks_url": f"{a}/forks",
            "git_commits_url": f"{a}/git/commits{{/sha}}", "git_refs_url": f"{a}/git/refs{{/sha}}",
            "git_tags_url": f"{a}/git/tags{{/sha}}", "git_url": f"git://{host}/{full_name}.git",
            "issue_comment_url": f"{a}/issues/comments{{/number}}",
            "issue_events_url": f"{a}/issues/events{{/number}}",
            "issues_url": f"{a}/issues{{/number}}", "keys_url": f"{a}/keys{{/key_id}}",
            "labels_url": f"{a}/labels{{/name}}", "languages_url": f"{a}/languages",
            "merges_url": f"{a}/merges", "milestones_url": f"{a}/milestones{{/number}}",
            "notifications_url": f"{a}/notifications{{?since,all,participating}}",
            "pulls_url": f"{a}/pulls{{/number}}", "releases_url": f"{a}/releases{{/id}}",
            "ssh_url": f"git@{host}:{full_name}.git", "stargazers_url": f"{a}/stargazers",
            "statuses_url": f"{a}/statuses/{{sha}}", "subscribers_url": f"{a}/subscribers",
            "subscription_url": f"{a}/subscription", "tags_url": f"{a}/tags",
            "teams_url": f"{a}/teams", "trees_url": f"{a}/git/trees{{/sha}}",
            "clone_url": f"{web}.git", "mirror_url": None, "hooks_url": f"{a}/hooks",
            "svn_url": web, "homepage": None, "language": "Python", "forks_count": 0,
            "stargazers_count": 0, "watchers_count": 0, "size": 108,
            "default_branch": r["default_branch"], "open_issues_count": sum(
                1 for p in self.pulls.values() if p.repo == full_name and p.state == "open"),
            "is_template": False, "topics": [], "has_issues": True, "has_projects": True,
            "has_wiki": False, "has_pages": True, "has_downloads": True,
            "has_discussions": False, "archived": False, "disabled": False,
            "visibility": "private" if r["private"] else "public",
            "pushed_at": r["created_at"], "created_at": r["created_at"],
            "updated_at": r["created_at"], "allow_rebase_merge": True,
            "allow_squash_merge": True, "allow_merge_commit": True, "allow_forking": True,
            "forks": 0, "open_issues": 0, "watchers": 0, "license": None,
            "network_count": 0, "subscribers_count": 0,
            "permissions": {"admin": False, "maintain": False, "push": False, "triage": False,
                            "pull": True}}

    def label_json(self, repo: str, name: str) -> dict:
        return {"id": abs(hash((repo, name))) % 10**9, "node_id": f"LA_{name}",
                "url": f"{self.api_url}/repos/{repo}/labels/{name}", "name": name,
                "description": "", "color": "ededed", "default": False}

    def _dest_json(self, p: Pull, side: str) -> dict:
        repo = p.head_repo if side == "head" else p.repo
        ref = p.head_ref if side == "head" else p.base_ref
        sha = p.head_sha if side == "head" else p.base_sha
        owner = repo.split("/")[0]
        return {"label": f"{owner}:{ref}", "ref": ref, "sha": sha,
                "user": self.user_json(owner), "repo": self.repo_json(repo)}

    def pull_json(self, p: Pull, *, full: bool = True) -> dict:
        a = f"{self.api_url}/repos/{p.repo}"
        web = f"{self.url}/{p.repo}/pull/{p.number}"
        closed = None if p.state == "open" else _now()
        d = {
            "url": f"{a}/pulls/{p.number}", "id": 5000 + p.number,
            "node_id": f"PR_{p.number}", "html_url": web, "diff_url": web + ".diff",
            "patch_url": web + ".patch", "issue_url": f"{a}/issues/{p.number}",
            "commits_url": f"{a}/pulls/{p.number}/commits",
            "review_comments_url": f"{a}/pulls/{p.number}/comments",
            "review_comment_url": f"{a}/pulls/comments{{/number}}",
            "comments_url": f"{a}/issues/{p.number}/comments",
            "statuses_url": f"{a}/statuses/{p.head_sha}", "number": p.number,
            "state": p.state, "locked": False, "active_lock_reason": None, "title": p.title,
            "user": self.user_json(p.author), "body": p.body, "body_html": f"<p>{p.body}</p>",
            "body_text": p.body, "labels": [self.label_json(p.repo, n) for n in p.labels],
            "milestone": None, "created_at": p.created_at, "updated_at": _now(),
            "closed_at": closed, "merged_at": closed if p.merged else None,
            "merge_commit_sha": p.merge_commit_sha, "assignee": None, "assignees": [],
            "requested_reviewers": [], "requested_teams": [], "draft": False,
            "head": self._dest_json(p, "head"), "base": self._dest_json(p, "base"),
            "_links": {"self": {"href": f"{a}/pulls/{p.number}"}, "html": {"href": web},
                       "issue": {"href": f"{a}/issues/{p.number}"},
                       "comments": {"href": f"{a}/issues/{p.number}/comments"},
                       "statuses": {"href": f"{a}/statuses/{p.head_sha}"}},
            "author_association": "CONTRIBUTOR", "auto_merge": None}
        if full:
            d.update({"merged": p.merged, "mergeable": True, "rebaseable": True,
                      "mergeable_state": "clean",
                      "merged_by": self.user_json("github-actions[bot]") if p.merged else None,
                      "comments": len(self.comments_on(p.repo, p.number)),
                      "review_comments": 0, "maintainer_can_modify": False,
                      "commits": 1, "additions": 10, "deletions": 0,
                      "changed_files": len(p.files)})
        return d

    def issue_json(self, p: Pull) -> dict:
        a = f"{self.api_url}/repos/{p.repo}/issues/{p.number}"
        return {
            "id": 7000 + p.number, "node_id": f"I_{p.number}", "url": a,
            "repository_url": f"{self.api_url}/repos/{p.repo}",
            "labels_url": f"{a}/labels{{/name}}", "comments_url": f"{a}/comments",
            "events_url": f"{a}/events", "html_url": f"{self.url}/{p.repo}/pull/{p.number}",
            "number": p.number, "state": p.state, "title": p.title, "body": p.body,
            "body_html": f"<p>{p.body}</p>", "body_text": p.body,
            "user": self.user_json(p.author),
            "labels": [self.label_json(p.repo, n) for n in p.labels],
            "assignee": None, "assignees": [], "milestone": None, "locked": False,
            "active_lock_reason": None, "comments": len(self.comments_on(p.repo, p.number)),
            "pull_request": {"url": f"{self.api_url}/repos/{p.repo}/pulls/{p.number}",
                             "html_url": f"{self.url}/{p.repo}/pull/{p.number}",
                             "diff_url": f"{self.url}/{p.repo}/pull/{p.number}.diff",
                             "patch_url": f"{self.url}/{p.repo}/pull/{p.number}.patch"},
            "closed_at": None, "closed_by": None, "created_at": p.created_at,
            "updated_at": _now(), "author_association": "CONTRIBUTOR"}

    def comment_json(self, cid: int) -> dict:
        c = self.comments[cid]
        a = f"{self.api_url}/repos/{c['repo']}"
        return {"id": cid, "node_id": f"IC_{cid}", "url": f"{a}/issues/comments/{cid}",
                "html_url": f"{self.url}/{c['repo']}/pull/{c['number']}#issuecomment-{cid}",
                "body": c["body"], "body_html": f"<p>{c['body']}</p>", "body_text": c["body"],
                "user": self.user_json(c["user"]), "created_at": c["created"],
                "updated_at": c["updated"], "issue_url": f"{a}/issues/{c['number']}",
                "author_association": "NONE" if c["user"].endswith("[bot]") else "CONTRIBUTOR"}

    def file_json(self, p: Pull, f: dict) -> dict:
        raw = f"{self.url}/{p.head_repo}/raw/{p.head_sha}/{f['filename']}"
        d = {"sha": "e" * 40, "filename": f["filename"], "status": f["status"],
             "additions": 1, "deletions": 0, "changes": 1,
             "blob_url": raw.replace("/raw/", "/blob/"), "raw_url": raw,
             "contents_url": f"{self.api_url}/repos/{p.repo}/contents/{f['filename']}"
                             f"?ref={p.head_sha}", "patch": "@@ -0,0 +1 @@"}
        if "previous_filename" in f:
            d["previous_filename"] = f["previous_filename"]
        return d

    def status_json(self, s: dict) -> dict:
        return {"url": f"{self.api_url}/repos/{s['repo']}/statuses/{s['sha']}", "id": s["id"],
                "node_id": f"SC_{s['id']}", "avatar_url": None, "state": s["state"],
                "description": s["description"], "target_url": s["target_url"],
                "context": s["context"], "created_at": s["created"], "updated_at": s["created"],
                "creator": self.user_json(s["creator"])}

    def check_run_json(self, run: dict) -> dict:
        a = f"{self.api_url}/repos/{run['repo']}"
        app = self.apps[run["installation"]]
        return {
            "id": run["id"], "node_id": f"CR_{run['id']}", "head_sha": run["head_sha"],
            "external_id": run.get("external_id") or "", "url": f"{a}/check-runs/{run['id']}",
            "html_url": f"{self.url}/{run['repo']}/runs/{run['id']}",
            "details_url": run.get("details_url"), "status": run["status"],
            "conclusion": run.get("conclusion"), "started_at": run["started_at"],
            "completed_at": run.get("completed_at"), "name": run["name"],
            "output": {"title": run["output"].get("title"),
                       "summary": run["output"].get("summary"),
                       "text": run["output"].get("text"), "annotations_count": 0,
                       "annotations_url": f"{a}/check-runs/{run['id']}/annotations"},
            "check_suite": {"id": 9000 + run["id"]},
            "app": {"id": app["app_id"], "slug": app["slug"], "node_id": "A_1",
                    "owner": self.user_json(run["repo"].split("/")[0]), "name": app["slug"],
                    "description": "", "external_url": self.url,
                    "html_url": f"{self.url}/apps/{app['slug']}", "created_at": _now(),
                    "updated_at": _now(), "permissions": app["permissions"], "events": []},
            "pull_requests": []}


class _Reply(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


def _handler(gh: GitHubServer):
    routes: list[tuple[str, re.Pattern, Any]] = []

    def route(method: str, pattern: str):
        def deco(fn):
            routes.append((method, re.compile(pattern + r"$"), fn))
            return fn
        return deco

    R = r"/repos/(?P<repo>[^/]+/[^/]+)"

    def error(status: int, message: str, **headers: str) -> _Reply:
        return _Reply(status, {"message": message,
                               "documentation_url": "https://docs.github.com/rest"}, headers)

    def need(ctx: dict, permission: str, level: str) -> None:
        tok: Token | None = ctx["token"]
        if tok is None:
            if level == "read" and not gh.repos[ctx["repo"]]["private"]:
                return
            raise error(401, "Requires authentication")
        have = tok.permissions.get(permission)
        if have == "write" or (level == "read" and have == "read"):
            return
        raise error(403, "Resource not accessible by integration",
                    **{"X-Accepted-GitHub-Permissions": f"{permission}={level}"})

    def pull_of(ctx, number) -> Pull:
        p = gh.pulls.get((ctx["repo"], int(number)))
        if p is None:
            raise error(404, "Not Found")
        return p

    @route("GET", R)
    def get_repo(ctx):
        need(ctx, "contents", "read")
        return 200, gh.repo_json(ctx["repo"])

    @route("GET", R + r"/pulls")
    def list_pulls(ctx):
        need(ctx, "pull_requests", "read")
        state = ctx["query"].get("state", ["open"])[0]
        ps = sorted((p for p in gh.pulls.values() if p.repo == ctx["repo"]
                     and (state == "all" or p.state == state)), key=lambda p: -p.number)
        return 200, [gh.pull_json(p, full=False) for p in ps]

    @route("GET", R + r"/pulls/(?P<n>\d+)")
    def get_pull(ctx, n):
        need(ctx, "pull_requests", "read")
        return 200, gh.pull_json(pull_of(ctx, n))

    @route("GET", R + r"/pulls/(?P<n>\d+)/files")
    def pull_files(ctx, n):
        need(ctx, "pull_requests", "read")
        p = pull_of(ctx, n)
        return 200, [gh.file_json(p, f) for f in p.files]

    @route("PUT", R + r"/pulls/(?P<n>\d+)/merge")
    def merge(ctx, n):
        need(ctx, "contents", "write")
        p = pull_of(ctx, n)
        body = ctx["json"] or {}
        if p.state != "open":
            raise error(405, "Pull Request is not mergeable")
        if body.get("sha") and body["sha"] != p.head_sha:
            raise error(409, "Head branch was modified. Review and try the merge again.")
        sha = gh.merge_hook(p, p.head_sha) if gh.merge_hook else "d" * 40
        p.state, p.merged, p.merge_commit_sha = "closed", True, sha
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}

    @route("GET", R + r"/issues/(?P<n>\d+)")
    def get_issue(ctx, n):
        need(ctx, "pull_requests", "read")
        return 200, gh.issue_json(pull_of(ctx, n))

    @route("GET", R + r"/issues/(?P<n>\d+)/comments")
    def list_comments(ctx, n):
        need(ctx, "pull_requests", "read")
        p = pull_of(ctx, n)
        return 200, [gh.comment_json(c["id"]) for c in gh.comments_on(p.repo, p.number)]

    @route("POST", R + r"/issues/(?P<n>\d+)/comments")
    def create_comment(ctx, n):
        need(ctx, "pull_requests", "write")
        p = pull_of(ctx, n)
        body = (ctx["json"] or {}).get("body")
        if not isinstance(body, str) or not body:
            raise error(422, "Validation Failed")
        cid = next(gh._ids)
        gh.comments[cid] = {"id": cid, "repo": p.repo, "number": p.number,
                            "user": ctx["token"].login, "body": body, "created": _now(),
                            "updated": _now()}
        return 201, gh.comment_json(cid)

    @route("PATCH", R + r"/issues/comments/(?P<cid>\d+)")
    def edit_comment(ctx, cid):
        need(ctx, "pull_requests", "write")
        c = gh.comments.get(int(cid))
        if c is None or c["repo"] != ctx["repo"]:
            raise error(404, "Not Found")
        c["body"], c["updated"] = ctx["json"]["body"], _now()
        return 200, gh.comment_json(int(cid))

    @route("GET", R + r"/issues/(?P<n>\d+)/labels")
    def list_labels(ctx, n):
        need(ctx, "pull_requests", "read")
        p = pull_of(ctx, n)
        return 200, [gh.label_json(p.repo, x) for x in p.labels]

    @route("POST", R + r"/issues/(?P<n>\d+)/labels")
    def add_labels(ctx, n):
        need(ctx, "pull_requests", "write")
        p = pull_of(ctx, n)
        data = ctx["json"]
        names = data.get("labels", []) if isinstance(data, dict) else data
        for x in names:
            if x not in p.labels:
                p.labels.append(x)
        return 200, [gh.label_json(p.repo, x) for x in p.labels]

    @route("DELETE", R + r"/issues/(?P<n>\d+)/labels/(?P<name>[^/]+)")
    def remove_label(ctx, n, name):
        need(ctx, "pull_requests", "write")
        p = pull_of(ctx, n)
        name = unquote(name)
        if name not in p.labels:
            raise error(404, "Label does not exist")
        p.labels.remove(name)
        return 200, [gh.label_json(p.repo, x) for x in p.labels]

    @route("POST", R + r"/statuses/(?P<sha>[0-9a-f]{40})")
    def create_status(ctx, sha):
        need(ctx, "statuses", "write")
        data = ctx["json"] or {}
        if data.get("state") not in ("error", "failure", "pending", "success"):
            raise error(422, "Validation Failed")
        if len(data.get("description") or "") > 140:
            raise error(422, "Validation Failed: description is too long (maximum is 140)")
        s = {"id": next(gh._ids), "repo": ctx["repo"], "sha": sha, "state": data["state"],
             "description": data.get("description"), "target_url": data.get("target_url"),
             "context": data.get("context") or "default", "created": _now(),
             "creator": ctx["token"].login}
        gh.statuses.append(s)
        return 201, gh.status_json(s)

    @route("GET", R + r"/commits/(?P<sha>[0-9a-f]{40})/statuses")
    def list_statuses(ctx, sha):
        need(ctx, "statuses", "read")
        return 200, [gh.status_json(s) for s in reversed(gh.statuses_of(ctx["repo"], sha))]

    @route("POST", R + r"/check-runs")
    def create_check_run(ctx):
        tok = ctx["token"]
        if tok is None or tok.kind != "installation":
            raise error(403, "You must authenticate via a GitHub App.")
        need(ctx, "checks", "write")
        data = ctx["json"] or {}
        run = {"id": next(gh._ids), "repo": ctx["repo"], "installation": tok.installation,
               "name": data["name"], "head_sha": data["head_sha"],
               "status": data.get("status", "queued"), "conclusion": data.get("conclusion"),
               "details_url": data.get("details_url"), "started_at": _now(),
               "completed_at": _now() if data.get("status") == "completed" else None,
               "output": data.get("output") or {}}
        gh.check_runs.append(run)
        return 201, gh.check_run_json(run)

    @route("GET", R + r"/actions/runs/(?P<run>\d+)/artifacts")
    def list_run_artifacts(ctx, run):
        need(ctx, "actions", "read")
        name = ctx["query"].get("name", [None])[0]
        found = [a for a in gh.artifacts.values() if a.repo == ctx["repo"]
                 and a.run_id == int(run) and (name is None or a.name == name)]
        return 200, {"total_count": len(found),
                     "artifacts": [gh.artifact_json(a) for a in found]}

    @route("GET", R + r"/actions/artifacts/(?P<aid>\d+)/zip")
    def download_artifact(ctx, aid):
        need(ctx, "actions", "read")
        a = gh.artifacts.get(int(aid))
        if a is None or a.repo != ctx["repo"]:
            raise error(404, "Not Found")
        if a.expired:
            raise error(410, "Artifact has expired")
        port = gh._httpd.server_address[1]
        raise _Reply(302, None, {"Location": f"http://localhost:{port}/_blobs/{a.id}.zip"
                                             f"?sig=signed-{a.id}"})

    @route("POST", r"/app/installations/(?P<iid>\d+)/access_tokens")
    def installation_token(ctx, iid):
        import jwt

        app = gh.apps.get(int(iid))
        bearer = ctx["auth"].removeprefix("Bearer ") if ctx["auth"].startswith("Bearer ") else ""
        if app is None:
            raise error(404, "Not Found")
        try:
            claims = jwt.decode(bearer, app["key"], algorithms=["RS256"])
        except jwt.PyJWTError as e:
            raise error(401, f"A JSON web token could not be decoded ({e})") from None
        if str(claims.get("iss")) != str(app["app_id"]):
            raise error(401, "'Issuer' claim ('iss') must be the App's id")
        token = f"ghs_{next(gh._ids)}"
        gh.tokens[token] = Token(f"{app['slug']}[bot]", app["permissions"], "installation",
                                 int(iid))
        expires = time.strftime(ISO, time.gmtime(time.time() + 3600))
        return 201, {"token": token, "expires_at": expires, "permissions": app["permissions"],
                     "repository_selection": "all"}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, body, headers = 500, None, {}
            try:
                with gh.lock:
                    if gh.faults:
                        f = gh.faults.pop(0)
                        raise error(f.status, f.message, **f.headers)
                    status, body = self._dispatch(method, parts, raw)
            except _Reply as r:
                status, body, headers = r.status, r.body, r.headers
            gh.log.append((method, parts.path, status))
            self._send(status, body, headers)

        def _dispatch(self, method, parts, raw):
            path = parts.path
            blob = re.fullmatch(r"/_blobs/(\d+)\.zip", path)
            if blob and method == "GET":
                auth = self.headers.get("Authorization")
                gh.blob_requests.append((path, auth))
                a = gh.artifacts.get(int(blob[1]))
                if auth is not None:
                    raise error(400, "Authentication information is not given in the "
                                     "correct format (a signed address takes no token)")
                if a is None or parse_qs(parts.query).get("sig") != [f"signed-{a.id}"]:
                    raise error(403, "Signature did not match")
                return 200, a.data
            if not path.startswith("/api/v3/"):
                raise error(404, "Not Found")
            path = path[len("/api/v3"):]
            auth = self.headers.get("Authorization", "")
            token = None
            if auth.startswith("token "):
                token = gh.tokens.get(auth[6:])
                if token is None:
                    raise error(401, "Bad credentials")
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                raise error(400, "Problems parsing JSON") from None
            for m, pattern, fn in routes:
                match = pattern.match(path)
                if match and m == method:
                    groups = match.groupdict()
                    repo = groups.pop("repo", None)
                    if repo is not None and repo not in gh.repos:
                        raise error(404, "Not Found")
                    ctx = {"repo": repo, "token": token, "json": data, "auth": auth,
                           "query": parse_qs(parts.query)}
                    return fn(ctx, **groups)
            raise error(404, "Not Found")

        def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
            binary = isinstance(body, bytes)
            payload = body if binary else b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/zip" if binary
                             else "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-GitHub-Media-Type", "github.v3; param=full; format=json")
            self.send_header("X-RateLimit-Limit", "5000")
            if "X-RateLimit-Remaining" not in headers:
                self.send_header("X-RateLimit-Remaining", str(gh.rate_remaining))
            if "X-RateLimit-Reset" not in headers:
                self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
            self.send_header("X-RateLimit-Resource", "core")
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def do_PATCH(self):
            self._serve("PATCH")

        def do_PUT(self):
            self._serve("PUT")

        def do_DELETE(self):
            self._serve("DELETE")

    return Handler
