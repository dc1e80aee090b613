"""The GitHub forge, on github3.py: github.com, GitHub Enterprise, or any server that
answers GitHub's REST API (the tests' local one).

Authentication: a plain token (`GITHUB_TOKEN`, the workflow's own) for statuses,
comments, labels and merges; optionally a GitHub App installation (`GITRAMP_APP_ID`,
`GITRAMP_APP_INSTALLATION_ID`, `GITRAMP_APP_PRIVATE_KEY`), which check runs need.
Rate limits (403/429 with rate-limit headers or Retry-After) and gateway errors are
retried with backoff by the session's transport (urllib3's Retry), below github3.py.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping

import github3
import requests
from github3 import exceptions as gh_errors
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from challenge.forge.base import (
    STATUS_CONTEXT,
    Comment,
    ForgeError,
    PullRequest,
    check_state,
    is_gitramp_comment,
    with_marker,
)

TOKEN_VAR = "GITHUB_TOKEN"
APP_VARS = ("GITRAMP_APP_ID", "GITRAMP_APP_INSTALLATION_ID", "GITRAMP_APP_PRIVATE_KEY")
PUBLIC_API = "https://api.github.com"
# The login GITHUB_TOKEN writes as; an App writes as "<slug>[bot]" (GITRAMP_BOT_LOGIN).
ACTIONS_BOT = "github-actions[bot]"

RETRY_STATUSES = (429, 500, 502, 503, 504)
IDEMPOTENT = ("GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS")


def retry_wait(method: str, status: int, headers: Mapping[str, str], attempt: int, *,
               backoff: float, max_wait: float, now: float) -> float | None:
    """Seconds to wait before retrying a response, or None when it must not be retried
    (not transient, or the server asks for a wait longer than `max_wait`)."""
    retry_after = headers.get("Retry-After")
    limited = status == 429 or (status == 403 and (
        headers.get("X-RateLimit-Remaining") == "0" or retry_after is not None))
    if limited:
        if retry_after is not None:
            wait = _seconds(retry_after, now)
        elif headers.get("X-RateLimit-Reset", "").isdigit():
            wait = int(headers["X-RateLimit-Reset"]) - now + 1
        else:
            wait = backoff * 2 ** attempt
    elif status in RETRY_STATUSES and (method in IDEMPOTENT or status != 500):
        # 502-504 come from the gateway before the request was handled: safe to repeat.
        wait = backoff * 2 ** attempt
    else:
        return None
    wait = max(0.0, wait)
    return wait if wait <= max_wait else None


def _seconds(retry_after: str, now: float) -> float:
    if retry_after.strip().isdigit():
        return float(retry_after)
    try:  # an HTTP date, which urllib3 reads relative to the clock
        return Retry(retry_after_max=sys.maxsize).parse_retry_after(retry_after) \
            + time.time() - now
    except InvalidHeader:
        return 60.0


class GitHubRetry(Retry):
    """urllib3's Retry (attempts, connection errors, Retry-After) with GitHub's rules on
    top, as `retry_wait` states them: a 403 is retried only when it is a rate limit,
    X-RateLimit-Reset sets the wait when Retry-After is absent, a wait longer than
    `max_wait` returns the response instead, and a 500 is repeated only for idempotent
    methods. `sleep` is what waits (the tests record the waits instead)."""

    def __init__(self, *args, max_wait: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_wait, self.sleeper = max_wait, sleep
        self.wait: float | None = None  # set by `increment` for a retried response

    def new(self, **kw) -> GitHubRetry:
        return super().new(max_wait=self.max_wait, sleep=self.sleeper, **kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return status_code in self.status_forcelist and (
            status_code != 500 or method in IDEMPOTENT)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,
                  _stacktrace=None):
        wait = None
        if response is not None and error is None:
            wait = retry_wait(method or "GET", response.status, response.headers,
                              len(self.history), backoff=self.backoff_factor,
                              max_wait=self.max_wait, now=time.time())
            if wait is None:  # final: the connection pool returns this response as it is
                raise MaxRetryError(_pool, url, ResponseError(f"status {response.status}"))
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        retry.wait = wait
        return retry

    def get_backoff_time(self) -> float:
        return self.backoff_factor * 2 ** max(0, len(self.history) - 1)

    def sleep(self, response=None) -> None:
        self.sleeper(self.wait if self.wait is not None else self.get_backoff_time())


def retrying_adapter(retries: int = 5, backoff: float = 1.0, max_wait: float = 120.0,
                     sleep: Callable[[float], None] = time.sleep) -> HTTPAdapter:
    """A transport that repeats rate-limited and gateway-failed requests, and refused
    connections (the API may be restarting), waiting as the server asks."""
    return HTTPAdapter(max_retries=GitHubRetry(
        total=retries, backoff_factor=backoff, max_wait=max_wait, sleep=sleep,
        allowed_methods=None, status_forcelist=(403, *RETRY_STATUSES),
        respect_retry_after_header=True, raise_on_status=False, redirect=False))


def client(api_url: str | None = None, *, adapter: HTTPAdapter | None = None) -> github3.GitHub:
    """A github3.py client for `api_url` (GITHUB_API_URL: https://api.github.com, or
    https://HOST/api/v3 for GitHub Enterprise and the local test server)."""
    api_url = (api_url or PUBLIC_API).rstrip("/")
    gh = (github3.GitHub() if api_url == PUBLIC_API
          else github3.GitHubEnterprise(api_url.removesuffix("/api/v3")))
    adapter = adapter or retrying_adapter()
    gh.session.mount("https://", adapter)
    gh.session.mount("http://", adapter)
    return gh


def connect(repository: str | None = None, *, env: Mapping[str, str] | None = None,
            adapter: HTTPAdapter | None = None) -> GitHubForge:
    """The forge for the repository a workflow runs in, configured from GitHub's
    environment variables (GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN)."""
    env = os.environ if env is None else env
    repository = repository or env.get("GITHUB_REPOSITORY")
    if not repository or repository.count("/") != 1:
        raise ForgeError("GITHUB_REPOSITORY is not set to owner/name; run inside a workflow "
                         "or pass --repository owner/name")
    gh = client(env.get("GITHUB_API_URL"), adapter=adapter)
    app = [env.get(v) for v in APP_VARS]
    if all(app):
        with _translate("a GitHub App installation token", "the App's installation"):
            # the App id goes in as text: PyJWT >= 2.10 refuses a non-string issuer claim
            gh.login_as_app_installation(app[2].encode(), str(app[0]), int(app[1]))
        bots = (env.get("GITRAMP_BOT_LOGIN", ""),)
    elif any(app):
        missing = [v for v, val in zip(APP_VARS, app, strict=True) if not val]
        raise ForgeError(f"GitHub App login needs {', '.join(APP_VARS)}; {', '.join(missing)} "
                         "not set (unset all three to use GITHUB_TOKEN)")
    else:
        token = env.get(TOKEN_VAR)
        if not token:
            raise ForgeError(f"{TOKEN_VAR} is not set; give the step `env: {TOKEN_VAR}: "
                             "${{ github.token }}` and the job the permissions it needs "
                             "(pull-requests: write for comments and labels, statuses: write "
                             "for commit statuses)")
        gh.login(token=token)
        bots = (env.get("GITRAMP_BOT_LOGIN", ACTIONS_BOT),)
    return GitHubForge(gh, repository, bot_logins=tuple(b for b in bots if b),
                       app=all(app))


@contextlib.contextmanager
def _translate(what: str, needs: str) -> Iterator[None]:
    """github3.py and transport errors -> ForgeError saying what to fix."""
    try:
        yield
    except gh_errors.AuthenticationFailed:
        raise ForgeError(f"{TOKEN_VAR} was refused (401) while {what}; the token is wrong or "
                         "expired: use the workflow's ${{ github.token }}") from None
    except gh_errors.ForbiddenError as e:
        if e.response is not None and e.response.headers.get("X-RateLimit-Remaining") == "0":
            reset = e.response.headers.get("X-RateLimit-Reset", "?")
            raise ForgeError(f"GitHub's rate limit is exhausted while {what} (resets at epoch "
                             f"{reset}); retry later") from None
        accepted = e.response.headers.get("X-Accepted-GitHub-Permissions") if (
            e.response is not None) else None
        hint = f" (GitHub accepts: {accepted})" if accepted else ""
        raise ForgeError(f"{TOKEN_VAR} may not do this ({what}): 403 {e.msg}{hint}; grant the "
                         f"job `permissions: {needs}`") from None
    except gh_errors.NotFoundError:
        raise ForgeError(f"not found while {what}: check the repository and number, and that "
                         f"{TOKEN_VAR} can see the repository (permissions: {needs})") from None
    except gh_errors.ServerError as e:
        raise ForgeError(f"GitHub failed ({e.code}) while {what}, after retries; re-run the "
                         "job") from None
    except gh_errors.GitHubError as e:
        raise ForgeError(f"GitHub refused {what}: {e.code} {e.msg}") from None
    except (requests.ConnectionError, gh_errors.TransportError) as e:
        raise ForgeError(f"cannot reach GitHub's API while {what}: {e}; check "
                         "GITHUB_API_URL and the network") from None


class GitHubForge:
    def __init__(self, gh: github3.GitHub, repository: str, *,
                 bot_logins: tuple[str, ...] = (ACTIONS_BOT,), app: bool = False) -> None:
        self.gh = gh
        self.owner, self.name = repository.split("/")
        self.bot_logins = bot_logins
        self.app = app
        self._repo = None

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.name}"

    def _repository(self):
        if self._repo is None:
            with _translate(f"reading {self.repository}", "contents: read"):
                self._repo = self.gh.repository(self.owner, self.name)
        return self._repo

    def _issue(self, number: int):
        with _translate(f"reading PR #{number}", "pull-requests: read"):
            return self.gh.issue(self.owner, self.name, number)

    def _pull_request(self, number: int):
        with _translate(f"reading PR #{number}", "pull-requests: read"):
            return self._repository().pull_request(number)

    @staticmethod
    def _to_pull(p) -> PullRequest:
        raw = p.as_dict()
        head_repo = raw["head"].get("repo") or {}
        return PullRequest(
            number=p.number, author=p.user.login, head_sha=p.head.sha,
            head_repo=head_repo.get("full_name", ""), head_ref=p.head.ref,
            base_ref=p.base.ref, base_repo=(raw["base"].get("repo") or {}).get("full_name", ""),
            state=p.state, title=p.title or "",
            labels=tuple(lb["name"] for lb in raw.get("labels", [])))

    def open_pulls(self) -> list[PullRequest]:
        with _translate("listing open PRs", "pull-requests: read"):
            return [self._to_pull(p) for p in self._repository().pull_requests(state="open")]

    def pull(self, number: int) -> PullRequest:
        return self._to_pull(self._pull_request(number))

    def pull_files(self, number: int) -> list[str]:
        pr = self._pull_request(number)
        out: list[str] = []
        with _translate(f"listing files of PR #{number}", "pull-requests: read"):
            for f in pr.files():
                out.append(f.filename)
                previous = f.as_dict().get("previous_filename")
                if previous:
                    out.append(previous)
        return sorted(set(out))

    def comments(self, number: int) -> list[Comment]:
        with _translate(f"reading comments of PR #{number}", "pull-requests: read"):
            return [Comment(c.id, c.user.login, c.body or "")
                    for c in self._issue(number).comments()]

    def upsert_comment(self, number: int, body: str) -> Comment:
        body = with_marker(body)
        issue = self._issue(number)
        needs = "pull-requests: write"
        with _translate(f"commenting on PR #{number}", needs):
            for c in issue.comments():
                if is_gitramp_comment(Comment(c.id, c.user.login, c.body or ""),
                                      self.bot_logins):
                    if c.body != body:
                        c.edit(body)
                    return Comment(c.id, c.user.login, body)
            c = issue.create_comment(body)
            return Comment(c.id, c.user.login, c.body)

    def set_status(self, sha: str, state: str, description: str, *,
                   context: str = STATUS_CONTEXT, target_url: str | None = None) -> None:
        check_state(state)
        if len(description) > 140:  # GitHub's limit
            description = description[:139] + "…"
        with _translate(f"setting the status of {sha[:10]}", "statuses: write"):
            self._repository().create_status(sha, state, target_url=target_url,
                                             description=description, context=context)

    def create_check_run(self, sha: str, name: str, conclusion: str, title: str,
                         summary: str, details_url: str | None = None) -> int:
        """A completed check run (GitHub App installations only)."""
        if not self.app:
            raise ForgeError("check runs need a GitHub App login: set " + ", ".join(APP_VARS)
                             + "; with GITHUB_TOKEN use a commit status instead")
        with _translate(f"creating check run {name!r}", "checks: write"):
            run = self._repository().create_check_run(
                name, sha, details_url=details_url, status="completed", conclusion=conclusion,
                output={"title": title, "summary": summary[:65535]})
        return run.id

    def add_labels(self, number: int, *labels: str) -> None:
        issue = self._issue(number)
        with _translate(f"labelling PR #{number}", "pull-requests: write"):
            issue.add_labels(*labels)

    def remove_label(self, number: int, label: str) -> None:
        issue = self._issue(number)
        with _translate(f"removing label {label!r} from PR #{number}", "pull-requests: write"):
            try:
                issue.remove_label(label)
            except gh_errors.NotFoundError:
                pass  # the label was not there: nothing to remove

    def merge(self, number: int, *, sha: str, message: str = "") -> str:
        pr = self._pull_request(number)
        if pr.head.sha != sha:
            raise ForgeError(f"PR #{number} moved to {pr.head.sha[:10]} since {sha[:10]} was "
                             "scored; score the new head before merging")
        with _translate(f"merging PR #{number}", "contents: write"):
            merged = pr.merge(commit_message=message or None, sha=sha, merge_method="merge")
        if not merged:
            raise ForgeError(f"GitHub did not merge PR #{number}; resolve its conflicts")
        return self._pull_request(number).merge_commit_sha or ""
