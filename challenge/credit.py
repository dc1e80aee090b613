"""Historical contributivity: blend credit shared along git lineage.

Each submission version receives its own blend contributivity plus whatever its
descendants pass up to it. Of what it receives, it passes the fraction
`inherited_share` (the share of its code inherited from its lineage parent, as the
ledger records it) to its parent and keeps the rest. Credit moves, it is never made
or lost: the historical contributivities add up to the blend total. Credit stops at
a submission whose parent is unknown (not among the versions given), which keeps
all it receives. See docs/contributivity.md for a worked example.

Versions are named by their version label, `<submission>@<tree16>`
(`challenge.ledger.version_label`), as `lineage.parent` names them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pygit2
from pygit2.enums import FileMode

from challenge import lineage as lineage_mod
from challenge import moderation, plagiarism
from challenge import predictions_store as store
from challenge import repo as gitrepo
from challenge.errors import GitrampError
from challenge.ledger import (
    Ledger,
    LedgerError,
    blend_path,
    dump_record,
    dump_yaml,
    load_yaml,
    parse_record,
    put_path,
    record_from,
    version_label,
)
from scorer.blend import FoldInputs, batch_score_for, blend
from scorer.result import SCORED
from scorer.score_types import bind_scores


class LineageError(GitrampError):
    """Lineage that cannot carry credit (a cycle, or a share outside 0..1)."""


def historical_contributivity(blend: Mapping[str, float],
                              parent: Mapping[str, str | None],
                              inherited_share: Mapping[str, float]) -> dict[str, float]:
    """Credit each version keeps once blend credit has flowed up the lineage.

    `blend`: version -> blend contributivity (versions absent count as 0);
    `parent`: version -> its lineage parent's version, or None;
    `inherited_share`: version -> fraction in 0..1 passed to the parent.
    Returns version -> historical contributivity for every version named in any of
    the three mappings; its values sum to sum(blend.values()).
    """
    versions = set(blend) | set(parent) | set(inherited_share)
    for v, share in inherited_share.items():
        if not 0.0 <= share <= 1.0:
            raise LineageError(f"{v}: inherited_share {share} is not between 0 and 1; "
                               f"fix the lineage of that ledger record")
    up = {v: p for v, p in parent.items() if p is not None and p in versions and p != v}
    received = {v: float(blend.get(v, 0.0)) for v in versions}
    kept = {}
    for v in _children_first(versions, up):
        share = inherited_share.get(v, 0.0) if v in up else 0.0
        passed = received[v] * share
        kept[v] = received[v] - passed
        if v in up:
            received[up[v]] += passed
    return kept


def _children_first(versions: set[str], up: Mapping[str, str]) -> list[str]:
    """Every version after all the versions whose parent it is (a reverse topological order)."""
    waiting = {v: 0 for v in versions}
    for p in up.values():
        waiting[p] += 1
    ready = sorted(v for v, n in waiting.items() if n == 0)
    order = []
    while ready:
        v = ready.pop()
        order.append(v)
        p = up.get(v)
        if p is not None:
            waiting[p] -= 1
            if waiting[p] == 0:
                ready.append(p)
    if len(order) != len(versions):
        stuck = sorted(set(versions) - set(order))
        raise LineageError(f"lineage forms a cycle through {', '.join(stuck)}; each "
                           f"submission's parent must be an earlier version")
    return order


# ----------------------------------------------------------------- the ledger
# Blending a challenge: read its records and stored predictions, blend, spread the
# credit along lineage, and write `contributivity: {blend, historical}` into the records
# (one commit) and the blend's summary into `leaderboard_data/<challenge>/blend.yml`.

DECIMALS = 4
NO_PRIVATE_LEDGER = ("its fold predictions are kept in the private ledger only (they are "
                     "hidden data); blend where it is, with --private-ledger")


@dataclass
class CreditRow:
    submission: str
    team: str | None
    version: str  # its version label, <submission>@<tree16>
    path: str | None  # its ledger file under the current scoring hash, if any
    blend: float  # percent
    historical: float  # percent


@dataclass
class ChallengeCredit:
    challenge: str
    score: str  # the ranking score the blend optimises
    lower_is_better: bool
    precision: int
    scoring_hash: str
    n_folds: int = 0
    blended_valid: float | None = None  # bagged over folds
    best_single_valid: float | None = None
    blended_test: float | None = None  # private: only with the private ledger
    best_single_test: float | None = None
    rows: list[CreditRow] = field(default_factory=list)  # by blend, then historical
    skipped: dict[str, str] = field(default_factory=dict)  # version -> why not blended
    written: list[str] = field(default_factory=list)  # ledger paths updated

    def summary(self) -> dict:
        """What `blend.yml` holds (public part)."""
        return {"schema": 1, "challenge": self.challenge, "scoring_hash": self.scoring_hash,
                "score": self.score, "lower_is_better": self.lower_is_better,
                "n_submissions": sum(1 for r in self.rows if r.version not in self.skipped
                                     and r.path), "n_folds": self.n_folds,
                "blended_valid": self.blended_valid,
                "best_single_valid": self.best_single_valid,
                "contributivity": {r.version: {"blend": r.blend, "historical": r.historical}
                                   for r in self.rows}}


def blend_challenges(repo: str | Path, challenges: Sequence[str] | None = None, *,
                     private_repo: str | Path | None = None, write: bool = True,
                     max_members: int = 80, min_improvement: float = 0.0,
                     ) -> list[ChallengeCredit]:
    """Blend every kit of the repository (or those named) and, with `write`, record the
    contributivities in the ledger (and the private blend summary in `private_repo`).

    The fold predictions and labels are in the private ledger only: without
    `private_repo` nothing can be blended, every version is reported as skipped, and
    nothing is written (the credit recorded earlier stays)."""
    ledger = Ledger(repo)
    head, locs, wanted = _kits(ledger, repo, challenges, "nothing to blend")
    out = []
    for name in wanted:
        kit = gitrepo.load_kit_at(ledger.repo, head, locs[name])
        credit = blend_challenge(ledger, kit, private_repo=private_repo,
                                 max_members=max_members, min_improvement=min_improvement)
        if write and private_repo is not None:
            _record(ledger, credit, private_repo)
        out.append(credit)
    return out


def _kits(ledger: Ledger, repo: str | Path, challenges: Sequence[str] | None,
          nothing: str) -> tuple[pygit2.Commit, dict[str, gitrepo.KitLocation], list[str]]:
    """(head, {name: kit location}, names asked for: all by default) of the default
    branch; GitrampError (saying `nothing` is done) without a commit or for a kit that
    is not there."""
    head = ledger.head()
    if head is None:
        raise GitrampError(f"{repo}: the default branch has no commit; {nothing}")
    locs = {loc.name: loc for loc in gitrepo.find_kits(ledger.repo, head.tree)}
    wanted = list(challenges) if challenges else sorted(locs)
    unknown = [c for c in wanted if c not in locs]
    if unknown:
        raise GitrampError(f"no kit named {', '.join(unknown)} in {repo}; kits here: "
                           f"{', '.join(sorted(locs)) or 'none'}")
    return head, locs, wanted


def blend_challenge(ledger: Ledger, kit, *, private_repo: str | Path | None = None,
                    max_members: int = 80, min_improvement: float = 0.0) -> ChallengeCredit:
    """Blend one challenge's scored records of the kit's current scoring hash."""
    rank = bind_scores(kit)[0]
    scoring_hash = kit.scoring_hash()
    credit = ChallengeCredit(kit.name, rank.name, rank.lower_is_better, rank.precision,
                             scoring_hash)
    records = _readable_records(ledger, kit.name)
    acts = moderation.read(ledger, kit.name)  # an annulled record is in no blend
    current = sorted(
        ((p, r) for p, r in records.items() if r.get("status") == SCORED
         and acts.annulment(str(r["submission"]), Path(p).stem) is None
         and str(r.get("scoring_hash") or "")[:8] == scoring_hash[:8]),
        key=lambda pr: (pr[1].get("submitted_at") or "", pr[1].get("scored_at") or "",
                        pr[1]["submission"], pr[1].get("tree") or ""))
    keys = {p: store.key_from_ledger_path(p) for p, _ in current}
    # The fold predictions and labels are hidden data: only the private ledger has them.
    stored = store.load_many(private_repo, keys.values()) if private_repo is not None else {}

    members, first = [], None
    for path, rec in current:
        version = version_label(rec["submission"], rec.get("tree") or "")
        s = stored.get(keys[path])
        why = NO_PRIVATE_LEDGER if private_repo is None else _unusable(s, first)
        if why:
            credit.skipped[version] = why
            continue
        first = first or s
        members.append((path, rec, s))

    blend_pct: dict[str, float] = {}
    if members:
        labels = store.load_labels(private_repo, keys[members[0][0]])
    if members and labels is None:
        for _, rec, _ in members:
            credit.skipped[version_label(rec["submission"], rec.get("tree") or "")] = (
                "the labels stored with the predictions are missing; re-score it")
        members = []
    if members:
        subs = [s for _, _, s in members]
        with_test = labels.y_test is not None and all(s.test_preds for s in subs)
        folds = [FoldInputs(subs[0].valid_idx[f], np.stack([s.valid_preds[f] for s in subs]),
                            np.stack([s.test_preds[f] for s in subs]) if with_test else None)
                 for f in range(subs[0].n_folds)]
        # of combined predictions, the ranking score reads its part of the columns: a
        # batch version by its type's name would read them whole
        whole = kit.prediction_type != "combined"
        result = blend(folds, labels.y_train, rank, rank.lower_is_better,
                       y_test=labels.y_test if with_test else None,
                       batch_score=batch_score_for(rank.type.name, rank.params) if whole
                       else None,
                       max_members=max_members, min_improvement=min_improvement,
                       probabilities=kit.is_classification)
        credit.n_folds = len(folds)
        credit.blended_valid, credit.best_single_valid = (result.bagged_valid,
                                                          result.best_single_bagged_valid)
        credit.blended_test, credit.best_single_test = (result.bagged_test,
                                                        result.best_single_bagged_test)
        for (_, rec, _), pct in zip(members, result.contributivity, strict=True):
            blend_pct[version_label(rec["submission"], rec.get("tree") or "")] = float(pct)

    # Lineage over every record of the challenge: credit may flow to any earlier version.
    parent, share, team, path_of = {}, {}, {}, {}
    for path, rec in records.items():
        v = version_label(rec["submission"], rec.get("tree") or "")
        lin = rec.get("lineage") or {}
        parent[v] = lin.get("parent")
        share[v] = float(lin.get("inherited_share") or 0.0)
        team[v] = rec.get("team")
        if str(rec.get("scoring_hash") or "")[:8] == scoring_hash[:8] or v not in path_of:
            path_of[v] = path
    historical = historical_contributivity(blend_pct, parent, share)
    for v, hist in historical.items():
        if v in blend_pct or hist > 0:
            credit.rows.append(CreditRow(v.split("@")[0], team.get(v), v, path_of.get(v),
                                         round(blend_pct.get(v, 0.0), DECIMALS),
                                         round(hist, DECIMALS)))
    credit.rows.sort(key=lambda r: (-r.blend, -r.historical, r.version))
    return credit


def _readable_records(ledger: Ledger, challenge: str) -> dict[str, dict]:
    """{path: record} of the challenge's records that read as results; the others are
    noted in `ledger.skipped` (as Ledger.records does) and left out of the blend."""
    out = {}
    for path, oid in ledger.entries(challenge).items():
        try:
            raw = parse_record(ledger.repo[oid].data, path)
            record_from(raw, path)
        except LedgerError as e:
            ledger.skipped[path] = str(e)
            continue
        out[path] = raw
    return out


def _unusable(s, first) -> str | None:
    if s is None:
        return "no stored fold predictions (scored before they were kept); re-score it"
    if first is None:
        return None
    if s.n_folds != first.n_folds or any(
            not np.array_equal(a, b) for a, b in zip(s.valid_idx, first.valid_idx, strict=True)):
        return "its folds differ from the other submissions'; re-score it"
    if any(a.shape != b.shape for a, b in zip(s.valid_preds, first.valid_preds, strict=True)):
        return "its predictions' shape differs from the other submissions'; re-score it"
    return None


def _record(ledger: Ledger, credit: ChallengeCredit, private_repo: str | Path | None) -> None:
    summary_path = blend_path(credit.challenge)
    summary = credit.summary()
    written: list[str] = []

    def build(repo, head):
        # Re-read every record on the head being written to, so a record rewritten
        # meanwhile by a runner keeps its new content and only gains its contributivity.
        written.clear()
        tree = head.tree if head is not None else None
        files = {}
        for row in credit.rows:
            data = gitrepo.blob_at(repo, tree, row.path) if tree and row.path else None
            if data is None:
                continue
            rec = load_yaml(data)
            new = {"blend": row.blend, "historical": row.historical}
            if rec.get("contributivity") != new:
                rec["contributivity"] = new
                files[row.path] = dump_yaml(rec)
                written.append(row.path)
        old = gitrepo.blob_at(repo, tree, summary_path) if tree else None
        if old is None or load_yaml(old) != summary:
            files[summary_path] = dump_yaml(summary)
        if not files:
            return None
        for path, data in sorted(files.items()):
            tree = repo[put_path(repo, tree, path, repo.create_blob(data), FileMode.BLOB)]
        return tree.id, [], (f"ledger: contributivity of {credit.challenge} ({len(written)} "
                             f"record(s) updated, {credit.score} blended)")

    if ledger.update(build) is not None:
        credit.written = sorted(written)
    if private_repo is not None and credit.blended_test is not None:
        private = Ledger(private_repo, create=True)
        data = {"schema": 1, "challenge": credit.challenge,
                "scoring_hash": credit.scoring_hash, "score": credit.score,
                "blended_test": credit.blended_test,
                "best_single_test": credit.best_single_test}
        if private.head() is None or load_yaml(dump_yaml(data)) != private.read(summary_path):
            private.write({summary_path: dump_yaml(data)},
                          f"ledger: private blended score of {credit.challenge}")


# ------------------------------------------------------------ recomputing lineage
# Lineage is computed once, when a version is scored, by the rule of that day. When the
# rule changes (challenge.lineage.RULE), the records keep their lineage until an
# organizer recomputes it: `gitramp lineage recompute` shows what would move, and with
# --apply commits the new lineage and the historical contributivity that follows from it
# (from the blend shares already recorded; no prediction is needed).

@dataclass
class Moved:
    version: str
    team: str | None
    path: str
    old: dict  # the lineage recorded
    new: dict  # the lineage of the current rule

    @property
    def moved(self) -> bool:
        """Whether the parent or the inherited share changed (not only added fields)."""
        return (self.old.get("parent"), round(float(self.old.get("inherited_share") or 0), 4)) \
            != (self.new.get("parent"), round(float(self.new.get("inherited_share") or 0), 4))


@dataclass
class LineageRecompute:
    challenge: str
    changed: list[Moved] = field(default_factory=list)  # records whose lineage differs
    credit: dict[str, tuple[float, float]] = field(default_factory=dict)  # version: old, new
    left: dict[str, str] = field(default_factory=dict)  # version -> why not recomputed
    commit: str | None = None  # with apply: the ledger commit


def recompute_lineage(repo: str | Path, challenges: Sequence[str] | None = None, *,
                      apply: bool = False, private: Ledger | None = None,
                      identity: str | None = None) -> list[LineageRecompute]:
    """Recompute the lineage of every scored record of the kits (or those named) by the
    current rule, against the starting kit of the default branch; with `apply`, commit
    the records that changed (one commit per kit) with their historical contributivity
    recomputed from the recorded blend shares, and the kit's blend.yml likewise.

    As when scoring: sealed folders are read with the runner's key (`identity`), and a
    submission flagged in the `private` ledger as a near copy gets no lineage from what
    it copied (without the private ledger, flags are unknown and a copy may get its
    source back as a parent: pass it)."""
    ledger = Ledger(repo)
    head, locs, wanted = _kits(ledger, repo, challenges, "no lineage to compute")
    out = []
    for name in wanted:
        loc, done = locs[name], LineageRecompute(name)
        starting = gitrepo.subtree(ledger.repo, head.tree,
                                   loc.path("submissions", "starting_kit"))
        boilerplate = lineage_mod.boilerplate_of(ledger.repo,
                                                 str(starting.id) if starting else None)
        raw = _readable_records(ledger, name)
        results = {p: record_from(r, p) for p, r in raw.items()}
        read = plagiarism.reader(ledger.repo, identity)
        copied = {(f.submission, f.tree): {(s.submission, s.tree) for s in f.sources}
                  for f in (plagiarism.read_flags(private, name) if private else [])}
        for path, r in sorted(results.items()):
            if r.status == "rejected" or not (r.commit and r.tree):
                continue
            version = version_label(r.submission, r.tree)
            if r.commit not in ledger.repo or r.tree not in ledger.repo:
                done.left[version] = "its commit is not in this repository; fetch it"
                continue
            sources = copied.get((r.submission, r.tree), set())
            candidates = [c for c in results.values() if (c.submission, c.tree) not in sources]
            new = lineage_mod.compute(ledger.repo, r.commit, r.tree, name, candidates,
                                      boilerplate, files=read).to_dict()
            if new != (r.lineage or {}):
                done.changed.append(Moved(version, r.team, path, r.lineage or {}, new))
        done.credit = _historical_after(ledger, name, raw, {m.path: m.new for m in done.changed})
        if apply and done.changed:
            done.commit = _write_lineage(ledger, name, done)
        out.append(done)
    return out


def _historical_after(ledger: Ledger, challenge: str, raw: dict[str, dict],
                      lineage: dict[str, dict]) -> dict[str, tuple[float, float]]:
    """{version: (historical recorded, historical with the new lineage)} of the versions
    whose credit moves, from the blend shares recorded in blend.yml."""
    summary = ledger.read(blend_path(challenge)) or {}
    shares = summary.get("contributivity") if isinstance(summary, dict) else None
    if not isinstance(shares, dict) or not shares:
        return {}
    blend_pct = {v: float((c or {}).get("blend") or 0.0) for v, c in shares.items()
                 if isinstance(c, dict)}
    parent, share = {}, {}
    for path, rec in raw.items():
        v = version_label(rec["submission"], rec.get("tree") or "")
        lin = lineage.get(path, rec.get("lineage") or {})
        parent[v] = lin.get("parent")
        share[v] = float(lin.get("inherited_share") or 0.0)
    new = historical_contributivity(blend_pct, parent, share)
    moved = {}
    for v in set(new) | set(shares):
        was = float((shares.get(v) or {}).get("historical") or 0.0)
        now = round(new.get(v, 0.0), DECIMALS)
        if abs(was - now) > 10 ** -DECIMALS:
            moved[v] = (was, now)
    return moved


def _write_lineage(ledger: Ledger, challenge: str, done: LineageRecompute) -> str | None:
    summary_path = blend_path(challenge)
    new_lineage = {m.path: m.new for m in done.changed}
    moved = sum(m.moved for m in done.changed)

    def build(repo, head):
        tree = head.tree if head is not None else None
        files = {}
        for path, lin in sorted(new_lineage.items()):
            data = gitrepo.blob_at(repo, tree, path) if tree else None
            if data is None:
                continue  # removed meanwhile
            rec = parse_record(data, path)
            rec["lineage"] = lin
            v = version_label(rec["submission"], rec.get("tree") or "")
            if v in done.credit and isinstance(rec.get("contributivity"), dict):
                rec["contributivity"]["historical"] = done.credit[v][1]
            files[path] = dump_record(rec, path)
        if done.credit and tree is not None:
            old = gitrepo.blob_at(repo, tree, summary_path)
            summary = load_yaml(old) if old is not None else None
            if isinstance(summary, dict) and isinstance(summary.get("contributivity"), dict):
                for v, (_, now) in done.credit.items():
                    if isinstance(summary["contributivity"].get(v), dict):
                        summary["contributivity"][v]["historical"] = now
                files[summary_path] = dump_yaml(summary)
        # the other records' historical credit moves too (a parent gains or loses)
        for path in (p for p in ledger.entries(challenge) if p not in new_lineage):
            data = gitrepo.blob_at(repo, tree, path) if tree else None
            rec = parse_record(data, path) if data is not None else None
            if not isinstance(rec, dict) or not isinstance(rec.get("contributivity"), dict):
                continue
            v = version_label(rec.get("submission") or "", rec.get("tree") or "")
            if v in done.credit:
                rec["contributivity"]["historical"] = done.credit[v][1]
                files[path] = dump_record(rec, path)
        for path, data in sorted(files.items()):
            tree = repo[put_path(repo, tree, path, repo.create_blob(data), FileMode.BLOB)]
        return tree.id, [], (f"ledger: lineage of {challenge} recomputed by the current rule "
                             f"({len(new_lineage)} record(s) updated, {moved} moved)")

    return ledger.update(build)
