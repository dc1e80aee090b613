"""What gitramp exchanges with a code-hosting service: pull requests, comments, commit
statuses, and gitramp's marker on its own comment.

The forge is GitHub (`github.GitHubForge`, github3.py: github.com or GitHub Enterprise);
workflow steps reach it through `gitramp forge ...`, never directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from challenge.errors import GitrampError

# The hidden marker that identifies gitramp's one comment on a pull request. It opens
# the body, so a participant quoting it in the middle of their own comment never matches.
COMMENT_MARKER = "<!-- gitramp:pr-comment -->"

STATUS_CONTEXT = "gitramp/score"
STATUS_STATES = ("pending", "success", "failure", "error")


class ForgeError(GitrampError):
    """A forge call that failed for a reason the user can act on."""


@dataclass(frozen=True)
class PullRequest:
    number: int
    author: str  # forge login of whoever opened it
    head_sha: str
    head_repo: str  # "owner/name"; differs from the base repository for a fork
    head_ref: str
    base_ref: str  # branch name, e.g. "main"
    base_repo: str = ""
    state: str = "open"
    title: str = ""
    labels: tuple[str, ...] = field(default_factory=tuple)

    @property
    def from_fork(self) -> bool:
        return bool(self.base_repo) and self.head_repo != self.base_repo

    def to_dict(self) -> dict:
        return {"number": self.number, "author": self.author, "head_sha": self.head_sha,
                "head_repo": self.head_repo, "head_ref": self.head_ref,
                "base_ref": self.base_ref, "base_repo": self.base_repo, "state": self.state,
                "title": self.title, "labels": list(self.labels)}


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    body: str


def with_marker(body: str) -> str:
    return body if body.startswith(COMMENT_MARKER) else f"{COMMENT_MARKER}\n{body}"


def is_gitramp_comment(comment: Comment, bot_logins: tuple[str, ...] = ()) -> bool:
    """gitramp's own comment: opens with the marker and, when the bot's login is known,
    was written by it (a participant pasting the marker cannot hijack the edit)."""
    if not comment.body.startswith(COMMENT_MARKER):
        return False
    return not bot_logins or comment.author in bot_logins


def check_state(state: str) -> str:
    if state not in STATUS_STATES:
        raise ForgeError(f"status state {state!r} is not one of {', '.join(STATUS_STATES)}")
    return state
