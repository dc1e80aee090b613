"""Submissions from branches and pull-request heads; teams from branch names or teams.yml."""

from __future__ import annotations

import pytest

from challenge import submission as subs
from challenge.hub import commit_files
from tests.gitramp_hubs import example, make_hub, submit


def test_parse_branch_names():
    assert subs.parse_branch("refs/heads/submit/red/rf") == ("red", "rf")
    assert subs.parse_branch("refs/heads/submit/red") is None
    assert subs.parse_branch("refs/heads/submit/red/rf/x") is None
    assert subs.parse_branch("refs/heads/main") is None


def test_submission_from_a_branch(tmp_path):
    hub = make_hub(tmp_path)
    commit = submit(hub, "red", "rf", example("iris", "random_forest"))
    sub = subs.from_branch(hub, "refs/heads/submit/red/rf")
    assert (sub.challenge, sub.name, sub.team, sub.commit) == ("iris", "rf", "red", str(commit))
    assert sub.tree == str(hub[commit].tree["kits/iris/submissions/rf"].id)
    assert sub.base == str(hub.references["refs/heads/main"].target)
    assert subs.branch_refs(hub) == ["refs/heads/submit/red/rf"]
    out = subs.export(hub, sub, tmp_path / "x")
    assert (out / "classifier.py").read_bytes() == example("iris", "random_forest")[
        "classifier.py"]


def test_pull_request_author_mapped_to_team_by_teams_yml(tmp_path):
    hub = make_hub(tmp_path)
    commit_files(hub, "refs/heads/main", {"kits/iris/teams.yml":
                                          b"teams:\n  pandas: [alice, bob]\n"}, message="teams")
    head = submit(hub, "ignored", "rf", example("iris", "random_forest"))
    hub.references.create("refs/pull/7/head", head)
    sub = subs.from_pr(hub, 7, "bob")
    assert (sub.team, sub.pr, sub.name, sub.author) == ("pandas", 7, "rf", "bob")
    assert subs.from_pr(hub, 7, "zoe").team == "zoe"  # not listed: the login is the team


def test_a_change_to_two_submissions_is_refused_with_a_reason(tmp_path):
    hub = make_hub(tmp_path)
    submit(hub, "red", "rf", example("iris", "random_forest"),
           extra={"kits/iris/submissions/other/classifier.py": b"x = 1\n"})
    with pytest.raises(subs.SubmissionError, match="exactly one submissions/<name>/ folder"):
        subs.from_ref(hub, "refs/heads/submit/red/rf", team="red")
