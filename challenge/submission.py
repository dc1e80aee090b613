"""A submission: `<kit>/submissions/<name>/` at a commit, and who sent it.

Sources: a pull request head (`refs/pull/<n>/head`, fetched; the team is the PR
author's) or a branch `submit/<team>/<name>` of the hub itself, which only those who may
push to it can create (see docs/git-conventions.md).
An optional `teams.yml` in the kit, read from the default branch only, maps forge
logins (compared case-insensitively) to team names, and says whether a login it does
not list may take part, as a team of its own named after the login:

    teams:
      red-pandas: [alice, bob]
      solo: [carol]
    registration: open     # or closed: only listed logins take part

A login never becomes a declared team by its name: an unlisted login equal to a team
name of `teams.yml` (in any case) is refused, whatever the registration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pygit2
import yaml
from pygit2.enums import FileMode

from challenge import repo as gitrepo
from challenge.errors import GitrampError
from challenge.repo import KitLocation

BRANCH_PREFIX = "refs/heads/submit/"
PR_REF = re.compile(r"refs/pull/(\d+)/head")
TEAMS_FILE = "teams.yml"


class SubmissionError(GitrampError):
    pass


# What a change may add or alter, counted before anything lists, diffs or exports it:
# a few hundred bytes of git objects can name billions of paths (the same subtree
# listed again and again at each level) or nest folders past any stack.
MAX_CHANGED_ENTRIES = 5_000  # files and folders that differ from the base
MAX_DEPTH = 32  # folder levels below the repository root


class TreeTooLarge(SubmissionError):
    """A change past the bounds above: a rejection, with this message as its reason."""


def check_change_bounds(repo: pygit2.Repository, base: pygit2.Tree | None,
                        head: pygit2.Tree, *, max_entries: int = MAX_CHANGED_ENTRIES,
                        max_depth: int = MAX_DEPTH) -> int:
    """Count the entries of `head` that differ from `base` (a subtree equal on both sides
    is not entered), without recursion, and raise TreeTooLarge as soon as more than
    `max_entries` differ or a changed folder lies deeper than `max_depth`. Returns the
    count. Costs at most `max_entries` entries read, whatever the trees hold."""
    count = 0
    stack: list[tuple[pygit2.Tree, pygit2.Tree | None, int]] = [(head, base, 1)]
    while stack:
        tree, old, depth = stack.pop()
        for e in tree:
            prev = _entry(old, e.name)
            if prev is not None and prev.id == e.id and prev.filemode == e.filemode:
                continue
            count += 1
            if count > max_entries:
                raise TreeTooLarge(f"the change adds or alters more than {max_entries} files "
                                   "and folders; a submission is a few source files")
            if e.filemode == FileMode.TREE:
                if depth >= max_depth:
                    raise TreeTooLarge(f"the change nests folders more than {max_depth} "
                                       "levels deep; keep a submission's files flat")
                sub = repo[e.id]
                before = repo[prev.id] if prev is not None and \
                    prev.filemode == FileMode.TREE else None
                stack.append((sub, before, depth + 1))
    return count


def _entry(tree: pygit2.Tree | None, name: str):
    if tree is None:
        return None
    try:
        return tree[name]
    except KeyError:
        return None


class TeamError(SubmissionError):
    """The author's login gives no team: a reason the participant can act on."""


@dataclass(frozen=True)
class Teams:
    """`teams.yml` of a kit: {login (lower case): team}, the declared team names, and
    whether unlisted logins take part (each its own team)."""

    members: dict[str, str]
    declared: frozenset[str] = frozenset()
    open: bool = True
    where: str = TEAMS_FILE


@dataclass(frozen=True)
class Submission:
    kit: KitLocation
    name: str
    team: str
    commit: str
    tree: str  # id of the submission folder's tree: the key of this version
    ref: str
    base: str | None  # the commit the change is compared to (merge base with the default)
    pr: int | None = None
    author: str | None = None  # forge login, when it came from a pull request

    @property
    def challenge(self) -> str:
        return self.kit.name

    @property
    def folder(self) -> str:
        return self.kit.path("submissions", self.name)

    @property
    def title(self) -> str:
        """For people reading progress: `<challenge>/<name>@<tree8> (<team>)`."""
        return f"{self.challenge}/{self.name}@{self.tree[:8]} ({self.team})"


def parse_branch(refname: str) -> tuple[str, str] | None:
    """`refs/heads/submit/<team>/<name>` -> (team, name); None for any other ref."""
    if not refname.startswith(BRANCH_PREFIX):
        return None
    parts = refname[len(BRANCH_PREFIX):].split("/")
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


def branch_refs(repo: pygit2.Repository) -> list[str]:
    """Every local `submit/<team>/<name>` branch, sorted by name."""
    return sorted(r for r in repo.references if parse_branch(r))


def load_teams(repo: pygit2.Repository, commit: pygit2.Commit | None,
               kit: KitLocation) -> Teams:
    """The kit's `teams.yml` on the default branch (trusted copy); no file: everyone
    takes part, each login its own team."""
    where = kit.path(TEAMS_FILE)
    data = gitrepo.blob_at(repo, commit.tree, where) if commit is not None else None
    if not data:
        return Teams({}, where=where)
    usage = (f"{where}: expected `teams: {{team: [login, ...]}}` and optionally "
             "`registration: open` or `registration: closed`")
    try:
        raw = yaml.safe_load(data) or {}
    except yaml.YAMLError as e:
        raise SubmissionError(f"{usage} ({e})") from None
    teams = raw.get("teams", {}) if isinstance(raw, dict) else None
    registration = raw.get("registration", "open") if isinstance(raw, dict) else None
    if not isinstance(teams, dict) or registration not in ("open", "closed") or not all(
            isinstance(v, list) for v in teams.values()):
        raise SubmissionError(usage)
    members: dict[str, str] = {}
    for team, logins in teams.items():
        for login in logins:
            key = str(login).lower()
            if members.get(key, str(team)) != str(team):
                raise SubmissionError(f"{where}: login {login} is listed in two teams, "
                                      f"{members[key]} and {team}; list it in one")
            members[key] = str(team)
    return Teams(members, frozenset(str(t) for t in teams), registration == "open", where)


def team_of(login: str, teams: Teams) -> str:
    """The team of a forge login: its team in `teams.yml`, else (open registration) the
    login itself, which must not be the name of a declared team."""
    team = teams.members.get(login.lower())
    if team is not None:
        return team
    if not teams.open:
        raise TeamError(f"{login} is in no team of {teams.where}, and this challenge takes "
                        "listed teams only; ask the organizers to add you to a team")
    if login.lower() in {t.lower() for t in teams.declared}:
        raise TeamError(f"{login} is not a member of team {login} in {teams.where}; a "
                        "login takes part as a team of its own only when no declared team "
                        "has its name; ask the organizers to list you")
    return login


def touched_submissions(paths: list[str], kits: list[KitLocation]) -> set[tuple[str, str]]:
    """{(kit name, submission name)} of the submission folders that `paths` fall in."""
    out = set()
    for p in paths:
        for k in kits:
            root = k.submissions + "/"
            if p.startswith(root) and "/" in p[len(root):]:
                out.add((k.name, p[len(root):].split("/", 1)[0]))
    return out


@dataclass(frozen=True)
class Change:
    """What a ref changes, read from git: its head, the base it is compared to (default:
    the merge base with the default branch), the default branch's head (whose kits and
    teams are trusted) and the paths that differ. Validation and every reader of a
    submission start here."""

    ref: str
    head: pygit2.Commit
    base: pygit2.Commit | None
    default: pygit2.Commit | None
    kits: list[KitLocation]  # of the trusted commit
    changed: list[str]

    @property
    def trusted(self) -> pygit2.Commit:
        """Where the kit's rules are read: the default branch, never the change itself."""
        return self.default or self.base or self.head

    def folder(self, repo: pygit2.Repository, loc: KitLocation,
               name: str) -> pygit2.Tree | None:
        """`submissions/<name>/` at the head, or None when the change removes it."""
        return gitrepo.subtree(repo, self.head.tree, loc.path("submissions", name))

    def holders(self, repo: pygit2.Repository, name: str) -> list[KitLocation]:
        """The kits holding `submissions/<name>/` at the head (for a ref merged already,
        which changes nothing against its base)."""
        return [k for k in self.kits if self.folder(repo, k, name) is not None]


def read_change(repo: pygit2.Repository, head: str, base: str | None = None) -> Change:
    head_c = gitrepo.resolve_commit(repo, head)
    default = gitrepo.head_commit(repo)
    base_c = gitrepo.resolve_commit(repo, base) if base else (
        gitrepo.merge_base(repo, default, head_c) if default else None)
    trusted = default or base_c or head_c
    # bounded before any diff: the diff, listing and export below expand every path
    check_change_bounds(repo, base_c.tree if base_c else None, head_c.tree)
    return Change(head, head_c, base_c, default, gitrepo.find_kits(repo, trusted.tree),
                  gitrepo.changed_paths(repo, base_c, head_c))


def submission_of(repo: pygit2.Repository, change: Change, loc: KitLocation, name: str, *,
                  team: str | None = None, author: str | None = None,
                  pr: int | None = None) -> Submission:
    """The submission `submissions/<name>/` of the kit at `loc` that `change` carries;
    the team is `team`, else the author's team in the trusted `teams.yml`."""
    folder = change.folder(repo, loc, name)
    if folder is None:
        raise SubmissionError(f"{change.ref} deletes {loc.path('submissions', name)}/; "
                              "a submission must add or change its folder")
    if team is None and author:
        team = team_of(author, load_teams(repo, change.default, loc))
    if not team:
        raise SubmissionError(f"{change.ref}: no team known; name the branch "
                              "submit/<team>/<name> or pass --team/--author")
    return Submission(loc, name, team, str(change.head.id), str(folder.id), change.ref,
                      str(change.base.id) if change.base else None, pr, author)


def from_ref(repo: pygit2.Repository, ref: str, *, team: str | None = None,
             name: str | None = None, pr: int | None = None, author: str | None = None,
             base: str | None = None) -> Submission:
    """The submission a ref carries: the one `submissions/<name>/` folder it changes
    against `base` (default: its merge base with the default branch)."""
    change = read_change(repo, ref, base)
    if not change.kits:
        raise SubmissionError(f"no kit found in {gitrepo.repo_root(repo)} (looked for "
                              "challenge.yml and kits/<name>/challenge.yml)")
    touched = touched_submissions(change.changed, change.kits)
    if name is not None:
        touched = {t for t in touched if t[1] == name}
    if not touched and name is not None:
        # unchanged against the base (merged already): the folder must still exist
        touched = {(k.name, name) for k in change.holders(repo, name)}
    if len(touched) != 1:
        what = ", ".join(f"{k}/{n}" for k, n in sorted(touched)) or "none"
        raise SubmissionError(
            f"{ref} must change exactly one submissions/<name>/ folder of one kit "
            f"(found: {what}); put each submission on its own branch or pull request")
    kit_name, sub_name = touched.pop()
    loc = next(k for k in change.kits if k.name == kit_name)
    return submission_of(repo, change, loc, sub_name, team=team, author=author, pr=pr)


def from_branch(repo: pygit2.Repository, refname: str, **kw) -> Submission:
    parsed = parse_branch(refname)
    if parsed is None:
        raise SubmissionError(f"{refname} is not a submission branch; name it "
                              "submit/<team>/<name>")
    team, name = parsed
    return from_ref(repo, refname, team=team, name=name, **kw)


def from_pr(repo: pygit2.Repository, number: int, author: str, **kw) -> Submission:
    ref = f"refs/pull/{number}/head"
    return from_ref(repo, ref, pr=number, author=author, **kw)


def export(repo: pygit2.Repository, sub: Submission, dest: Path) -> Path:
    """Write the submission's files to `dest/<name>/` for scoring; returns that folder."""
    return gitrepo.export_tree(repo, repo[sub.tree], Path(dest) / sub.name)
