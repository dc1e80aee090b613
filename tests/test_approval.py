"""Approval that scales: a team approved once in the default branch's teams.yml is
routed straight to scoring; a stranger, or anyone the file does not approve, waits for
an organizer; a pull request cannot approve itself."""

from __future__ import annotations

import pygit2

from challenge import approval
from challenge import repo as gitrepo
from challenge.hub import commit_files
from tests.gitramp_hubs import make_hub

TEAMS = b"""teams:
  red-pandas: [alice, Bob]
  solo: [carol]
approved: [red-pandas, dave]
"""


def hub_with(tmp_path, teams: bytes) -> tuple[pygit2.Repository, pygit2.Commit]:
    repo = make_hub(tmp_path)
    commit_files(repo, "refs/heads/main", {"kits/iris/teams.yml": teams},
                 message="teams", author="organizer")
    return repo, repo.references["refs/heads/main"].peel(pygit2.Commit)


def kit(repo, commit):
    return gitrepo.find_kits(repo, commit.tree)[0]


def test_an_approved_team_goes_straight_to_scoring_a_stranger_waits(tmp_path):
    repo, main = hub_with(tmp_path, TEAMS)
    loc = kit(repo, main)
    assert approval.route(repo, main, loc, "alice") == approval.APPROVED
    assert approval.route(repo, main, loc, "BOB") == approval.APPROVED  # any case
    assert approval.route(repo, main, loc, "dave") == approval.APPROVED  # a login
    assert approval.route(repo, main, loc, "carol") == approval.REVIEW  # listed, not approved
    assert approval.route(repo, main, loc, "mallory") == approval.REVIEW  # a stranger
    # a login named like an approved team is not that team
    assert approval.route(repo, main, loc, "red-pandas") == approval.REVIEW


def test_approved_listed_takes_every_listed_team(tmp_path):
    teams = TEAMS.replace(b"approved: [red-pandas, dave]", b"approved: listed")
    repo, main = hub_with(tmp_path, teams)
    loc = kit(repo, main)
    assert approval.route(repo, main, loc, "carol") == approval.APPROVED
    assert approval.route(repo, main, loc, "mallory") == approval.REVIEW


def test_a_pull_request_cannot_approve_itself(tmp_path):
    repo, main = hub_with(tmp_path, TEAMS.replace(b"approved: [red-pandas, dave]", b""))
    loc = kit(repo, main)
    # mallory's branch adds mallory to the approved list; the default branch decides
    commit_files(repo, "refs/heads/submit/mallory/x",
                 {"kits/iris/teams.yml": TEAMS.replace(b"dave", b"mallory")},
                 message="approve me",
                 parent=main.id, author="mallory")
    assert approval.route(repo, main, loc, "mallory") == approval.REVIEW
    assert approval.route(repo, main, loc, "alice") == approval.REVIEW  # none approved
    assert approval.route(repo, None, loc, "alice") == approval.REVIEW  # no default branch


def test_the_workflow_asks_the_command_line(tmp_path, monkeypatch, capsys):
    """`gitramp approval route`, as scoring.yml's plan job calls it: the decision printed
    and written as the step's `route` output, from the default branch's teams.yml."""
    from gitramp.main import main as cli

    repo, _ = hub_with(tmp_path, TEAMS)
    out = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    where = ["--repo", str(tmp_path / "hub"), "--challenge", "iris"]
    assert cli(["approval", "route", *where, "--login", "alice"]) == 0
    assert capsys.readouterr().out.strip() == approval.APPROVED
    assert cli(["approval", "route", *where, "--login", "mallory"]) == 0
    assert capsys.readouterr().out.strip() == approval.REVIEW
    assert out.read_text().splitlines() == ["route=approved", "route=review"]
    # nothing but a login is taken, and only a kit of the default branch
    assert cli(["approval", "route", *where, "--login", "alice\nroute=approved"]) == 2
    assert cli(["approval", "route", "--repo", str(tmp_path / "hub"), "--challenge",
                "nope", "--login", "alice"]) == 2
    assert out.read_text().splitlines() == ["route=approved", "route=review"]
