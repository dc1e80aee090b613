"""The ledger: commits without a work tree, compare-and-swap, concurrent writers, push."""

from __future__ import annotations

import multiprocessing
import threading
from dataclasses import replace

import pygit2
import pytest

from challenge.hub import commit_files, init_repo
from challenge.ledger import SIDE_REFS, Key, Ledger, LedgerError, is_final
from scorer.result import Result


def result(i: int, team: str = "red", status: str = "scored", **kw) -> Result:
    return Result(challenge="iris", submission=f"s{i}", status=status, team=team,
                  tree=f"{i:040x}", scoring_hash="ab" * 8, score_names=["acc"],
                  submitted_at="2026-12-01T01:00:00Z", **kw)


@pytest.fixture
def repo_path(tmp_path):
    repo = init_repo(tmp_path / "hub")
    commit_files(repo, "refs/heads/main", {"README.md": b"hub\n"}, message="start")
    repo.set_head("refs/heads/main")
    return tmp_path / "hub"


def test_record_writes_the_public_part_at_its_key(repo_path):
    ledger = Ledger(repo_path)
    r = result(1)
    r.bagged = {"valid": {"acc": 0.9}, "test": {"acc": 0.8}}
    path = ledger.record(r)
    assert path == f"leaderboard_data/iris/s1/{0:016x}-abababab.yml"  # tree[:16]
    assert ledger.has(Key.of(r))
    stored = ledger.read(path)
    assert stored["bagged"] == {"valid": {"acc": 0.9}}  # never the test score
    assert [x.submission for x in ledger.records()] == ["s1"]
    # the work tree (README only) is untouched: the record exists in git alone
    assert not (repo_path / "leaderboard_data").exists()


def test_rejections_are_recorded_in_one_commit_and_never_twice(repo_path):
    ledger = Ledger(repo_path)
    quota = [result(i, status="rejected", reason="quota: 8 a day") for i in range(1, 4)]

    def commits() -> int:  # on the ledger branch, beyond its first
        repo = pygit2.Repository(str(repo_path))
        return sum(1 for _ in repo.walk(repo.references[ledger.branch].target)) - 1

    paths = ledger.record_rejections(quota)
    assert all(p and p.startswith("leaderboard_data/iris/") for p in paths)
    assert commits() == 1
    assert ledger.read(paths[0])["reason"] == "quota: 8 a day"
    # another runner finding the same refusals writes nothing; a new reason is written
    assert ledger.record_rejections(quota) == [None, None, None] and commits() == 1
    again = [quota[0], replace(quota[1], reason="phase: closed")]
    assert ledger.record_rejections(again) == [None, paths[1]] and commits() == 2
    assert ledger.read(paths[1])["reason"] == "phase: closed"


def test_results_without_git_identity_are_refused(repo_path):
    r = Result(challenge="iris", submission="s", status="scored")
    with pytest.raises(LedgerError, match="tree or scoring hash"):
        Ledger(repo_path).record(r)


def test_a_stale_writer_rebuilds_on_top_instead_of_losing_a_result(repo_path):
    a, b = Ledger(repo_path), Ledger(repo_path)
    calls = []

    def slow_build(repo, head):
        calls.append(head.id)
        if len(calls) == 1:  # another writer lands while this one builds
            b.record(result(2))
        from challenge.ledger import put_path

        tree = repo[put_path(repo, head.tree, "leaderboard_data/x.yml",
                             repo.create_blob(b"x: 1\n"), 0o100644)]
        return tree.id, [], "x"

    a.update(slow_build)
    assert len(calls) == 2 and calls[0] != calls[1]
    assert a.read("leaderboard_data/x.yml") == {"x": 1}
    assert [r.submission for r in a.records()] == ["s2"]


def test_two_threads_recording_at_once_both_land(repo_path):
    ledger = Ledger(repo_path)
    barrier = threading.Barrier(8)

    def write(i):
        barrier.wait()
        for j in range(5):
            ledger.record(result(i * 100 + j, team=f"t{i}"))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ledger.entries()) == 40


def _write_many(path, i, n, start):
    start.wait()
    ledger = Ledger(path)
    for j in range(n):
        ledger.record(result(1000 * (i + 1) + j))


def test_two_processes_recording_at_once_both_land(repo_path):
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_write_many, args=(repo_path, i, 10, start)) for i in range(3)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(Ledger(repo_path).entries()) == 30
    # history is linear: each commit has one parent, none was lost in a race
    repo = pygit2.Repository(str(repo_path))
    n = sum(1 for _ in repo.walk(repo.head.target))
    assert n == 31


def test_push_retries_on_top_of_a_remote_that_moved(tmp_path, repo_path):
    remote = tmp_path / "remote.git"
    pygit2.clone_repository(str(repo_path), str(remote), bare=True)
    clones = []
    for name in ("runner1", "runner2"):
        pygit2.clone_repository(str(remote), str(tmp_path / name))
        clones.append(Ledger(tmp_path / name))
    clones[0].record(result(1))
    clones[1].record(result(2))
    clones[0].push("origin")
    clones[1].push("origin")  # rejected first (non fast-forward), then merged and pushed
    merged = Ledger(remote, branch="refs/heads/main")
    assert sorted(r.submission for r in merged.records()) == ["s1", "s2"]


def test_a_writer_on_a_busy_remote_keeps_trying_with_growing_pauses(tmp_path, repo_path,
                                                                   monkeypatch):
    """A result is not given up after ATTEMPTS quick collisions: the writer backs off
    (pauses drawn up to a cap, growing with the tries) and lands it."""
    from challenge import ledger as ledger_mod

    remote = tmp_path / "remote.git"
    pygit2.clone_repository(str(repo_path), str(remote), bare=True)
    pygit2.clone_repository(str(remote), str(tmp_path / "runner"))
    writer = Ledger(tmp_path / "runner")
    swap, lost, pauses = writer._swap_remote, [], []

    def busy(remote_name, new, old):  # another writer wins the first 60 races
        if len(lost) < 60:
            lost.append(new)
            return False
        return swap(remote_name, new, old)
    monkeypatch.setattr(writer, "_swap_remote", busy)
    monkeypatch.setattr(ledger_mod.time, "sleep", pauses.append)
    writer.record(result(1), remote="origin")
    assert len(lost) == 60 > ledger_mod.ATTEMPTS
    assert [r.submission for r in Ledger(remote, branch="refs/heads/main").records()] == ["s1"]
    assert all(0 <= p <= ledger_mod.BACKOFF_CAP for p in pauses) and len(pauses) == 60
    # and past its patience it gives up, saying why
    monkeypatch.setattr(ledger_mod, "REMOTE_PATIENCE", 0.0)
    lost.clear()
    with pytest.raises(LedgerError, match="too many concurrent writers"):
        writer.record(result(2), remote="origin")
    assert len(lost) == ledger_mod.ATTEMPTS


def test_fold_predictions_travel_with_the_ledger_when_pushed(tmp_path, repo_path):
    remote = tmp_path / "remote.git"
    pygit2.clone_repository(str(repo_path), str(remote), bare=True)
    runners = []
    for name in ("runner1", "runner2"):
        pygit2.clone_repository(str(remote), str(tmp_path / name))
        runners.append(Ledger(tmp_path / name))
    for i, ledger in enumerate(runners, 1):
        ledger.record(result(i))
        side = Ledger(ledger.path, branch=SIDE_REFS[0])
        side.write({f"iris/s{i}.npz": b"fold predictions %d" % i}, f"predictions of s{i}")
    for ledger in runners:
        ledger.push("origin")  # the second finds both refs moved and merges each
    pushed = pygit2.Repository(str(remote))
    tree = pushed.revparse_single(SIDE_REFS[0]).peel(pygit2.Tree)
    assert sorted(e.name for e in tree["iris"]) == ["s1.npz", "s2.npz"]


def test_quota_and_phase_rejections_are_not_final():
    assert is_final({"status": "scored"}) and is_final({"status": "error"})
    assert is_final({"status": "rejected", "stage": "files"})
    assert not is_final({"status": "rejected", "stage": "quota"})
    assert not is_final({"status": "rejected", "stage": "phase"})
    assert not is_final(None)


def test_state_defaults_to_closed(repo_path):
    ledger = Ledger(repo_path)
    assert not ledger.state("iris").code_visible
    s = replace(ledger.state("iris"), revealed=True)
    ledger.set_state("iris", s, "reveal")
    assert ledger.state("iris").revealed
