"""Scanning a hub: score what is new, record it, never rescore, keep test scores private."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pygit2
import pytest

from challenge.hub import commit_files
from challenge.ledger import Ledger
from challenge.pipeline import Options, Pipeline
from challenge.publish import reveal
from challenge.scan import scan
from challenge.submission import from_branch
from gitramp.demo import FAILING
from gitramp.main import main as cli
from tests.gitramp_hubs import CLOSED_NOW, KITS, OPEN_NOW, example, make_hub, submit


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scan")
    hub = make_hub(tmp)
    submit(hub, "alice", "rf", example("iris", "random_forest"))
    submit(hub, "bob", "sepal", example("iris", "sepal_width_only"))
    submit(hub, "carol", "broken", {"classifier.py": FAILING})
    options = Options(private_ledger=tmp / "private", now=CLOSED_NOW, quick=True,
                      data_dir=str(KITS / "{challenge}" / "hidden"), runner="test-runner")
    outcomes = scan(tmp / "hub", options, workers=2)
    return tmp, options, outcomes


def copy_of(scanned, tmp_path):
    tmp, options, _ = scanned
    shutil.copytree(tmp / "hub", tmp_path / "hub", symlinks=True)
    shutil.copytree(tmp / "private", tmp_path / "private", symlinks=True)
    return tmp_path / "hub", tmp_path / "private"


def test_scan_scores_each_new_branch_and_records_it(scanned):
    tmp, _, outcomes = scanned
    assert sorted((o.submission.name, o.status) for o in outcomes) == [
        ("broken", "error"), ("rf", "scored"), ("sepal", "scored")]
    ledger = Ledger(tmp / "hub")
    records = {r.submission: r for r in ledger.records("iris")}
    rf = records["rf"]
    hub = pygit2.Repository(str(tmp / "hub"))
    sub = from_branch(hub, "refs/heads/submit/alice/rf")
    assert (rf.team, rf.commit, rf.tree, rf.phase) == ("alice", sub.commit, sub.tree, "closed")
    first = list(hub.walk(hub.references["refs/heads/main"].target))[-1]
    assert rf.kit_commit == str(first.id)  # the kit as it was when scanning began
    assert rf.submitted_at == "2026-12-01T01:00:00Z" and rf.scored_at
    assert (rf.runner, rf.backend) == ("test-runner", "local")
    assert rf.bagged["valid"]["acc"] > 0.5 and "test" not in rf.bagged
    assert rf.lineage == {"parent": None, "parent_team": None, "ancestors": [],
                          "inherited_share": 0.0}
    assert "petal_area" in records["broken"].reason
    private = Ledger(tmp / "private").records("iris")
    assert {r.submission for r in private} == {"rf", "sepal", "broken"}
    assert all("test" in r.bagged for r in private if r.status == "scored")


def test_scan_leaves_current_contributivity_on_every_scored_record(scanned):
    tmp, _, _ = scanned
    records = {r.submission: r for r in Ledger(tmp / "hub").records("iris")}
    scored = [r for r in records.values() if r.status == "scored"]
    assert all(set(r.contributivity) == {"blend", "historical"} for r in scored)
    assert sum(r.contributivity["blend"] for r in scored) == pytest.approx(100)
    assert not records["broken"].contributivity


def test_rescanning_scores_nothing(scanned):
    tmp, options, _ = scanned
    before = Ledger(tmp / "hub").head().id
    outcomes = scan(tmp / "hub", options, workers=2)
    assert outcomes == []
    assert Ledger(tmp / "hub").head().id == before


def test_a_changed_kit_makes_results_stale_and_rescore_forces(scanned, tmp_path):
    hub_path, private = copy_of(scanned, tmp_path)
    options = Options(now=CLOSED_NOW, quick=True)
    pipe = Pipeline(hub_path, options)
    sub = from_branch(pipe.repo, "refs/heads/submit/alice/rf")
    assert pipe.settled(sub)
    assert not Pipeline(hub_path, Options(now=CLOSED_NOW, rescore=True)).settled(sub)
    spec = pipe.repo[pipe.repo.references["refs/heads/main"].target].tree[
        "kits/iris/challenge.yml"]
    commit_files(pipe.repo, "refs/heads/main", {"kits/iris/challenge.yml": pipe.repo[
        spec.id].data.replace(b"precision: 3}", b"precision: 4}", 1)}, message="precision")
    assert not Pipeline(hub_path, options).settled(sub)


def all_blobs(repo: pygit2.Repository):
    seen, todo = set(), []
    for ref in repo.references:
        todo.append(repo[repo.references[ref].target].peel(pygit2.Commit))
    commits = set()
    while todo:
        c = todo.pop()
        if c.id in commits:
            continue
        commits.add(c.id)
        todo.extend(c.parents)
        stack = [c.tree]
        while stack:
            t = stack.pop()
            for e in t:
                if e.id in seen:
                    continue
                seen.add(e.id)
                obj = repo[e.id]
                if isinstance(obj, pygit2.Tree):
                    stack.append(obj)
                elif isinstance(obj, pygit2.Blob):
                    yield obj.data


def private_values(private_path) -> set[str]:
    """The test scores that are specific enough to be searched for as text."""
    values = set()
    for r in Ledger(private_path).records():
        for fold in r.folds:
            values |= {repr(v) for v in fold.scores.get("test", {}).values()}
        values |= {repr(v) for v in r.bagged.get("test", {}).values()}
    return {v for v in values if len(v) >= 8}


def leaked(repo_path, values) -> set[str]:
    repo = pygit2.Repository(str(repo_path))
    found = set()
    for data in all_blobs(repo):
        found |= {v for v in values if v.encode() in data}
    return found


def test_no_private_score_in_any_public_blob_before_reveal(scanned, tmp_path):
    hub_path, private = copy_of(scanned, tmp_path)
    values = private_values(private)
    assert len(values) >= 5
    assert leaked(hub_path, values) == set()
    assert cli(["phase", "open", "--repo", str(hub_path), "--now", "2026-12-08T01:00Z",
                "--force"]) == 0
    assert leaked(hub_path, values) == set()  # opening the code publishes no test score
    reveal(Ledger(hub_path), Ledger(private), "iris", OPEN_NOW)
    assert leaked(hub_path, values) == values  # the search finds them once revealed
    assert Ledger(hub_path).state("iris").revealed


def test_phase_open_merges_scored_submissions_into_main(scanned, tmp_path):
    hub_path, _ = copy_of(scanned, tmp_path)
    assert cli(["phase", "open", "--repo", str(hub_path), "--json", "--force"]) == 0
    repo = pygit2.Repository(str(hub_path))
    head = repo[repo.references["refs/heads/main"].target]
    rf = from_branch(repo, "refs/heads/submit/alice/rf")
    assert str(head.tree["kits/iris/submissions/rf"].id) == rf.tree
    assert "kits/iris/submissions/broken" not in head.tree  # failed: not merged
    assert repo.descendant_of(head.id, rf.commit)
    assert Ledger(hub_path).state("iris").code_visible
    assert cli(["phase", "open", "--repo", str(hub_path), "--force"]) == 0
    assert repo.references["refs/heads/main"].target == head.id  # nothing new to write


def test_validate_and_score_commands_are_scriptable(scanned, tmp_path, capsys):
    hub_path, private = copy_of(scanned, tmp_path)
    repo = pygit2.Repository(str(hub_path))
    submit(repo, "dave", "bad", {"notes.txt": b"hello\n"})
    capsys.readouterr()
    code = cli(["validate", "--repo", str(hub_path), "--head", "submit/dave/bad",
                "--now", "2026-12-01T01:00Z", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["ok"] is False and out["reasons"][0]["rule"] == "files"
    code = cli(["validate", "--repo", str(hub_path), "--head", "refs/heads/submit/alice/rf",
                "--team", "alice", "--now", "2026-12-01T01:00Z"])
    assert code == 0 and capsys.readouterr().out.startswith("valid: iris/rf by alice")
    code = cli(["score", "--repo", str(hub_path), "--ref", "submit/alice/rf", "--now",
                "2026-12-01T01:00Z", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "skipped"
    code = cli(["score", "--repo", str(hub_path), "--ref", "submit/dave/bad", "--now",
                "2026-12-01T01:00Z", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["status"] == "rejected"
    assert Ledger(hub_path).read(out["path"])["stage"] == "files"
    assert cli(["leaderboard", "--repo", str(hub_path), "--json"]) == 0
    board = json.loads(capsys.readouterr().out)["iris"]
    assert [row["submission"] for row in board][:2] == ["rf", "sepal"]
    assert board[0]["rank"] == 1 and board[-1]["rank"] is None


def test_a_pull_request_is_scored_for_its_authors_team(scanned, tmp_path, capsys):
    hub_path, private = copy_of(scanned, tmp_path)
    repo = pygit2.Repository(str(hub_path))
    commit_files(repo, "refs/heads/main", {"kits/iris/teams.yml":
                                           b"teams:\n  pandas: [erin]\n"}, message="teams")
    head = submit(repo, "x", "pr_sub", example("iris", "starting_kit"))
    repo.references.create("refs/pull/12/head", head)
    capsys.readouterr()
    code = cli(["score", "--repo", str(hub_path), "--pr", "12", "--author", "erin",
                "--private-ledger", str(private), "--quick", "--now", "2026-12-01T03:00Z",
                "--data-dir", str(KITS / "{challenge}" / "hidden"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "scored" and out["team"] == "pandas"
    rec = Ledger(hub_path).read(out["path"])
    assert (rec["pr"], rec["team"], rec["submission"]) == (12, "pandas", "pr_sub")


@pytest.mark.docker
def test_scan_with_the_docker_backend_records_the_image(docker_engine, tmp_path):
    hub = make_hub(tmp_path)
    submit(hub, "alice", "rf", example("iris", "random_forest"))
    options = Options(backend="docker", private_ledger=tmp_path / "private", now=CLOSED_NOW,
                      quick=True, data_dir=str(KITS / "{challenge}" / "hidden"))
    outcomes = scan(tmp_path / "hub", options)
    assert [(o.submission.name, o.status) for o in outcomes] == [("rf", "scored")], \
        outcomes[0].message
    record = Ledger(tmp_path / "hub").records("iris")[0]
    assert record.backend == "docker" and "@sha256:" in record.image


def test_score_a_pull_request_head_given_by_ref(scanned, tmp_path, capsys):
    hub_path, private = copy_of(scanned, tmp_path)
    repo = pygit2.Repository(str(hub_path))
    head = submit(repo, "x", "pr_ref", example("iris", "starting_kit"))
    repo.references.create("refs/remotes/origin/pr/5", head)
    capsys.readouterr()
    assert cli(["score", "--repo", str(hub_path)]) == 2  # nothing to score named
    code = cli(["score", "--repo", str(hub_path), "--pr", "5", "--ref",
                "refs/remotes/origin/pr/5", "--author", "frank", "--quick", "--now",
                "2026-12-01T03:00Z", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and (out["pr"], out["team"], out["status"]) == (5, "frank", "scored")


def test_an_organizers_checkout_follows_the_commands(scanned, tmp_path):
    hub_path, private = copy_of(scanned, tmp_path)
    repo = pygit2.Repository(str(hub_path))
    repo.checkout_head(strategy=pygit2.enums.CheckoutStrategy.FORCE)
    assert repo.status() == {}
    (hub_path / "notes.txt").write_text("mine\n")  # untracked work of the organizer
    assert cli(["phase", "open", "--repo", str(hub_path), "--force"]) == 0
    assert cli(["reveal", "--repo", str(hub_path), "--private-ledger", str(private)]) == 0
    repo = pygit2.Repository(str(hub_path))
    assert repo.status() == {"notes.txt": pygit2.enums.FileStatus.WT_NEW}
    assert (hub_path / "kits/iris/submissions/rf/classifier.py").is_file()
    assert (hub_path / "leaderboard_data/iris/state.yml").is_file()


def test_scan_follows_pull_requests_whose_team_the_ledger_knows(scanned, tmp_path, capsys):
    hub_path, private = copy_of(scanned, tmp_path)
    repo = pygit2.Repository(str(hub_path))
    first = submit(repo, "x", "via_pr", example("iris", "starting_kit"))
    repo.references.create("refs/pull/3/head", first)
    repo.references.create("refs/pull/4/head", submit(repo, "y", "unknown_pr",
                                                      example("iris", "starting_kit")))
    for ref in ("refs/heads/submit/x/via_pr", "refs/heads/submit/y/unknown_pr"):
        repo.references.delete(ref)
    cli(["score", "--repo", str(hub_path), "--pr", "3", "--author", "gina", "--quick",
         "--now", "2026-12-01T03:00Z"])
    # a second push to the same pull request
    second = commit_files(repo, "refs/pull/3/head", {
        "kits/iris/submissions/via_pr/classifier.py":
        example("iris", "starting_kit")["classifier.py"] + b"# v2\n"}, message="v2")
    options = Options(now=CLOSED_NOW + timedelta(hours=5), quick=True)
    outcomes = scan(hub_path, options)
    by_status = {o.status: o for o in outcomes}
    assert by_status["scored"].submission.commit == str(second)
    assert (by_status["scored"].submission.team, by_status["scored"].submission.pr) == \
        ("gina", 3)
    assert "refs/pull/4/head: no team known" in by_status["skipped"].message
