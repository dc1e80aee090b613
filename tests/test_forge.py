"""The forge adapters: the real github3.py client against the local GitHub server, and
the pure-git local forge."""

from __future__ import annotations

import time

import pygit2
import pytest

from challenge.forge.base import COMMENT_MARKER, ForgeError
from challenge.forge.github import connect, retry_wait, retrying_adapter
from tests.github_server import GitHubServer
from tests.local_forge import LocalForge

SHA = "a" * 40
REPO = "hub/iris"


@pytest.fixture
def server():
    with GitHubServer() as gh:
        gh.add_repo(REPO)
        gh.add_token("tok")
        gh.open_pull(REPO, author="alice", head_sha=SHA, head_repo="alice/iris",
                     files=["kits/iris/submissions/alice_rf/classifier.py"])
        yield gh


def forge_for(gh: GitHubServer, token: str | None = "tok", sleeps: list | None = None, **env):
    base = {"GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": gh.api_url}
    if token:
        base["GITHUB_TOKEN"] = token
    adapter = retrying_adapter(retries=5, backoff=0.01, max_wait=5,
                               sleep=(sleeps.append if sleeps is not None else time.sleep))
    return connect(env={**base, **env}, adapter=adapter)


def test_lists_open_pulls_of_a_fork_with_head_and_author(server):
    forge = forge_for(server)
    (pr,) = forge.open_pulls()
    assert (pr.number, pr.author, pr.head_sha, pr.base_ref) == (1, "alice", SHA, "main")
    assert pr.head_repo == "alice/iris" and pr.from_fork
    assert forge.pull_files(1) == ["kits/iris/submissions/alice_rf/classifier.py"]


def test_comment_is_edited_not_duplicated(server):
    forge = forge_for(server)
    first = forge.upsert_comment(1, "scoring…")
    second = forge.upsert_comment(1, "scored: 0.95")
    (only,) = server.comments_on(REPO, 1)
    assert first.id == second.id == only["id"]
    assert only["body"].startswith(COMMENT_MARKER) and only["body"].endswith("scored: 0.95")
    assert ("PATCH", f"/api/v3/repos/{REPO}/issues/comments/{only['id']}", 200) in server.log


def test_a_participant_pasting_the_marker_does_not_capture_the_comment(server):
    server.add_token("alice-token", login="alice")
    forge_for(server, token="alice-token").upsert_comment(1, "fake score 1.0")
    forge_for(server).upsert_comment(1, "real result")
    bodies = {c["user"]: c["body"] for c in server.comments_on(REPO, 1)}
    assert bodies["alice"].endswith("fake score 1.0")
    assert bodies["github-actions[bot]"].endswith("real result")


def test_status_labels_and_merge(server):
    forge = forge_for(server)
    forge.set_status(SHA, "success", "acc 0.953 " + "x" * 200, target_url="http://x/p")
    (status,) = server.statuses_of(REPO, SHA)
    assert status["state"] == "success" and status["context"] == "gitramp/score"
    assert len(status["description"]) <= 140
    forge.add_labels(1, "gitramp:scored", "gpu")
    forge.remove_label(1, "gpu")
    forge.remove_label(1, "never-there")
    assert forge.pull(1).labels == ("gitramp:scored",)
    with pytest.raises(ForgeError, match="moved"):
        forge.merge(1, sha="b" * 40)
    assert forge.merge(1, sha=SHA) == "d" * 40
    assert forge.open_pulls() == []


def test_gateway_errors_and_rate_limits_are_retried(server):
    sleeps: list[float] = []
    forge = forge_for(server, sleeps=sleeps)
    server.fail_next(502, times=2)
    server.fail_next(429, headers={"Retry-After": "1"})
    server.fail_next(403, message="API rate limit exceeded",
                     headers={"X-RateLimit-Remaining": "0",
                              "X-RateLimit-Reset": str(int(time.time()) + 2)})
    assert forge.pull(1).number == 1
    assert len(sleeps) == 4 and sleeps[2] == 1.0 and 0 < sleeps[3] <= 3


def test_persistent_server_errors_end_in_a_clear_error(server):
    forge = forge_for(server)
    server.fail_next(503, times=10)
    with pytest.raises(ForgeError, match="re-run the job"):
        forge.pull(1)


def test_missing_and_underscoped_tokens_name_the_variable_and_permission(server):
    with pytest.raises(ForgeError, match=r"GITHUB_TOKEN is not set.*pull-requests: write"):
        forge_for(server, token=None)
    server.add_token("read-only", permissions={"contents": "read", "pull_requests": "read"})
    forge = forge_for(server, token="read-only")
    assert forge.pull(1).author == "alice"
    with pytest.raises(ForgeError, match=r"GITHUB_TOKEN may not.*statuses: write"):
        forge.set_status(SHA, "success", "ok")
    with pytest.raises(ForgeError, match=r"GITHUB_TOKEN may not.*pull-requests: write"):
        forge.upsert_comment(1, "x")
    with pytest.raises(ForgeError, match="GITHUB_TOKEN was refused"):
        forge_for(server, token="wrong").pull(1)


def test_rate_limit_wait_rules():
    kw = {"backoff": 1.0, "max_wait": 60.0, "now": 1000.0}
    assert retry_wait("GET", 502, {}, 2, **kw) == 4.0
    assert retry_wait("POST", 500, {}, 0, **kw) is None  # may have been applied already
    assert retry_wait("GET", 403, {}, 0, **kw) is None  # a permission error, not a limit
    assert retry_wait("GET", 403, {"X-RateLimit-Remaining": "0",
                                   "X-RateLimit-Reset": "1010"}, 0, **kw) == 11.0
    assert retry_wait("GET", 403, {"X-RateLimit-Remaining": "0",
                                   "X-RateLimit-Reset": "9000"}, 0, **kw) is None  # too long
    assert retry_wait("POST", 429, {"Retry-After": "7"}, 0, **kw) == 7.0


def test_github_app_installation_creates_check_runs(server):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    server.add_app_installation(77, app_id=12, public_key_pem=public)
    forge = forge_for(server, token=None, GITRAMP_APP_ID="12", GITRAMP_APP_INSTALLATION_ID="77",
                      GITRAMP_APP_PRIVATE_KEY=pem, GITRAMP_BOT_LOGIN="gitramp[bot]")
    run_id = forge.create_check_run(SHA, "gitramp/score", "success", "scored", "acc 0.95")
    (run,) = server.check_runs
    assert run["id"] == run_id and run["conclusion"] == "success"
    forge.upsert_comment(1, "via app")
    assert server.comments_on(REPO, 1)[0]["user"] == "gitramp[bot]"
    with pytest.raises(ForgeError, match="check runs need a GitHub App"):
        forge_for(server).create_check_run(SHA, "x", "success", "t", "s")


def test_local_forge_round_trip(tmp_path):
    repo = pygit2.init_repository(str(tmp_path / "hub"), bare=True, initial_head="main")
    sig = pygit2.Signature("t", "t@x")

    def commit(ref, parents, files):
        tb = repo.TreeBuilder()
        for name, text in files.items():
            tb.insert(name, repo.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB)
        return repo.create_commit(ref, sig, sig, "c", tb.write(), parents)

    base = commit("refs/heads/main", [], {"README.md": "hub"})
    head = commit(None, [base], {"README.md": "hub", "sub.py": "x = 1"})
    forge = LocalForge(repo)
    pr = forge.open_pull(author="alice", head=str(head))
    assert forge.pull_files(pr.number) == ["sub.py"]
    forge.upsert_comment(pr.number, "one")
    forge.upsert_comment(pr.number, "two")
    assert [c.body for c in forge.comments(pr.number)] == [f"{COMMENT_MARKER}\ntwo"]
    forge.set_status(str(head), "success", "ok")
    assert forge.statuses(str(head))[0]["state"] == "success"
    assert forge.merge(pr.number, sha=str(head)) == str(head)
    assert str(repo.references["refs/heads/main"].target) == str(head)
    assert forge.open_pulls() == []


def test_an_unreachable_api_is_retried_then_named():
    with GitHubServer() as gh:
        api = gh.api_url  # the port is closed once the server stops
    sleeps: list[float] = []
    adapter = retrying_adapter(retries=2, backoff=0.01, sleep=sleeps.append)
    forge = connect(env={"GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": api,
                         "GITHUB_TOKEN": "tok"}, adapter=adapter)
    with pytest.raises(ForgeError, match="cannot reach GitHub's API.*GITHUB_API_URL"):
        forge.pull(1)
    assert sleeps == [0.01, 0.02]
