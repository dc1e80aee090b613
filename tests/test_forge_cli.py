"""`gitramp forge` as workflow steps call it: the environment in, outputs out, and an
artifact taken in only as far as the API and git confirm it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pygit2
import pytest

from challenge.hub import commit_files, init_repo
from gitramp.main import main as cli
from tests.github_server import GitHubServer

REPO = "hub/iris"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A trusted clone, a participant's clone with a PR head, the API, the env vars."""
    origin = init_repo(tmp_path / "origin")
    commit_files(origin, "refs/heads/main", {"README.md": b"hub"}, message="hub")
    origin.set_head("refs/heads/main")
    main = origin.references["refs/heads/main"].target
    head = commit_files(origin, "refs/pull/4/head", {"kits/x/submissions/s/a.py": b"x = 1"},
                        message="sub", author="alice", parent=main)
    other = commit_files(origin, "refs/heads/other", {"evil.py": b"y = 2"}, message="other",
                         parent=main)
    git("clone", "--quiet", str(tmp_path / "origin"), str(tmp_path / "trusted"))
    git("clone", "--quiet", str(tmp_path / "origin"), str(tmp_path / "pr"))
    git("-C", str(tmp_path / "pr"), "fetch", "--quiet", "origin", "+refs/pull/*:refs/pull/*")
    with GitHubServer() as gh:
        gh.add_repo(REPO)
        gh.add_token("tok", permissions={"contents": "read", "pull_requests": "write",
                                         "statuses": "write"})
        gh.open_pull(REPO, number=4, author="alice", head_sha=str(head),
                     head_repo="alice/iris", files=["kits/x/submissions/s/a.py"])
        for k, v in {"GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": gh.api_url,
                     "GITHUB_TOKEN": "tok", "GITHUB_OUTPUT": str(tmp_path / "out")}.items():
            monkeypatch.setenv(k, v)
        yield tmp_path, str(head), str(other), gh


def bundle(tmp: Path, sha: str, pr: int = 4) -> Path:
    art = tmp / f"artifact-{sha[:6]}-{pr}"
    assert cli(["forge", "bundle", "--repo", str(tmp / "trusted"), "--from", str(tmp / "pr"),
                "--pr", str(pr), "--sha", sha, "--out", str(art / "submission.bundle")]) == 0
    (art / "pr.json").write_text(json.dumps({"number": pr}))
    return art


def test_intake_fetches_the_verified_head_and_writes_outputs(world):
    tmp, head, _, _ = world
    art = bundle(tmp, head)
    fresh = tmp / "runner"
    git("clone", "--quiet", str(tmp / "origin"), str(fresh))
    assert cli(["forge", "intake", "--artifact", str(art), "--repo", str(fresh),
                "--sha", head]) == 0
    assert str(pygit2.Repository(str(fresh)).references["refs/pull/4/head"].target) == head
    outputs = dict(line.split("=", 1) for line in (tmp / "out").read_text().splitlines())
    assert outputs == {"pr": "4", "author": "alice", "head_sha": head, "base_ref": "main"}


def test_intake_refuses_a_bundle_that_holds_another_commit(world, capsys):
    tmp, head, other, _ = world
    art = bundle(tmp, other)  # the artifact claims PR 4 but bundles another commit
    fresh = tmp / "runner"
    git("clone", "--quiet", str(tmp / "origin"), str(fresh))
    code = cli(["forge", "intake", "--artifact", str(art), "--repo", str(fresh),
                "--sha", head])
    assert code == 2 and "must hold exactly refs/pull/4/head" in capsys.readouterr().err
    assert "refs/pull/4/head" not in pygit2.Repository(str(fresh)).references


def test_intake_refuses_a_pr_number_whose_head_is_not_the_runs(world, capsys):
    tmp, head, other, gh = world
    art = bundle(tmp, head)
    code = cli(["forge", "intake", "--artifact", str(art), "--repo", str(tmp / "trusted"),
                "--sha", other])
    assert code == 2 and "has moved" in capsys.readouterr().err
    (art / "pr.json").write_text('{"number": "4; rm -rf /"}')
    code = cli(["forge", "intake", "--artifact", str(art), "--repo", str(tmp / "trusted"),
                "--sha", head])
    assert code == 2 and "no valid PR number" in capsys.readouterr().err


def test_status_and_report_of_a_rejection(world, tmp_path):
    tmp, head, _, gh = world
    verdict = tmp / "verdict.json"
    verdict.write_text(json.dumps({"ok": False, "phase": "closed", "reasons": [
        {"rule": "scope", "message": "the change touches .github/x.yml"}],
        "submission": {"challenge": "x", "name": "s", "team": "alice",
                       "commit": head, "tree": "t" * 40}}))
    assert cli(["forge", "status", "--sha", head, "--state", "pending"]) == 0
    assert cli(["forge", "report", "--pr", "4", "--sha", head, "--outcome", str(verdict),
                "--repo", str(tmp / "trusted")]) == 0
    (comment,) = gh.comments_on(REPO, 4)
    assert "**rejected**" in comment["body"] and "scope: the change touches" in comment["body"]
    assert [s["state"] for s in gh.statuses_of(REPO, head)] == ["pending", "failure"]
    assert gh.pulls[(REPO, 4)].labels == ["gitramp:rejected"]


def test_event_reads_a_pull_request_payload(world, capsys):
    tmp, head, _, gh = world
    pull = gh.pulls[(REPO, 4)]
    pull.base_sha = "b" * 40
    event = tmp / "event.json"
    event.write_text(json.dumps({"action": "opened", "number": 4,
                                 "pull_request": gh.pull_json(pull)}))
    assert cli(["forge", "event", "--event", str(event), "--out", str(tmp / "pr.json")]) == 0
    meta = json.loads((tmp / "pr.json").read_text())
    assert (meta["number"], meta["author"], meta["head_sha"], meta["head_repo"]) == \
        (4, "alice", head, "alice/iris")
    event.write_text(json.dumps({"action": "push"}))
    assert cli(["forge", "event", "--event", str(event), "--out", str(tmp / "x.json")]) == 2


def test_report_adds_a_check_run_with_a_github_app_login(world, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    tmp, head, _, gh = world
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    gh.add_app_installation(
        31, app_id=5, public_key_pem=key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("GITRAMP_APP_ID", "5")
    monkeypatch.setenv("GITRAMP_APP_INSTALLATION_ID", "31")
    monkeypatch.setenv("GITRAMP_APP_PRIVATE_KEY", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode())
    monkeypatch.setenv("GITRAMP_BOT_LOGIN", "gitramp[bot]")
    verdict = tmp / "verdict.json"
    verdict.write_text(json.dumps({"ok": False, "reasons": [{"rule": "files", "message": "x"}],
                                   "submission": {"challenge": "x", "name": "s"}}))
    assert cli(["forge", "report", "--pr", "4", "--sha", head, "--outcome", str(verdict),
                "--repo", str(tmp / "trusted")]) == 0
    (run,) = gh.check_runs
    assert (run["name"], run["conclusion"], run["head_sha"]) == ("gitramp/score", "failure", head)
    assert gh.comments_on(REPO, 4)[0]["user"] == "gitramp[bot]"


@pytest.mark.parametrize("gpus", [0, 1])
def test_runner_labels_ask_for_a_gpu_runner_when_the_kit_needs_gpus(tmp_path, monkeypatch,
                                                                    capsys, gpus):
    from datetime import UTC, datetime

    from challenge.hub import build_hub

    kits = Path(__file__).resolve().parent.parent / "kits"
    hub = build_hub(tmp_path / "hub", kits, ["iris"], datetime.now(UTC))
    spec = hub.revparse_single("main:kits/iris/challenge.yml").data.replace(
        b"cpus: 1,", f"cpus: 1, gpus: {gpus},".encode())
    commit_files(hub, "refs/heads/main", {"kits/iris/challenge.yml": spec}, message="gpus")
    verdict = tmp_path / "verdict.json"
    verdict.write_text(json.dumps({"ok": True, "submission": {"challenge": "iris"}}))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    assert cli(["forge", "runner-labels", "--repo", str(tmp_path / "hub"),
                "--verdict", str(verdict)]) == 0
    expected = ["self-hosted", "gitramp"] + (["gpu"] if gpus else [])
    assert json.loads(capsys.readouterr().out) == expected
    compact = json.dumps(expected, separators=(",", ":"))
    assert (tmp_path / "out").read_text() == f"runs_on={compact}\n"
