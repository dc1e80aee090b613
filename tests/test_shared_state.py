"""Shared state for many runners: the private ledger as a remote every runner pushes to
(here a bare repository given by its file:// URL; https with the runner's own token in
real use), and hidden data checked by its hash before anything is claimed."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pygit2
import pytest

from challenge import predictions_store
from challenge.claims import read_all
from challenge.data_manifest import DataMismatch, check, folder_hash
from challenge.ledger import Ledger, _PushCallbacks
from challenge.phases import iso
from gitramp.main import main as cli
from tests.gitramp_hubs import CLOSED_NOW, KITS, example, make_hub, submit

CODE = example("iris", "starting_kit")


def run(*argv) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli([str(a) for a in argv])
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def hub(tmp_path):
    """A bare public remote with two submissions, and a bare private ledger remote."""
    repo = make_hub(tmp_path, min_interval=0)
    for i, team in enumerate(("alice", "bob")):
        submit(repo, team, f"{team}_m", {"classifier.py": CODE["classifier.py"]
                                        + f"# {i}\n".encode()}, when=CLOSED_NOW)
    origin = tmp_path / "origin.git"
    pygit2.clone_repository(str(tmp_path / "hub"), str(origin), bare=True)
    bare = pygit2.Repository(str(origin))
    for ref in repo.references:
        if ref.startswith("refs/heads/submit/"):
            bare.references.create(ref, repo.references[ref].target, force=True)
    private = tmp_path / "private.git"
    pygit2.init_repository(str(private), bare=True, initial_head="main")
    return tmp_path, origin, private


def clone(tmp: Path, origin: Path, name: str, only: str | None = None) -> Path:
    path = tmp / name
    repo = pygit2.clone_repository(str(origin), str(path))
    spec = f"refs/heads/submit/{only}" if only else "refs/heads/submit/*"
    repo.remotes["origin"].fetch([f"+{spec}:{spec}"])
    return path


def scan(runner: Path, private: Path, *extra) -> tuple[int, str]:
    return run("scan", "--repo", runner, "--push", "origin", "--backend", "local", "--quick",
               "--now", iso(CLOSED_NOW), "--runner", runner.name,
               "--data-dir", KITS / "{challenge}" / "hidden",
               "--private-ledger", private.as_uri(),
               "--private-ledger-copy", runner.parent / f"{runner.name}-private", *extra)


def test_every_runner_pushes_its_private_records_to_the_private_remote(hub):
    tmp, origin, private = hub
    one = clone(tmp, origin, "one", "alice/alice_m")
    two = clone(tmp, origin, "two", "bob/bob_m")
    assert scan(one, private)[0] == 0
    assert scan(two, private)[0] == 0
    remote = Ledger(private, branch="refs/heads/main")
    records = {(r.team, r.submission): r for r in remote.records("iris")}
    assert set(records) == {("alice", "alice_m"), ("bob", "bob_m")}
    assert all("test" in r.bagged for r in records.values())  # the private part
    # both runners' fold predictions reach the remote too (blending needs them all)
    assert len(predictions_store.keys(private, "iris")) == 2
    # the public remote never holds a test score
    public = Ledger(origin, branch="refs/heads/main").records("iris")
    assert len(public) == 2 and all("test" not in r.bagged for r in public)
    # a rescore on another runner writes the same key again on the remote: no conflict
    three = clone(tmp, origin, "three", "alice/alice_m")
    assert scan(three, private, "--rescore")[0] == 0
    again = {(r.team, r.submission): r for r in remote.records("iris")}
    assert again.keys() == records.keys()
    assert again[("alice", "alice_m")].bagged == records[("alice", "alice_m")].bagged


def test_a_private_token_goes_to_its_own_host_over_https_only(monkeypatch):
    monkeypatch.setenv("GITRAMP_PRIVATE_TOKEN", "private-secret")
    monkeypatch.setenv("GITRAMP_PUSH_TOKEN", "job-secret")
    url = "https://git.example.org/org/private-ledger.git"
    cb = _PushCallbacks("GITRAMP_PRIVATE_TOKEN", url)
    plain = pygit2.enums.CredentialType.USERPASS_PLAINTEXT
    cred = cb.credentials("https://git.example.org/org/private-ledger.git", None, plain)
    assert cred.credential_tuple == ("x-access-token", "private-secret")
    for other in ("https://elsewhere.example.org/org/private-ledger.git",
                  "http://git.example.org/org/private-ledger.git",
                  "https://git.example.org:8443/org/private-ledger.git"):
        with pytest.raises(pygit2.Passthrough):
            cb.credentials(other, None, plain)
    # the job's token never goes to the private ledger, nor the private token elsewhere
    monkeypatch.delenv("GITRAMP_PRIVATE_TOKEN")
    with pytest.raises(pygit2.Passthrough):
        cb.credentials(url, None, plain)


def test_gitramp_data_hash_names_the_folder_and_its_files(tmp_path):
    data = tmp_path / "hidden"
    shutil.copytree(KITS / "iris" / "hidden", data)
    code, out = run("data", "hash", data, "--manifest", tmp_path / "manifest.txt")
    assert code == 0 and out.strip() == folder_hash(data)
    assert out.strip().startswith("sha256:")
    manifest = (tmp_path / "manifest.txt").read_text()
    assert out.strip() in manifest.splitlines()[0]
    assert all(p.relative_to(data).as_posix() in manifest
               for p in data.rglob("*") if p.is_file())
    assert check(data, out.strip()) == out.strip()
    (data / "extra.csv").write_text("x\n")
    with pytest.raises(DataMismatch, match="unexpected extra.csv"):
        check(data, str(tmp_path / "manifest.txt"))
    code, out = run("data", "hash", data, "--check", tmp_path / "manifest.txt")
    assert code == 2 and "unexpected extra.csv" in out


def test_a_scan_refuses_data_whose_hash_differs_before_claiming(hub):
    tmp, origin, private = hub
    data = tmp / "data" / "iris"
    shutil.copytree(KITS / "iris" / "hidden", data)
    good = folder_hash(data)
    manifest = tmp / "iris.manifest"
    run("data", "hash", data, "--manifest", manifest)
    changed = next(p for p in sorted(data.rglob("*.csv")))
    changed.write_bytes(changed.read_bytes() + b"\n")
    runner = clone(tmp, origin, "one")
    head = Ledger(origin, branch="refs/heads/main").head().id
    for expected, named in ((good, good), (f"iris={manifest}",
                                           f"changed {changed.relative_to(data).as_posix()}")):
        code, out = scan(runner, private, "--data-dir", tmp / "data" / "{challenge}",
                         "--data-hash", expected)
        assert code == 2, out
        assert "the hidden data differs" in out and named in out, out
        public = Ledger(origin, branch="refs/heads/main")
        assert public.head().id == head  # nothing claimed, nothing recorded
        assert read_all(public.repo, public.head().tree).attempts == {}
    # the data as the organizer hashed it: scored
    changed.write_bytes(changed.read_bytes()[:-1])
    code, out = scan(runner, private, "--data-dir", tmp / "data" / "{challenge}",
                     "--data-hash", good)
    assert code == 0, out
    assert len(Ledger(origin, branch="refs/heads/main").records("iris")) == 2
