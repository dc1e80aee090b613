"""Validation of a submission before any of its code runs: one reason per broken rule.

`check(...)` is a pure function of plain data (the paths the change touches, the
submission folder's entries, the ledger's records, the time); `validate_refs(...)`
reads those from git. Rules, each named in its reason:

- scope: the change against the base touches one `submissions/<name>/` folder of one kit;
- team: the author's login maps to a team (`teams.yml` on the default branch);
- name: the submission's name is well formed, not reserved, free or already this team's
  (its owner is the team of its first version to pass validation: the name's claim in
  the ledger, or its records);
- files: the workflow's elements are all there, any other file matches `extra_files`;
- limits: at most `limits.max_files` files and `limits.max_bytes` bytes; plain file names;
- types: no symbolic link, submodule, executable or binary file;
- banned: the team is not banned from the challenge (`challenge.moderation`);
- sealed: while a kit with a `seal_key` hides its code, the folder is sealed, and its
  envelope and manifest check out (`challenge.sealing`);
- phase: the challenge accepts submissions now;
- quota: per day, per phase and the minimum interval, counted from the ledger (its
  records, and the attempts runners have claimed and not yet recorded).

The name, phase and quota rules are checked once more when the claim is taken, against
the ledger the claim commit is built on (`check_claim`): two runners that validated at
once cannot both take one name or the quota's last attempt.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pygit2
from pygit2.enums import FileMode

from challenge import claims as claims_mod
from challenge import moderation, sealing
from challenge import repo as gitrepo
from challenge import submission as subs
from challenge.kit import Kit
from challenge.ledger import (
    RESERVED_NAMES,
    LedgerError,
    Visibility,
    parse_record,
    state_path,
)
from challenge.phases import phase_at
from challenge.quota import attempt_times, quota_left
from challenge.repo import FileEntry, KitLocation
from scorer.result import REJECTED, Result
from scorer.untrusted import REASON_CHARS, clean_text
from scorer.workflows import elements

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
FILE_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class Reason:
    rule: str
    message: str

    def __post_init__(self) -> None:
        # a reason quotes names the submission chose: one clean, bounded line wherever
        # it is printed (a job log reads a line starting with "::" as a command)
        object.__setattr__(self, "message", clean_text(self.message, REASON_CHARS))

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


@dataclass
class Validation:
    reasons: list[Reason] = field(default_factory=list)
    submission: subs.Submission | None = None
    phase: str | None = None

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def rule(self) -> str | None:
        return self.reasons[0].rule if self.reasons else None

    def message(self) -> str:
        return "; ".join(str(r) for r in self.reasons)

    def to_dict(self) -> dict:
        s = self.submission
        return {"ok": self.ok, "phase": self.phase,
                "reasons": [{"rule": r.rule, "message": r.message} for r in self.reasons],
                "submission": None if s is None else {
                    "challenge": s.challenge, "name": s.name, "team": s.team,
                    "commit": s.commit, "tree": s.tree}}


def check_scope(changed: list[str], kits: list[KitLocation]) -> tuple[list[Reason],
                                                                     tuple[str, str] | None]:
    reasons = []
    outside = [p for p in changed if not subs.touched_submissions([p], kits)]
    if outside:
        shown = ", ".join(outside[:5]) + (" ..." if len(outside) > 5 else "")
        reasons.append(Reason("scope", f"the change touches files outside a submission folder "
                              f"({shown}); a submission may change only its own "
                              "submissions/<name>/ folder"))
    touched = sorted(subs.touched_submissions(changed, kits))
    if len(touched) > 1:
        reasons.append(Reason("scope", "the change touches several submissions ("
                              + ", ".join(f"{k}/{n}" for k, n in touched)
                              + "); send each in its own pull request or branch"))
    elif not touched and not outside:
        reasons.append(Reason("scope", "the change adds no submission; put your files in "
                              "submissions/<name>/ of the kit"))
    return reasons, (touched[0] if len(touched) == 1 else None)


def check_owner(challenge: str, name: str, team: str, records: Iterable[Result],
                claim: claims_mod.NameClaim | None, now: datetime) -> list[Reason]:
    """The name belongs to the team of its records, else to the team of its claim while
    that claim holds (a claim whose team never got a record expires)."""
    owners = sorted({r.team for r in records if r.challenge == challenge
                     and r.submission == name and r.team and r.status != REJECTED} - {team})
    if owners:
        return [Reason("name", f"the submission name {name!r} belongs to team "
                       f"{owners[0]}; choose another name")]
    if claim is not None and claim.team != team and not claim.expired(now):
        return [Reason("name", f"the submission name {name!r} is claimed by team "
                       f"{claim.team}, whose version of it is being scored; choose another "
                       f"name (a claim that is never scored lapses at {claim.expires_at})")]
    return []


def check_claim(kit: Kit, sub: subs.Submission, records: Iterable[Result],
                claim: claims_mod.NameClaim | None, attempts: Iterable[claims_mod.Attempt],
                now: datetime) -> list[Reason]:
    """The rules that another runner's work may break between validation and scoring:
    the name's owner, the phase and the quota, against the ledger as it is when the claim
    is taken (`attempts`: the team's attempts in flight, `claims_mod.live`)."""
    records = list(records)
    reasons = check_owner(kit.name, sub.name, sub.team, records, claim, now)
    timing, _ = check_phase_and_quota(
        kit, sub.team, sub.tree,
        records + claims_mod.as_results(attempts, kit.name, sub.team), now)
    return reasons + timing


def check_files(kit: Kit, name: str, team: str, files: list[FileEntry],
                read: Callable[[FileEntry], bytes], records: Iterable[Result],
                on_default_branch: bool = False, *,
                claim: claims_mod.NameClaim | None = None,
                now: datetime | None = None) -> list[Reason]:
    reasons = []
    if not NAME_RE.fullmatch(name) or name in RESERVED_NAMES:
        reasons.append(Reason("name", f"{name!r} is not a usable submission name; use up to 64 "
                              "letters, digits, _ and - (not " + ", ".join(RESERVED_NAMES) + ")"))
    records = list(records)
    claims = [r for r in records if r.challenge == kit.name and r.submission == name
              and r.team and r.status != REJECTED]
    owner = check_owner(kit.name, name, team, records, claim, now or datetime.now(UTC))
    if owner:
        reasons += owner
    elif on_default_branch and not claims:
        reasons.append(Reason("name", f"submissions/{name}/ is part of the kit on the default "
                              "branch (the organizers'); copy it under a new name"))

    return reasons + check_folder(kit, files, read)


def check_folder(kit: Kit, files: list[FileEntry],
                 read: Callable[[FileEntry], bytes]) -> list[Reason]:
    """The rules on a submission folder's files alone (files, limits, types): what a
    runner checks on the committed folder and `gitramp test` on the folder on disk."""
    reasons = []
    needed = elements(kit.workflow)
    paths = {f.path for f in files}
    missing = [e for e in needed if e not in paths]
    unexpected = [p for p in sorted(paths) if p not in needed
                  and not any(fnmatch.fnmatch(p, pat) for pat in kit.extra_files)]
    if missing or unexpected:
        parts = []
        for e in missing:
            guess = difflib.get_close_matches(e, unexpected, n=1)
            parts.append(f"missing {e}" + (f" (did you mean {guess[0]}? rename it to {e})"
                                           if guess else ""))
        if unexpected:
            parts.append("unexpected " + ", ".join(unexpected[:5]))
        allowed = ", ".join(needed) + (" and files matching " + ", ".join(kit.extra_files)
                                       if kit.extra_files else "")
        reasons.append(Reason("files", "; ".join(parts) + f"; a {kit.workflow} submission "
                              f"holds {allowed} (see submissions/starting_kit/)"))

    limits = kit.limits
    total = sum(f.size for f in files)
    problems = []
    if len(files) > limits.max_files:
        problems.append(f"{len(files)} files (at most {limits.max_files})")
    if total > limits.max_bytes:
        problems.append(f"{human_size(total)} in all, over the limit of "
                        f"{human_size(limits.max_bytes)}")
    bad_names = [f.path for f in files
                 if not all(FILE_NAME_RE.fullmatch(part) for part in f.path.split("/"))]
    if bad_names:
        problems.append("file names other than letters, digits, _ . - ("
                        + ", ".join(map(repr, bad_names[:5])) + ")")
    if problems:
        reasons.append(Reason("limits", "; ".join(problems) + "; make the submission smaller"))

    kinds = []
    for f in files:
        if f.mode == FileMode.LINK:
            kinds.append(f"{f.path} is a symbolic link")
        elif f.mode == FileMode.COMMIT:
            kinds.append(f"{f.path} is a submodule")
        elif f.mode == FileMode.BLOB_EXECUTABLE:
            kinds.append(f"{f.path} is executable (run: git update-index --chmod=-x {f.path})")
        elif f.size <= limits.max_bytes and _is_binary(read(f)):
            kinds.append(f"{f.path} is binary; a submission holds text source only")
    if kinds:
        reasons.append(Reason("types", "; ".join(kinds)))
    return reasons


def human_size(n: int) -> str:
    """Bytes in the units a kit writes its limits in (powers of 1024): '47.7 MB'."""
    if n < 1024:
        return f"{n} bytes"
    value, units = n / 1024, ["KB", "MB", "GB", "TB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{value:.1f}".removesuffix(".0") + f" {units[0]}"


def folder_files(folder: Path) -> list[FileEntry]:
    """A submission folder on disk as the runner would see it once committed: every
    file (links not followed), with git's mode; files git ignores (when the folder is
    in a repository) and Python's caches are left out, as they are never committed."""
    folder = Path(folder)
    repo = None
    found = pygit2.discover_repository(str(folder))
    if found:
        repo = pygit2.Repository(found)
    out: list[FileEntry] = []

    def walk(d: Path, prefix: str) -> None:
        for p in sorted(d.iterdir()):
            rel = prefix + p.name
            if p.name == "__pycache__" or p.suffix == ".pyc" or _ignored(repo, p):
                continue
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out.append(FileEntry(rel, FileMode.LINK, "", st.st_size))
            elif stat.S_ISDIR(st.st_mode):
                walk(p, rel + "/")
            elif stat.S_ISREG(st.st_mode):
                mode = (FileMode.BLOB_EXECUTABLE if st.st_mode & stat.S_IXUSR
                        else FileMode.BLOB)
                out.append(FileEntry(rel, mode, "", st.st_size))

    walk(folder, "")
    return out


def _ignored(repo: pygit2.Repository | None, path: Path) -> bool:
    if repo is None or repo.workdir is None:
        return False
    try:
        rel = path.resolve().relative_to(Path(repo.workdir).resolve()).as_posix()
    except ValueError:
        return False
    return repo.path_is_ignored(rel + ("/" if path.is_dir() else ""))


def check_local_folder(kit: Kit, folder: Path) -> list[Reason]:
    """`check_folder` on a submission folder on disk (what `gitramp test` runs)."""
    folder = Path(folder)
    return check_folder(kit, folder_files(folder),
                        lambda f: (folder / f.path).read_bytes())


def check_phase_and_quota(kit: Kit, team: str, tree: str | None, records: Iterable[Result],
                          now: datetime) -> tuple[list[Reason], str]:
    current = phase_at(kit, now)
    if not current.accepts:
        return [Reason("phase", f"the challenge accepts no submission now ("
                       f"{current.describe()})")], current.name
    times = attempt_times(records, kit.name, team, exclude_tree=tree)
    return [Reason("quota", q.removeprefix("quota: "))
            for q in quota_left(current.phase, times, now).reasons()], current.name


def _is_binary(data: bytes) -> bool:
    if b"\0" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def validate_refs(repo: pygit2.Repository, *, base: str | None, head: str, team: str | None,
                  author: str | None = None, pr: int | None = None, ref: str | None = None,
                  records: list[Result], now: datetime, name: str | None = None,
                  kit_loader: Callable[[KitLocation], Kit] | None = None,
                  claims: claims_mod.Claims | None = None) -> Validation:
    """Validate the change from `base` (default: merge base with the default branch) to
    `head`. The kit's rules come from the default branch, never from the change itself.
    `claims` are the ledger's claims (names being scored, attempts in flight)."""
    try:
        change = subs.read_change(repo, head, base)
    except subs.TreeTooLarge as e:  # too big to look at: refused before any diff
        return Validation([Reason("limits", str(e))])
    if ref is not None:
        change = replace(change, ref=ref)
    scope, located = check_scope(change.changed, change.kits)
    if not change.changed and name is not None:
        # a branch merged already (open phase): its folder is still the submission
        holders = change.holders(repo, name)
        if len(holders) == 1:
            scope, located = [], (holders[0].name, name)
    out = Validation(list(scope))
    if located is None:
        return out
    kit_name, found = located
    if name is not None and found != name:
        out.reasons.append(Reason("scope", f"the branch is named for {name!r} but changes "
                                  f"submissions/{found}/; rename one of them"))
    name = found
    loc = next(k for k in change.kits if k.name == kit_name)
    kit = kit_loader(loc) if kit_loader else gitrepo.load_kit_at(repo, change.trusted, loc)
    folder = change.folder(repo, loc, name)
    if folder is None:
        out.reasons.append(Reason("scope", f"the change deletes submissions/{name}/; a "
                                  "submission must add or change its folder"))
        return out
    try:
        out.submission = subs.submission_of(repo, change, loc, name, team=team,
                                            author=author, pr=pr)
    except subs.TeamError as e:
        out.reasons.append(Reason("team", str(e)))
        return out
    on_default = gitrepo.subtree(repo, change.trusted.tree,
                                 loc.path("submissions", name)) is not None
    out.reasons += [Reason("banned", why) for why in moderation.ban_reasons(
        repo, change.trusted.tree, kit.name, out.submission.team)]
    files, read = gitrepo.list_files(repo, folder), (lambda f: repo[f.oid].data)
    sealed, files, read = check_sealing(kit, files, read, _visibility(repo, change, kit.name))
    out.reasons += sealed
    out.reasons += check(kit, out.submission, files, read, records, now, out, on_default,
                         claims=claims)
    return out


def _visibility(repo: pygit2.Repository, change: subs.Change, challenge: str) -> Visibility:
    data = gitrepo.blob_at(repo, change.trusted.tree, state_path(challenge))
    try:
        return Visibility.from_dict(parse_record(data, state_path(challenge)) if data else None)
    except LedgerError:
        return Visibility()


def check_sealing(kit: Kit, files: list[FileEntry], read: Callable[[FileEntry], bytes],
                  state: Visibility) -> tuple[list[Reason], list[FileEntry],
                                              Callable[[FileEntry], bytes]]:
    """The `sealed` rule (challenge.sealing): while a kit with a key hides its code, a
    submission is sealed; a sealed one is checked without the key (and opened, its files
    checked against its manifest, where the runner's key is at hand). Returns the reasons
    and the files the other folder rules check: a sealed folder's manifest's."""
    needed = sealing.required(kit.seal_key, state.code_visible)
    if not sealing.is_sealed({f.path for f in files}):
        if needed:
            return [Reason("sealed", "this challenge's code stays hidden until the open "
                           "phase, so a submission travels sealed; " + sealing.HOW_TO)], \
                files, read
        return [], files, read
    if not needed:
        return [Reason("sealed", "this challenge takes plain files now (no key, or its code "
                       "is visible); commit the files themselves")], files, read
    problems, listed = sealing.check(files, read, kit.limits.max_bytes)
    identity = sealing.identity_from_env()
    if not problems and identity:
        by_path = {f.path: f for f in files}
        try:
            sealing.open_envelope(read(by_path[sealing.ENVELOPE]),
                                  read(by_path[sealing.MANIFEST]), identity)
        except sealing.SealError as e:
            problems.append(str(e))
    return [Reason("sealed", p) for p in problems], listed, lambda f: b""


def check(kit: Kit, sub: subs.Submission, files: list[FileEntry],
          read: Callable[[FileEntry], bytes], records: Iterable[Result], now: datetime,
          into: Validation | None = None, on_default_branch: bool = False, *,
          claims: claims_mod.Claims | None = None) -> list[Reason]:
    """Every rule but scope, for a located submission."""
    records = list(records)
    claim = claims.name(kit.name, sub.name) if claims else None
    attempts = claims_mod.live(claims.of_team(kit.name, sub.team), records, kit.name,
                               sub.team, now) if claims else []
    reasons = check_files(kit, sub.name, sub.team, files, read, records, on_default_branch,
                          claim=claim, now=now)
    timing, phase = check_phase_and_quota(
        kit, sub.team, sub.tree, records + claims_mod.as_results(attempts, kit.name,
                                                                  sub.team), now)
    if into is not None:
        into.phase = phase
    return reasons + timing


def rejected_result(kit: Kit, validation: Validation) -> Result:
    """The ledger record of a rejection: the reasons, no score."""
    sub = validation.submission
    assert sub is not None
    return Result(challenge=kit.name, submission=sub.name, status=REJECTED,
                  reason=validation.message(), stage=validation.rule,
                  score_names=[s.name for s in kit.scores])
