"""Approval that scales: organizers approve a team once, not each pull request.

The kit's `teams.yml` on the default branch (the trusted copy; a pull request cannot
change it for its own run) may say who is approved:

    teams:
      red-pandas: [alice, bob]
      solo: [carol]
    approved: [red-pandas, dave]   # teams, or logins, whose submissions score at once
    # approved: listed             # every team listed above

`route` decides where a pull request's scoring goes: `approved` (straight to the
scoring job that needs no reviewer) or `review` (the job whose environment waits for
an organizer). Anyone unknown, or whose team cannot be told, waits for review.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygit2
import yaml

from challenge import repo as gitrepo
from challenge import submission as subs
from challenge.repo import KitLocation

APPROVED = "approved"
REVIEW = "review"
LISTED = "listed"  # `approved: listed`: every team teams.yml lists


@dataclass(frozen=True)
class Approval:
    names: frozenset[str]  # teams and logins, lower case
    listed: bool = False


def load_approval(repo: pygit2.Repository, commit: pygit2.Commit | None,
                  kit: KitLocation) -> Approval:
    """The `approved:` key of the kit's teams.yml at `commit` (none: nobody)."""
    data = gitrepo.blob_at(repo, commit.tree, kit.path(subs.TEAMS_FILE)) if commit else None
    try:
        raw = yaml.safe_load(data) if data else None
    except yaml.YAMLError:
        return Approval(frozenset())
    value = raw.get("approved") if isinstance(raw, dict) else None
    if value == LISTED:
        return Approval(frozenset(), listed=True)
    if not isinstance(value, list):
        return Approval(frozenset())
    return Approval(frozenset(str(v).lower() for v in value))


def route(repo: pygit2.Repository, commit: pygit2.Commit | None, kit: KitLocation,
          login: str) -> str:
    """`approved` when the author's team (or login) is approved in the trusted
    teams.yml, else `review`."""
    try:
        teams = subs.load_teams(repo, commit, kit)
        team = subs.team_of(login, teams)
    except subs.SubmissionError:
        return REVIEW
    approval = load_approval(repo, commit, kit)
    if approval.listed and login.lower() in teams.members:
        return APPROVED
    if team.lower() in approval.names or login.lower() in approval.names:
        return APPROVED
    return REVIEW
