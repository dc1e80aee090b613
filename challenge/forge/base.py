"""The forge protocol: what gitramp asks of a code-hosting service, and nothing more.

Two implementations: `local.LocalForge` (pure git, for the demo and tests) and
`github.GitHubForge` (github3.py, github.com or GitHub Enterprise). Workflow steps
reach them through `gitramp forge ...`, never directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

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


class Forge(Protocol):
    """Operations on one repository of a forge."""

    def open_pulls(self) -> list[PullRequest]: ...

    def pull(self, number: int) -> PullRequest: ...

    def pull_files(self, number: int) -> list[str]: ...

    def comments(self, number: int) -> list[Comment]: ...

    def upsert_comment(self, number: int, body: str) -> Comment:
        """Create gitramp's comment on the PR, or edit it if it exists (found by marker)."""
        ...

    def set_status(self, sha: str, state: str, description: str, *,
                   context: str = STATUS_CONTEXT, target_url: str | None = None) -> None: ...

    def add_labels(self, number: int, *labels: str) -> None: ...

    def remove_label(self, number: int, label: str) -> None: ...

    def merge(self, number: int, *, sha: str, message: str = "") -> str:
        """Merge the PR if its head is still `sha`; returns the merge commit's id."""
        ...


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
