"""Attack: become another team by one's login. A login that `teams.yml` does not list
used to fall back to itself as team name, so the user `red-pandas` edited team
red-pandas' submissions and spent its quota.

Guarantees: only `teams.yml` on the default branch maps logins to teams, comparing
logins case-insensitively; it says whether unlisted logins take part (each a team of
its own) or are refused; an unlisted login whose name is a declared team's is refused
with a reason, never made that team; branch-mode submissions (`submit/<team>/<name>`)
are branches of the hub, which only those who may push to it create."""

from __future__ import annotations

import pytest

from challenge import submission as subs
from challenge.hub import commit_files
from challenge.pipeline import Options, Pipeline
from tests.attacks.runners import Forge, validate
from tests.gitramp_hubs import CLOSED_NOW, ROOT, example

STARTER = example("iris", "starting_kit")
TEAMS = b"teams:\n  red-pandas: [Alice, bob]\n"


@pytest.fixture
def forge(tmp_path) -> Forge:
    forge = Forge(tmp_path)
    forge.commit_main({"kits/iris/teams.yml": TEAMS}, "teams")
    return forge


def team_of(forge: Forge, pr: int, author: str):
    pipe = Pipeline(forge.runner(), Options(now=CLOSED_NOW, quick=True))
    v = pipe.validate(ref=f"refs/pull/{pr}/head", pr=pr, author=author)
    return v.submission.team if v.ok else v.message()


def test_a_login_named_like_a_team_does_not_become_it(forge):
    forge.open_pr(1, "red-pandas", "mine", STARTER | {"classifier.py": b"# x\n" +
                                                     STARTER["classifier.py"]})
    for login in ("red-pandas", "Red-Pandas"):
        verdict = team_of(forge, 1, login)
        assert verdict.startswith("team: ") and "not a member of team" in verdict, verdict
    code, out = validate(forge.runner(), 1, "red-pandas")
    assert code == 1 and "team:" in out


def test_listed_logins_match_in_any_case_and_others_are_their_own_team(forge):
    forge.open_pr(1, "alice", "mine", STARTER | {"classifier.py": b"# y\n" +
                                                STARTER["classifier.py"]})
    assert team_of(forge, 1, "alice") == "red-pandas"
    assert team_of(forge, 1, "ALICE") == "red-pandas"
    assert team_of(forge, 1, "carol") == "carol"  # open registration, the default


def test_closed_registration_refuses_unlisted_logins(forge):
    forge.commit_main({"kits/iris/teams.yml": TEAMS + b"registration: closed\n"}, "closed")
    forge.open_pr(1, "carol", "mine", STARTER | {"classifier.py": b"# z\n" +
                                                STARTER["classifier.py"]})
    verdict = team_of(forge, 1, "carol")
    assert "listed teams only" in verdict
    assert team_of(forge, 1, "bob") == "red-pandas"


def test_teams_come_from_the_default_branch_only(forge):
    # a pull request that lists its author in a team changes nothing but is refused
    forge.open_pr(1, "carol", "mine", STARTER)
    head = forge.repo.references["refs/pull/1/head"].target
    commit_files(forge.repo, "refs/pull/1/head",
                 {"kits/iris/teams.yml": b"teams:\n  red-pandas: [carol]\n"},
                 parent=head, message="join", author="carol")
    assert team_of(forge, 1, "carol").startswith("scope:")


def test_a_login_in_two_teams_is_an_error(forge):
    forge.commit_main({"kits/iris/teams.yml": TEAMS + b"  blue: [alice]\n"}, "twice")
    forge.open_pr(1, "alice", "mine", STARTER)
    with pytest.raises(subs.SubmissionError, match="two teams"):
        team_of(forge, 1, "alice")


def test_the_docs_say_branch_mode_is_for_those_who_can_push():
    text = (ROOT / "docs" / "git-conventions.md").read_text()
    assert "push" in text and "submit/<team>/<name>" in text
    assert "registration: closed" in text and "case-insensitive" in text
