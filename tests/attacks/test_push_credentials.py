"""Attack: make a runner push its ledger somewhere else, to collect GITRAMP_PUSH_TOKEN
(the job's write token). A remote URL, a redirect or a plain-HTTP address pointing away
from the host the token was issued for must get no credentials at all, while that host,
over HTTPS, still gets it.

Real pushes through pygit2 against listeners that record every Authorization header."""

from __future__ import annotations

import base64

import pygit2
import pytest

from challenge.ledger import Ledger, LedgerError

TOKEN = "ghs_theJobsWriteToken"
BASIC = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


@pytest.fixture
def runner_clone(tmp_path, monkeypatch):
    """A runner's clone with a ledger commit to push, and the job's token in reach."""
    repo = pygit2.init_repository(str(tmp_path / "trusted"), initial_head="main")
    sig = pygit2.Signature("gitramp", "gitramp@localhost")
    repo.create_commit("refs/heads/main", sig, sig, "ledger", repo.TreeBuilder().write(), [])
    for var in ("GITRAMP_PUSH_HOST", "GITHUB_SERVER_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GITRAMP_PUSH_TOKEN", TOKEN)
    return repo


def push_to(repo: pygit2.Repository, url: str) -> None:
    if "origin" in repo.remotes.names():
        repo.remotes.delete("origin")
    repo.remotes.create("origin", url)
    with pytest.raises((pygit2.GitError, LedgerError)):  # the listener lets nothing in
        Ledger(repo.workdir).push("origin", attempts=1)


def port_of(url: str) -> str:
    return url.rsplit(":", 1)[1]


@pytest.mark.parametrize("configure", ["GITRAMP_PUSH_HOST", "GITHUB_SERVER_URL"])
def test_the_token_goes_to_its_own_host_and_to_no_other(runner_clone, https_listener,
                                                         monkeypatch, configure):
    port = port_of(https_listener.url)
    monkeypatch.setenv(configure, f"localhost:{port}" if configure == "GITRAMP_PUSH_HOST"
                       else f"https://localhost:{port}")

    # the same server under another name: TLS succeeds, the token must not be offered
    push_to(runner_clone, f"https://127.0.0.1:{port}/mallory/loot.git")
    assert https_listener.seen, "the push never reached the listener"
    assert https_listener.credentials == []

    # the configured host does get it (so the listener would have recorded a leak)
    https_listener.seen.clear()
    push_to(runner_clone, f"https://localhost:{port}/organizers/iris-hub.git")
    assert BASIC in https_listener.credentials


def test_a_redirect_away_from_the_host_gets_no_token(runner_clone, https_listener,
                                                      monkeypatch):
    port = port_of(https_listener.url)
    monkeypatch.setenv("GITRAMP_PUSH_HOST", f"localhost:{port}")
    https_listener.redirect_to = f"https://127.0.0.1:{port}"
    push_to(runner_clone, f"https://localhost:{port}/organizers/iris-hub.git")
    redirected = [auth for host, _, auth in https_listener.seen if host.startswith("127.")]
    assert redirected, "the redirect was not followed"
    assert https_listener.credentials == []


def test_plain_http_never_gets_the_token_even_on_the_configured_host(runner_clone,
                                                                     http_listener,
                                                                     monkeypatch):
    monkeypatch.setenv("GITRAMP_PUSH_HOST", f"127.0.0.1:{port_of(http_listener.url)}")
    push_to(runner_clone, f"{http_listener.url}/organizers/iris-hub.git")
    assert http_listener.seen and http_listener.credentials == []


def test_without_configuration_only_github_dot_com_over_https_qualifies(monkeypatch):
    from challenge.ledger import _PushCallbacks

    for var in ("GITRAMP_PUSH_HOST", "GITHUB_SERVER_URL"):
        monkeypatch.delenv(var, raising=False)
    allowed = _PushCallbacks.token_host_matches
    assert allowed("https://github.com/organizers/iris-hub")
    assert allowed("https://x-access-token@github.com:443/organizers/iris-hub")
    assert not allowed("http://github.com/organizers/iris-hub")
    assert not allowed("https://github.com.mallory.example/organizers/iris-hub")
    assert not allowed("https://mallory.example/github.com/iris-hub")
    assert not allowed("https://github.com:8443/organizers/iris-hub")
    # a runner of an http-only server (a test GitHub) trusts no host with the token
    monkeypatch.setenv("GITHUB_SERVER_URL", "http://127.0.0.1:9999")
    assert not allowed("http://127.0.0.1:9999/organizers/iris-hub")
    assert not allowed("https://github.com/organizers/iris-hub")
