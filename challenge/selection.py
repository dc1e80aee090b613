"""Final selection: which submissions of each team count on the private leaderboard.

A kit that sets `final_selection: K` lets each team choose up to K of its scored
submissions, until the closed phase ends:

- by a commit trailer: `Final-selection: yes` in the message of the submission's
  commit (the latest K so marked count);
- or by `gitramp select <challenge>/<name>[@<tree>] ...`, which records the team's
  whole choice in `leaderboard_data/<challenge>/_selection/<team>.yml` (a command's
  choice replaces the trailers);
- otherwise the team's K best public scores are its choice.

Only records submitted before the closed phase ends are candidates (all of them when
the kit has no closed phase), and an annulled record never is. `gitramp reveal`
publishes the private scores of the chosen records only, and writes the choice, with
how each was chosen, to `leaderboard_data/<challenge>/final_selection.yml`, which the
site reads to mark them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pygit2
from pygit2.enums import FileMode

from challenge import repo as gitrepo
from challenge.errors import GitrampError
from challenge.kit import Kit
from challenge.ledger import (
    LEDGER_ROOT,
    Ledger,
    LedgerError,
    dump_yaml,
    parse_record,
    path_segment,
    put_path,
    record_stem,
    yaml_files_at,
)
from challenge.moderation import is_annulled
from challenge.phases import iso, parse_time
from challenge.ranking import PUBLIC, RankingScore, board, submitted
from scorer.result import SCORED, Result

TRAILER = "Final-selection"
SELECTION_DIR = "_selection"  # <challenge>/_selection/<team>.yml: a team's command choice
SUMMARY_FILE = "final_selection.yml"  # written by reveal: the choice the board used
COMMAND, TRAILED, DEFAULT = "command", "trailer", "default"

_TRAILER_RE = re.compile(rf"^{TRAILER}:\s*(yes|true)\s*$", re.IGNORECASE | re.MULTILINE)


class SelectionError(GitrampError):
    pass


@dataclass(frozen=True)
class Chosen:
    team: str
    name: str
    stem: str
    how: str  # command | trailer | default

    def to_dict(self) -> dict[str, str]:
        return {"team": self.team, "name": self.name, "stem": self.stem, "how": self.how}


def stem_of(r: Result) -> str:
    return record_stem(r.tree or "", r.scoring_hash or "")


def deadline(kit: Kit) -> datetime | None:
    """When choosing ends: the end of the closed phase (None: no closed phase)."""
    return next((p.end for p in kit.phases if p.name == "closed"), None)


def candidates(kit: Kit, records: list[Result]) -> list[Result]:
    """Scored, unannulled records of the kit submitted before the closed phase ends."""
    end = deadline(kit)
    out = []
    for r in records:
        if r.challenge != kit.name or r.status != SCORED or is_annulled(r):
            continue
        if end is not None and r.submitted_at and parse_time(submitted(r)) >= end:
            continue
        out.append(r)
    return out


def trailered(repo: pygit2.Repository, r: Result) -> bool:
    """Whether the record's commit says `Final-selection: yes` in its message."""
    if not r.commit:
        return False
    try:
        commit = repo[r.commit]
    except (KeyError, ValueError):
        return False
    return isinstance(commit, pygit2.Commit) and bool(_TRAILER_RE.search(commit.message))


def command_path(challenge: str, team: str) -> str:
    return f"{LEDGER_ROOT}/{challenge}/{SELECTION_DIR}/{path_segment(team)}.yml"


def read_commands(repo: pygit2.Repository, tree: pygit2.Tree | None,
                  challenge: str) -> dict[str, list[tuple[str, str]]]:
    """{team: [(name, stem), ...]} of the choices made by command."""
    out: dict[str, list[tuple[str, str]]] = {}
    for _, raw in yaml_files_at(repo, tree, f"{LEDGER_ROOT}/{challenge}/{SELECTION_DIR}"):
        if isinstance(raw, dict) and isinstance(raw.get("chosen"), list):
            out[str(raw.get("team"))] = [(str(c.get("name")), str(c.get("stem")))
                                         for c in raw["chosen"] if isinstance(c, dict)]
    return out


def choose(kit: Kit, records: list[Result], repo: pygit2.Repository,
           tree: pygit2.Tree | None) -> list[Chosen]:
    """Each team's final selection (at most `kit.final_selection`); with no limit set,
    every candidate."""
    pool = candidates(kit, records)
    k = kit.final_selection
    if k is None:
        return [Chosen(r.team or "", r.submission, stem_of(r), DEFAULT) for r in pool]
    commands = read_commands(repo, tree, kit.name)
    score = RankingScore.of_kit(kit)
    out: list[Chosen] = []
    for team in sorted({r.team or "" for r in pool}):
        mine = [r for r in pool if (r.team or "") == team]
        by_key = {(r.submission, stem_of(r)): r for r in mine}
        if team in commands:
            picked = [(n, s) for n, s in commands[team] if (n, s) in by_key][:k]
            out += [Chosen(team, n, s, COMMAND) for n, s in picked]
            continue
        marked = sorted((r for r in mine if trailered(repo, r)), key=submitted)[-k:]
        if marked:
            out += [Chosen(team, r.submission, stem_of(r), TRAILED) for r in marked]
            continue
        best = board(mine, score, PUBLIC)[:k]
        out += [Chosen(team, s.result.submission, stem_of(s.result), DEFAULT) for s in best]
    return out


def select(ledger: Ledger, kit: Kit, team: str | None, targets: list[str], *, by: str,
           now: datetime) -> list[Chosen]:
    """Record a team's choice by command: `targets` are `<name>` (its latest scored
    version) or `<name>@<tree prefix>`; they replace the team's earlier choice."""
    if kit.final_selection is None:
        raise SelectionError(f"{kit.name} does not let teams choose: its challenge.yml sets "
                             "no final_selection")
    end = deadline(kit)
    if end is not None and now >= end:
        raise SelectionError(f"the closed phase of {kit.name} ended {iso(end)}; the final "
                             "selection can no longer change")
    if len(targets) > kit.final_selection:
        raise SelectionError(f"{len(targets)} submissions named; {kit.name} lets a team "
                             f"choose at most {kit.final_selection}")
    pool = candidates(kit, ledger.records(kit.name))
    picked: list[Result] = []
    for t in targets:
        name, _, version = t.partition("@")
        found = sorted((r for r in pool if r.submission == name
                        and (r.tree or "").startswith(version)), key=submitted)
        if not found:
            raise SelectionError(f"no scored submission {kit.name}/{t} to choose (only "
                                 "records scored before the closed phase ends count)")
        picked.append(found[-1])
    teams = {r.team for r in picked} | ({team} if team else set())
    if len(teams) != 1:
        raise SelectionError("a team chooses among its own submissions only (found: "
                             + ", ".join(sorted(str(t) for t in teams)) + ")")
    team = str(teams.pop())
    chosen = [Chosen(team, r.submission, stem_of(r), COMMAND) for r in picked]
    data = dump_yaml({"team": team, "by": by, "at": iso(now),
                      "chosen": [{"name": c.name, "stem": c.stem} for c in chosen]})
    path = command_path(kit.name, team)
    message = (f"selection: {kit.name} final choice of team {team} by {by}\n\n"
               + "".join(f"{c.name} {c.stem}\n" for c in chosen))

    def build(repo: pygit2.Repository, head: pygit2.Commit | None):
        tree = head.tree if head else None
        return put_path(repo, tree, path, repo.create_blob(data), FileMode.BLOB), [], message

    ledger.update(build)
    return chosen


def summary_path(challenge: str) -> str:
    return f"{LEDGER_ROOT}/{challenge}/{SUMMARY_FILE}"


def summary_file(chosen: list[Chosen]) -> bytes:
    return dump_yaml({"chosen": [c.to_dict() for c in chosen]})


def read_summary(source: Any, challenge: str) -> dict[tuple[str, str], str]:
    """{(name, stem): how} of the choice `reveal` published (empty before)."""
    data = None
    if isinstance(source, Ledger):
        head = source.head()
        data = gitrepo.blob_at(source.repo, head.tree, summary_path(challenge)) if head else None
    elif getattr(source, "root", None) is not None:
        f = source.root / summary_path(challenge)
        data = f.read_bytes() if f.is_file() else None
    if not data:
        return {}
    try:
        raw = parse_record(data, summary_path(challenge))
    except LedgerError:
        return {}
    items = raw.get("chosen") if isinstance(raw, dict) else None
    return {(str(c.get("name")), str(c.get("stem"))): str(c.get("how"))
            for c in items or [] if isinstance(c, dict)}


def reveal(ledger: Ledger, private: Ledger, kit: Kit, now: datetime
           ) -> tuple[str | None, int, list[Chosen]]:
    """`gitramp reveal` for a kit with a final selection: the chosen records' private
    scores, and the choice itself, in one commit."""
    from challenge.publish import reveal as publish

    head = ledger.head()
    chosen = choose(kit, ledger.records(kit.name), ledger.repo, head.tree if head else None)
    commit, count = publish(ledger, private, kit.name, now,
                            only={(c.name, c.stem) for c in chosen},
                            extra={summary_path(kit.name): summary_file(chosen)})
    return commit, count, chosen
