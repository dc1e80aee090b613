"""Reads a repository into plain data for the site: kits, visibility state, ledger records.

The ledger is read only through `challenge.ledger`'s public reading API, the code that
defines its layout for the runners that write it: `open_ledger`, `RecordFile`,
`CommittedRecord`, `private_folder`, `parse_record`, `record_from`, `Visibility`,
`version_label`. Kits come from `challenge.hub.kit_dirs` and `challenge.kit.load_kit`,
rankings from `challenge.ranking`. Nothing here names a path of the ledger.

Visibility is settled here and nowhere else on the site. A record's private (test)
scores are dropped unless the challenge's `state.yml` says the private leaderboard is
revealed, and then they come only from the revealed copies beside the public records.
Submission code is read only when `state.yml` says code is visible. Templates and plots
receive what this module hands out, so they cannot show what it withheld.
"""

from __future__ import annotations

import bisect
import hashlib
import marshal
import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any

from challenge import moderation, selection
from challenge import repo as gitrepo
from challenge.errors import GitrampError
from challenge.hub import kit_dirs
from challenge.kit import SPEC_FILE, Kit, Phase, load_kit
from challenge.ledger import (
    LEDGER_ROOT,
    Additions,
    CommittedRecord,
    FolderLedger,
    Ledger,
    LedgerError,
    RecordFile,
    Visibility,
    blend_path,
    open_ledger,
    parse_record,
    private_folder,
    record_from,
    record_stem,
    version_label,
)
from challenge.moderation import Act
from challenge.ranking import PRIVATE, PUBLIC, submitted
from challenge.ranking import value as ranking_value
from scorer.result import PRIVATE_SPLITS, SCORED, FoldScores, Result
from scorer.score_types import bind_scores
from site_generator import kept
from site_generator.last_read import LastRead


class SiteInputError(GitrampError):
    """The repository cannot be turned into a site as it is."""


# told how long work goes: (what, done, total or None when not known ahead)
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class ScoreColumn:
    name: str
    precision: int = 3
    lower_is_better: bool = False

    @property
    def direction(self) -> str:
        return "lower is better" if self.lower_is_better else "higher is better"


class _once:
    """A method read as an attribute, computed on the first read and then held in the
    instance. functools.cached_property takes a lock on every first read (Python 3.11),
    which cost about as much as making an entry's page and key line, read for each of
    ten thousand entries a build."""

    def __init__(self, method):
        self.method, self.name = method, method.__name__
        self.__doc__ = method.__doc__

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.method(obj)
        return value


class Entry:
    """One scored (or failed) submission version, as the site may show it.

    `summary` holds what boards, ranking, search and page keys read of every record
    (a `Summary`, or the full Result when there is no other); the full `result` is made
    only when first read (a page that shows it is rendered), by `load` (which gives the
    Result and the digest of what it was read from)."""

    def __init__(self, challenge: str, name: str, stem: str, result: Result | None = None,
                 digest: str = "", verifications: list[dict] | None = None,
                 chosen: str = "", *, summary: Any = None, load=None, kept_ident: str = ""):
        self.challenge = challenge
        self.name = name
        self.stem = stem  # the ledger file's name without `.yml`: <tree16>-<hash8>
        self._result = result
        self._load = load
        self._summary_of = None  # (a restored entry's: see `summary`)
        self._summarize(summary if summary is not None else result)
        self.digest = digest  # hash of the record files it was read from (incremental builds)
        # re-runs of this record (challenge.verify), oldest first: {verdict, runner, when, ...}
        self.verifications = verifications if verifications is not None else []
        self.chosen = chosen  # how it was chosen for the private leaderboard (challenge.selection)
        # its record's ident in the RecordCache (record_bucket: pages are made by bucket)
        self.kept_ident = kept_ident

    def _summarize(self, summary: Any) -> None:
        """Set the summary and what boards, keys and pages read of it many times a build
        (plain attributes: a big site reads them millions of times)."""
        self.summary = summary
        self.team: str = summary.team or "unknown"
        # its version label, `<name>@<tree16>`, as lineage names it
        self.label: str = version_label(self.name, summary.tree or self.stem)
        self.submitted_at: str = submitted(summary)
        lineage = summary.lineage or {}
        parent = lineage.get("parent")
        self.parent_label: str | None = str(parent) if parent else None
        # what the lineage page's table says of it: its parent's team and the share of
        # its code inherited (a full build reads no summary for them: the derived ones
        # lie in every part of the record cache, 84 MB at 100,000 submissions)
        parent_team = lineage.get("parent_team")
        self.parent_team: str | None = str(parent_team) if parent_team else None
        share = lineage.get("inherited_share")
        self.inherited_share: float | None = (
            float(share) if type(share) in (int, float) and math.isfinite(share) else None)
        self.status = summary.status
        # what a failed one's row says (failures tables, failed data): a rebuild's team
        # page lists its team's failures without their summaries, which lie in every
        # part of the record cache (at 100,000 submissions, reading them all took 0.6 s)
        self.stage, self.reason = summary.stage, summary.reason
        self.phase: str = summary.phase or ""
        self.credit: float | None = _credit(summary.contributivity)
        # its name and version as its ranking key reads them (challenge.ranking), when
        # they are not its folder's and file's: a rebuild places new records among the
        # last build's by these keys, without their summaries
        ranked_as = [summary.submission, record_stem(summary.tree or "",
                                                     summary.scoring_hash or "")]
        self.ranked_as: list | None = (
            None if ranked_as == [self.name, self.stem] else ranked_as)

    def __repr__(self) -> str:
        return f"Entry({self.challenge!r}, {self.name!r}, {self.stem!r}, {self.digest!r})"

    @property
    def result(self) -> Result:
        if self._result is None:
            self._result = self._load()[0]  # (result, digest)
        return self._result

    def release(self) -> None:
        """Drop the full record once its page is made (it is loaded again if read): a
        build keeps every entry, and a full record for each is far more than the
        summaries the boards read."""
        if self._load is not None:
            self._result = None

    @result.setter
    def result(self, value: Result) -> None:
        self._result = value
        self._summarize(value)

    # what `derived` gives, in its order
    DERIVED = ("team", "label", "submitted_at", "parent_label", "status", "phase", "credit",
               "ranked_as", "page", "stage", "reason", "parent_team", "inherited_share")

    def derived(self) -> list:
        """What it works out of its summary, and its page (DERIVED): the last build's
        note keeps them (site_generator.last_read), so the next build makes it with
        `restore`."""
        return list(_DERIVED_OF(self))

    @classmethod
    def restore(cls, challenge: str, name: str, stem: str, digest: str,
                verifications: list[dict], chosen: str, summary_of: Callable[[], Any],
                load, kept_ident: str, derived: list) -> Entry:
        """The entry `__init__` makes of these, with what `derived()` gave (its summary's
        record unchanged): ten thousand a rebuild, without working them out again.
        `summary_of()` gives its summary when it is first read."""
        e = cls.__new__(cls)
        (team, label, submitted_at, parent_label, status, phase, credit, ranked_as,
         page, stage, reason, parent_team, inherited_share) = derived
        e.__dict__ = {"challenge": challenge, "name": name, "stem": stem, "_result": None,
                      "_load": load, "_summary_of": summary_of, "team": team,
                      "label": label, "submitted_at": submitted_at,
                      "parent_label": parent_label, "status": status, "phase": phase,
                      "credit": credit, "ranked_as": ranked_as, "digest": digest,
                      "verifications": verifications, "chosen": chosen,
                      "kept_ident": kept_ident, "page": page, "stage": stage,
                      "reason": reason, "parent_team": parent_team,
                      "inherited_share": inherited_share}
        return e

    @_once
    def summary(self) -> Any:
        """A restored entry's summary, read when first asked for (`__init__` and the
        result's setter set it)."""
        return self._summary_of()

    @_once
    def page(self) -> str:
        """Its submission page, relative to its challenge's folder."""
        return submission_page(self.name, self.stem)

    @_once
    def key_line(self) -> str:
        """Its record and version as one line (read once the ledger is read: every
        board, data file and page key showing it reads this)."""
        return f"{self.digest!r}\0{self.name!r}\0{self.stem!r}"

    @property
    def verified(self) -> dict | None:
        """The latest verification of this record, if any."""
        return self.verifications[-1] if self.verifications else None

    @property
    def scored(self) -> bool:
        return self.status == SCORED


def _credit(contributivity: Any) -> float | None:
    """The historical share of a record's contributivity, which lineage ranks families
    by; None when it has none, 0 when it names none that reads as a number."""
    if not contributivity:
        return None
    share = contributivity.get("historical") if isinstance(contributivity, dict) else None
    try:
        return float(share or 0)
    except (TypeError, ValueError):
        return 0.0


class Summary:
    """What the site reads of every record, whether or not a page showing it is
    rendered: the fields boards, ranking, search, lineage and page keys need. `bagged`
    holds, per split, the value a board ranks each score on (`challenge.ranking.value`:
    the bagged value, or the folds' mean), so no folds are needed."""

    FIELDS = ("challenge", "submission", "status", "team", "tree", "commit",
              "scoring_hash", "submitted_at", "scored_at", "phase", "stage", "reason",
              "lineage", "contributivity", "bagged")
    folds: tuple = ()  # ranking falls back to the folds' mean only where bagged has none

    def __init__(self, data: dict):
        # its fields are the plain data's keys, and the plain data its attributes: no
        # setattr a field, no copy (a rebuild makes ten thousand of these). Nothing
        # sets a summary's attributes, so the data kept for the next build is the same.
        self.__dict__ = data

    @classmethod
    def plain(cls, result: Result) -> dict:
        """The summary of a full Result, as plain data (kept between builds)."""
        out = {k: getattr(result, k) for k in cls.FIELDS if k != "bagged"}
        values: dict[str, dict[str, float]] = {}
        for split in (PUBLIC, PRIVATE):
            names = set(result.bagged.get(split, {}))
            for f in result.folds:
                names.update(f.scores.get(split, {}))
            got = {n: ranking_value(result, n, split) for n in sorted(names)}
            values[split] = {n: v for n, v in got.items() if v is not None}
        out["bagged"] = values
        return out


@dataclass(frozen=True)
class Since:
    """What a challenge's ledger folder gained since the tree the last build read:
    records only (anything else and the ledger is read whole)."""

    tree: str
    added: list[Entry]
    # the last build's entries, in its order (the note's): what its saved board orders
    # count in (last_boards)
    before: list[Entry]


@dataclass
class Challenge:
    name: str
    title: str
    description: str
    kit: Kit
    kit_dir: str  # the kit's folder relative to the repository root ("" when standalone)
    readme: str
    scores: list[ScoreColumn]
    phases: tuple[Phase, ...]
    state: Visibility
    entries: list[Entry] = field(default_factory=list)
    moderation: list[Act] = field(default_factory=list)  # organizers' acts, oldest first
    # the ledger's blend summary (blend.yml: blended_valid, contributivity, ...), if any
    blend: dict = field(default_factory=dict)
    # the git tree of its ledger folder that `entries` were read from ("": a folder
    # ledger), and, when the entries were made from the last build's note (last_read),
    # what was added since the tree that build read
    ledger_tree: str = ""
    since: Since | None = None

    @property
    def ranking(self) -> ScoreColumn | None:
        return self.scores[0] if self.scores else None


@dataclass
class Repository:
    path: Path
    challenges: list[Challenge]
    skipped: list[str] = field(default_factory=list)  # "<file>: <why>" of unreadable records
    # each challenge's ledger folder by its git tree id ("" while it has none), which fixes
    # every record, act and state the site reads of it; None when the ledger is a
    # folder's files, not commits
    ledger_folders: dict[str, str] | None = None
    source: Ledger | FolderLedger | None = field(default=None, repr=False)


# ------------------------------------------------------------------------------ reading
class RecordCache:
    """Parsed ledger records kept between builds, keyed by content (a git blob id, or a
    file's path, size and mtime), and each record's `Summary`.

    YAML parsing dominates reading a big ledger; a rebuild after one new result should
    not parse the other ten thousand again, nor even make their Results: the summaries
    (what every build reads of every record) are in one file loaded at once, the full
    records in buckets loaded only when a page showing one of them is rendered. The
    cache lives outside the site (in the repository's .git folder), and holds only what
    the records it mirrors hold.

    A record served from a bucket leaves the bucket's copy in memory (the Result made
    from it is what the build keeps): a full build reads every record, and holding the
    buckets too cost 180 MB at 10,000 records. A bucket written at the end is merged
    from its file.
    """

    VERSION = 11
    # files by the ident's hash: a page rendered loads one (and a new record rewrites
    # one) of 256, some 40 records of a 10,000-record ledger
    BUCKETS = 256
    SUMMARIES = "summaries"  # a folder of _Parts

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.buckets: dict[int, dict[str, list]] = {}  # loaded when first needed
        self.new: dict[str, list] = {}
        self.live: set[str] = set()  # the idents this build read or summarized
        self.dirty: set[int] = set()
        self.summaries: dict[str, list] = {}
        self.trees: dict[str, list] = {}  # git tree id -> [[stem, blob id], ...]
        # the summary keys of the entries made from the last build's note (model
        # _noted_entries): theirs are kept, though this build may never read them
        self.noted: list[str] = []
        self._remade: dict[str, list] = {}
        # the largest thing a rebuild could read, in parts read when first needed
        self.kept = _Parts(folder / self.SUMMARIES if folder is not None else None,
                           self.VERSION, ("summaries", "trees", "listings"))
        self.old_summaries = self.kept.old["summaries"]
        self.old_trees = self.kept.old["trees"]
        # the public record folders' listings (challenge.ledger.entries_at's `trees`)
        self.listings = _Listings(self.kept.old["listings"])

    def _bucket(self, key: str) -> int:
        # "<private ident>\0<public ident>": a private part, in its public record's
        # bucket (a build reading records bucket by bucket holds one bucket at a time)
        ident, _, public = key.partition("\0")
        return record_bucket(public) if public else _hash_bucket(ident)

    @staticmethod
    def _private_key(private: RecordFile, public: RecordFile) -> str:
        return f"{private.ident}\0{public.ident}"

    def _read_bucket(self, b: int) -> dict[str, list]:
        return ({} if self.folder is None else
                kept.part(kept.read(self.folder / f"{b:02d}.marshal", self.VERSION),
                          "records"))

    def _old(self, ident: str) -> list | None:
        """The kept record `ident`, taken out of its loaded bucket (served once a build:
        an Entry keeps what is made of it)."""
        b = self._bucket(ident)
        old = self.buckets.get(b)
        if old is None:
            old = self.buckets[b] = self._read_bucket(b)
        return old.pop(ident, None)

    def private(self, file: RecordFile, public: RecordFile) -> tuple[Any, str]:
        """The parsed private part `file` of the record `public` and a digest of its
        bytes."""
        key = self._private_key(file, public)
        self.live.add(key)
        hit = self.new.get(key) or self._old(key)
        if hit is not None:
            return hit[1], hit[0]
        data = file.fetch()
        digest = hashlib.sha1(data).hexdigest()
        parsed = parse_record(data, file.where)
        self.new[key] = [digest, parsed]
        self.dirty.add(self._bucket(key))
        return parsed, digest

    def result(self, file: RecordFile) -> tuple[Result, str]:
        """The public record as a Result, its private scores withheld, and its digest.

        The cache holds the Result's fields once checked and cleaned (a plain mapping), so
        a rebuild makes each Result again without parsing or cleaning it."""
        key = _result_key(file.ident)
        self.live.add(key)
        hit = self.new.get(key) or self._old(key)
        if hit is not None:
            return _result_from_fields(hit[1]), hit[0]
        data = file.fetch()
        digest = hashlib.sha1(data).hexdigest()
        result = withhold_private(record_from(parse_record(data, file.where), file.where))
        # a copy: a private merge changes the result's scores in place
        value = [digest, _result_fields(result)]
        try:
            value = marshal.loads(marshal.dumps(value))
        except ValueError:  # a value marshal cannot hold: parsed again next time
            return result, digest
        self.new[key] = value
        self.dirty.add(self._bucket(key))
        return result, digest

    def summary(self, file: RecordFile, private: RecordFile | None) -> list | None:
        """[digest, plain summary] of a record (with its revealed private part) kept by
        an earlier build, or None."""
        key = f"{file.ident}\0{private.ident if private is not None else ''}"
        self.live.add(_result_key(file.ident))
        if private is not None:
            self.live.add(self._private_key(private, file))
        hit = self.old_summaries.get(key)
        if hit is not None:
            self.summaries[key] = hit
        return hit

    def tree(self, repo, oid) -> list:
        """[[stem, blob id], ...] of the .yml files of a git tree, kept by its id (a
        tree's listing never changes; looking ten thousand trees up costs ~0.3 s)."""
        key = str(oid)
        hit = self.old_trees.get(key)
        if hit is None:
            hit = [[f.name[:-4], str(f.id)] for f in repo[oid]
                   if f.type_str == "blob" and f.name.endswith(".yml")]
        self.trees[key] = hit
        return hit

    def put_summary(self, file: RecordFile, private: RecordFile | None, digest: str,
                    plain: dict) -> None:
        if _marshals(plain):  # else made again next time
            self.summaries[f"{file.ident}\0{private.ident if private is not None else ''}"] \
                = [digest, plain]

    def remade(self, key: str, digest: str, plain: dict) -> None:
        """A noted entry's summary made again (its part was damaged): kept by
        `save_records`, as the build ends."""
        if _marshals(plain):
            self._remade[key] = [digest, plain]

    def save(self, carried: bool = False) -> None:
        """Keep what reading the ledger parsed and summarized. `carried`: every
        challenge was made from the last build's note (site_generator.last_read), so
        what was kept stays (its summaries, and the tree listings the next build that
        reads a ledger whole wants), and only what this build added is written."""
        self.save_records()
        if self.folder is None:
            return
        now = {"summaries": self.summaries, "trees": self.trees,
               "listings": self.listings.used}
        try:
            if carried:
                self.kept.add(now)
                return
            if self.noted:  # a challenge made from the note, another read whole
                old = self.old_summaries
                now["summaries"] = {**{k: v for k in self.noted
                                       if (v := old.get(k)) is not None}, **self.summaries}
                now["trees"] = {**self.kept.whole("trees"), **self.trees}
                now["listings"] = {**self.kept.whole("listings"), **self.listings.used}
            self.kept.save(now)
            (self.folder / "summaries.marshal").unlink(missing_ok=True)  # before parts
        except (OSError, ValueError):
            pass  # a cache that cannot be written only makes the next build slower

    def save_records(self) -> None:
        """Keep the records parsed since the last save: after reading, and at the end
        of a build for those its pages read that were not kept."""
        if self.folder is None:
            return
        # a loaded bucket holding records no longer in the ledger is written without them
        # (a bucket never loaded keeps them until a build loads it; what is left in a
        # loaded one was not served)
        for b, old in self.buckets.items():
            if any(i not in self.live for i in old):
                self.dirty.add(b)
        self.buckets.clear()
        new: dict[int, dict[str, list]] = {}  # by bucket, hashed once each
        for i, v in self.new.items():
            new.setdefault(self._bucket(i), {})[i] = v
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for b in self.dirty:
                records = {i: v for i, v in self._read_bucket(b).items() if i in self.live}
                records.update(new.get(b, {}))
                kept.write(self.folder / f"{b:02d}.marshal",
                           {"version": self.VERSION, "records": records})
        except (OSError, ValueError):
            pass  # a cache that cannot be written only makes the next build slower
        self.dirty.clear()
        self.new.clear()
        if self._remade:
            try:
                self.kept.add({"summaries": self._remade})
            except (OSError, ValueError):
                pass
            self._remade = {}


def _marshals(value: Any) -> bool:
    """Whether the cache's files can hold `value` (a record holding what marshal cannot
    write is made again by the next build)."""
    try:
        marshal.dumps(value)
    except ValueError:
        return False
    return True


def _result_key(ident: str) -> str:
    """The RecordCache key of the public record `ident` as a Result."""
    return "result:" + ident


def _hash_bucket(key: str) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest()[:4], 16) % RecordCache.BUCKETS


def record_bucket(ident: str) -> int:
    """The RecordCache bucket of the public record `ident` (and of its private part)."""
    return _hash_bucket(_result_key(ident))


class _Parts:
    """Mappings of a few kinds kept between builds in PARTS files, a key in the part its
    hash names. A part is loaded when a key of it is first looked up (`old`, by kind):
    a rebuild made from the last build's note looks up a few of ten thousand
    summaries. `save` rewrites only the parts whose keys changed, and `add` those that
    gain one. Keys name content (blob and tree ids), so a key's value never changes."""

    PARTS = 32

    def __init__(self, folder: Path | None, version: int, kinds: tuple[str, ...]):
        self.folder, self.version, self.kinds = folder, version, kinds
        self._parts: list[dict[str, dict] | None] = [None] * self.PARTS
        self.old = {k: _PartsKind(self, k) for k in kinds}

    def _of(self, key: str) -> int:
        return zlib.crc32(key.encode()) % self.PARTS

    def _file(self, p: int) -> Path:
        assert self.folder is not None
        return self.folder / f"{p:02d}.marshal"

    def part(self, p: int) -> dict[str, dict]:
        """Part `p`, {kind: mapping}, read when first asked for."""
        got = self._parts[p]
        if got is None:
            data = kept.read(self._file(p), self.version) if self.folder else {}
            got = self._parts[p] = {k: kept.part(data, k) for k in self.kinds}
        return got

    def whole(self, kind: str) -> dict:
        """Every part's mapping of `kind`, merged."""
        out: dict = {}
        for p in range(self.PARTS):
            out.update(self.part(p)[kind])
        return out

    def present(self) -> bool:
        """Whether the parts' folder is there (a part lost or damaged since costs only
        the work it held)."""
        return self.folder is not None and self.folder.is_dir()

    def save(self, now: dict[str, dict]) -> None:
        """Keep `now` ({kind: mapping}): the parts gaining or losing a key are written."""
        if self.folder is None:
            return
        old = {k: self.whole(k) for k in self.kinds}
        added = {k: now[k].keys() - old[k].keys() for k in self.kinds}
        gone = {k: old[k].keys() - now[k].keys() for k in self.kinds}
        dirty = {self._of(key) for k in self.kinds for key in added[k] | gone[k]}
        for p in dirty:
            part = self.part(p)
            for k in self.kinds:
                held = {key: v for key, v in part[k].items() if key not in gone[k]}
                held.update((key, now[k][key]) for key in added[k] if self._of(key) == p)
                part[k] = held
        self._write(dirty)

    def add(self, new: dict[str, dict]) -> None:
        """Keep what was kept, and `new` ({kind: mapping}) besides: only the parts
        gaining a key are read and written."""
        if self.folder is None:
            return
        dirty = set()
        for k, mapping in new.items():
            for key, value in mapping.items():
                p = self._of(key)
                held = self.part(p)[k]
                if key not in held:
                    held[key] = value
                    dirty.add(p)
        self._write(dirty)

    def _write(self, dirty: set[int]) -> None:
        if not dirty:
            return
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        for p in dirty:
            kept.write(self._file(p), {"version": self.version, **self.part(p)})


class _PartsKind:
    """One kind of a _Parts, looked up as a mapping is (`get`)."""

    __slots__ = ("parts", "kind")

    def __init__(self, parts: _Parts, kind: str):
        self.parts, self.kind = parts, kind

    def get(self, key: str, default: Any = None) -> Any:
        parts = self.parts
        return parts.part(parts._of(key))[self.kind].get(key, default)


class _Listings:
    """Tree listings kept between builds: what a build looks up is kept for the next."""

    def __init__(self, old: dict):
        self.old = old
        self.used: dict[str, Any] = {}

    def get(self, key: str):
        hit = self.old.get(key)
        if hit is not None:
            self.used[key] = hit
        return hit

    def __setitem__(self, key: str, value) -> None:
        self.used[key] = value


# ------------------------------------------------------------------------------- reading
def read_repository(path: str | Path) -> Repository:
    """The repository's challenges: their kits and what the ledger says of each but its
    records (state, acts, blend, and the git tree of its ledger folder), which
    `read_records` reads."""
    repo = Path(path).resolve()
    if not repo.is_dir():
        raise SiteInputError(f"{repo}: no such folder; pass --repo with a challenge "
                             f"repository (a hub with kits/*/{SPEC_FILE} or a kit)")
    kits = kit_dirs(repo)
    if not kits:
        raise SiteInputError(f"{repo}: no kit found (looked for {SPEC_FILE} and "
                             f"kits/*/{SPEC_FILE}); pass --repo with a challenge repository")
    source = open_ledger(repo)
    challenges = [read_challenge(repo, k, source) for k in kits]
    return Repository(repo, challenges, [],
                      _ledger_folders(source, [c.name for c in challenges]), source)


def read_records(repo: Repository, cache: RecordCache | None = None,
                 progress: Progress | None = None, last: LastRead | None = None) -> None:
    """The records of each challenge of `repo`, those left out told in `repo.skipped`.
    `progress(what, done, None)` is told each record parsed (a first build parses every
    one; later builds only the new ones). `last`: what the last build read, so that
    only the records added since are read when nothing else changed (see last_read);
    what this build read is kept in it for the next."""
    cache = cache or RecordCache(None)
    noted = whole = False
    for ch in repo.challenges:
        before = len(repo.skipped)
        ch.ledger_tree = (repo.ledger_folders or {}).get(ch.name) or ""
        read = _read_since(repo, ch, cache, last, progress) if last is not None else None
        noted |= read is not None
        whole |= read is None
        if read is None:
            ch.since = None
            ch.entries = read_ledger(repo.source, ch.name, ch.state, cache, repo.skipped,
                                     moderation.Moderation(ch.moderation), progress)
        else:
            ch.entries, ch.since = read
        if last is not None:
            last.keep(ch.name, _note(ch, repo.skipped[before:]))
    cache.save(carried=noted and not whole)
    if last is not None:
        last.save()


def _read_since(repo: Repository, ch: Challenge, cache: RecordCache, last: LastRead,
                progress: Progress | None) -> tuple[list[Entry], Since] | None:
    """The challenge's entries made from the last build's note and the records added
    since (read as read_ledger reads them), with those added; or None when the ledger
    must be read whole: no note, another visibility, or the folder changed otherwise
    than by new records."""
    source, note, tree = repo.source, last.get(ch.name), ch.ledger_tree
    if note is None or not tree or not isinstance(source, Ledger) \
            or note.get("revealed") != ch.state.revealed or not note.get("tree"):
        return None
    added = source.records_added(ch.name, note["tree"], tree) \
        if note["tree"] != tree else Additions([], {})
    if added is None:
        return None
    new = {(f.name, f.stem) for f in added.records}
    if ch.state.revealed and any(k not in new for k in added.private):
        return None  # an older record's private part came: it reads otherwise now
    old = _noted_entries(ch.name, note["rows"], cache, source.repo)
    if old is None:
        return None
    skipped = list(note.get("skipped") or [])
    if note["tree"] == tree:
        fresh: list[Entry] = []
    else:
        def private_file(name: str, stem: str):
            if not ch.state.revealed:
                return None
            return added.private.get((name, stem)) or source.private_file(ch.name, name, stem)
        fresh = _entries(ch.name, added.records, private_file, cache, skipped,
                         moderation.Moderation(ch.moderation), progress)
        _checks_and_choices(source, ch.name, ch.state, fresh)
    repo.skipped.extend(skipped)
    entries = list(old)
    for e in fresh:  # as sorting old + fresh would place them (old is in this order)
        bisect.insort(entries, e, key=_ledger_order)
    return entries, Since(note["tree"], fresh, old)


_DERIVED_OF = attrgetter(*Entry.DERIVED)
# an entry's credit (as _credit gives it) and inherited share (as _summarize does)
_NOTED_NUMBER = (float, type(None))
# where Entry.derived gives what a note's row is checked for
(_NOTED_CREDIT_AT, _NOTED_RANKED_AT, _NOTED_PAGE_AT, _NOTED_STAGE_AT, _NOTED_REASON_AT,
 _NOTED_PARENT_TEAM_AT, _NOTED_SHARE_AT) = map(
    Entry.DERIVED.index, ("credit", "ranked_as", "page", "stage", "reason", "parent_team",
                          "inherited_share"))
_NOTED_TEXT = (str, type(None))  # a failure's stage and reason, a parent's team


def _noted_entries(challenge: str, rows: list, cache: RecordCache, git) -> list[Entry] | None:
    """The entries of the last build's note, in its order, each reading its summary
    from the record cache when first asked (a rebuild asks for few); None when the
    cache's summaries were cleared or a row does not read."""
    if not cache.kept.present():
        return None
    noted, live = cache.noted, cache.live
    out = []
    try:
        for row in rows:  # as last_read.ROW names its fields
            name, stem, digest, oid, _, _, private_oid, checks, chosen, derived = row
            ident = f"blob:{oid}"
            pident = f"blob:{private_oid}" if private_oid else ""
            key = f"{ident}\0{pident}"
            credit, ranked_as, page = (derived[_NOTED_CREDIT_AT], derived[_NOTED_RANKED_AT],
                                       derived[_NOTED_PAGE_AT])
            # a page is a file of the site's s/ folder: a damaged note never writes
            # elsewhere (the cache is the build's own, but it lives beside the repository)
            if (type(page) is not str or not page.startswith(SUBMISSION_PAGES_PREFIX)
                    or "/" in page[len(SUBMISSION_PAGES_PREFIX):]):
                return None
            # lineage sums the credits and ranking compares the names: a row whose
            # credit is no number or whose ranking name is no (name, version) is not used
            if type(credit) not in _NOTED_NUMBER or not (ranked_as is None or (
                    type(ranked_as) is list and len(ranked_as) == 2
                    and all(type(x) is str for x in ranked_as))):
                return None
            if (type(derived[_NOTED_STAGE_AT]) not in _NOTED_TEXT
                    or type(derived[_NOTED_REASON_AT]) not in _NOTED_TEXT
                    or type(derived[_NOTED_PARENT_TEAM_AT]) not in _NOTED_TEXT):
                return None  # shown on the failures' rows and the lineage page as text
            if type(derived[_NOTED_SHARE_AT]) not in _NOTED_NUMBER:
                return None  # a number or nothing, as _summarize gives it
            noted.append(key)
            live.add(_result_key(ident))
            if pident:
                live.add(f"{pident}\0{ident}")
            load = partial(_noted_result, cache, git, challenge, row)
            out.append(Entry.restore(challenge, name, stem, digest, checks, chosen,
                                     partial(_noted_summary, cache, key, load), load,
                                     ident, derived))
    except (TypeError, KeyError, ValueError):
        return None
    return out


def _noted_summary(cache: RecordCache, key: str, load) -> Summary:
    """A noted entry's summary: kept in the record cache, or made again from its full
    record when a damaged part lost it."""
    hit = cache.old_summaries.get(key)
    if type(hit) is list and len(hit) == 2 and type(hit[1]) is dict:
        return Summary(hit[1])
    full, digest = load()
    plain = Summary.plain(full)
    cache.remade(key, digest, plain)
    return Summary(plain)


def _noted_result(cache: RecordCache, git, challenge: str, row: list) -> tuple[Result, str]:
    """The full record of a noted entry (see _full_result)."""
    name, stem, _, oid, folder, file, private_oid = row[:7]
    public = CommittedRecord(git, name, stem, oid, folder, file)
    private = (CommittedRecord.of_submission(git, private_folder(challenge), name, stem,
                                             private_oid) if private_oid else None)
    return _full_result(cache, public, private)


def _note(ch: Challenge, skipped: list[str]) -> dict | None:
    """What the next build reads of this one's reading of `ch` (see last_read), or None
    when it cannot be noted: a folder ledger, or an annulled entry (whose summary is no
    record's)."""
    if not ch.ledger_tree:
        return None
    rows = []
    for e in ch.entries:
        load = e._load  # where the entry's full record is read from (see _entries)
        if not isinstance(load, partial):
            return None
        if load.func is _noted_result:
            rows.append(load.args[3])
            continue
        if load.func is not _full_result:
            return None
        _, public, private = load.args
        if not isinstance(public, CommittedRecord) or not (
                private is None or isinstance(private, CommittedRecord)):
            return None
        # in last_read.ROW's order
        rows.append([e.name, e.stem, e.digest, str(public.oid), public.folder, public.file,
                     str(private.oid) if private is not None else "", e.verifications,
                     e.chosen, e.derived()])
    return {"tree": ch.ledger_tree, "revealed": ch.state.revealed, "rows": rows,
            "skipped": skipped}


def _ledger_order(e: Entry) -> tuple[str, str, str]:
    return (e.submitted_at, e.name, e.stem)


def _ledger_folders(source: Ledger | FolderLedger, names: list[str]) -> dict[str, str] | None:
    if not isinstance(source, Ledger):
        return None
    head = source.head()
    out = {}
    for name in names:
        tree = gitrepo.subtree(source.repo, head.tree, f"{LEDGER_ROOT}/{name}") if head else None
        out[name] = str(tree.id) if tree is not None else ""
    return out


def read_challenge(repo: Path, kit_path: Path, source: Ledger | FolderLedger) -> Challenge:
    """A challenge's kit and what its ledger says but its records (`read_ledger`)."""
    kit = load_kit(kit_path)
    readme = kit_path / "README.md"
    return Challenge(
        name=kit.name,
        title=kit.title,
        description=str(kit.raw.get("description") or ""),
        kit=kit,
        kit_dir=kit_path.relative_to(repo).as_posix() if kit_path != repo else "",
        readme=readme.read_text(encoding="utf-8", errors="replace") if readme.is_file() else "",
        scores=score_columns(kit),
        phases=kit.phases,
        state=source.state(kit.name),
        moderation=moderation.read(source, kit.name).acts,
        blend=read_blend(source, kit.name),
    )


def read_blend(source: Ledger | FolderLedger, challenge: str) -> dict:
    """The public blend summary `gitramp blend` records beside the challenge's records
    ({} when none, or when it does not read): the blended validation score, the best
    single one, and each version's contributivity."""
    path = blend_path(challenge)
    try:
        if isinstance(source, Ledger):
            data = source.read(path)
        else:
            f = source.root / path
            data = parse_record(f.read_bytes(), str(f)) if f.is_file() else None
    except (LedgerError, OSError):
        return {}
    return data if isinstance(data, dict) else {}


def score_columns(kit: Kit) -> list[ScoreColumn]:
    """The kit's scores, ranking score first; the scorer settles each one's direction."""
    return [ScoreColumn(b.name, b.precision, b.lower_is_better) for b in bind_scores(kit)]


def read_ledger(source: Ledger | FolderLedger, challenge: str, state: Visibility,
                cache: RecordCache, skipped: list[str] | None = None,
                acts: moderation.Moderation | None = None,
                progress: Progress | None = None) -> list[Entry]:
    """Every public record of the challenge, oldest first; an annulled one marked by
    its act (`acts`, read here when not given).

    Private records are looked at only when the state says they are revealed. A record
    that does not read (or whose revealed private part does not) is left out and told
    in `skipped` as "<file>: <why>": one bad file never stops the site."""
    if acts is None:
        acts = moderation.read(source, challenge)
    private_file = _private_files(source, challenge, cache) if state.revealed else None
    files = (source.record_files(challenge, cache.listings) if isinstance(source, Ledger)
             else source.record_files(challenge))
    entries = _entries(challenge, files, private_file, cache, skipped, acts, progress)
    _checks_and_choices(source, challenge, state, entries)
    entries.sort(key=_ledger_order)
    return entries


def _entries(challenge: str, files, private_file, cache: RecordCache,
             skipped: list[str] | None, acts: moderation.Moderation,
             progress: Progress | None) -> list[Entry]:
    """An entry for each record file that reads (see read_ledger), in the files' order;
    `private_file(name, stem)` gives a record's revealed private part (None: no reveal)."""
    entries = []
    parsed = 0
    for file in files:
        try:
            private = private_file(file.name, file.stem) if private_file is not None else None
            load = partial(_full_result, cache, file, private)  # when a page needs it
            hit = cache.summary(file, private)
            if hit is not None:
                digest, summary, result = hit[0], Summary(hit[1]), None
            else:
                full, digest = load()
                if progress is not None:
                    parsed += 1
                    progress(f"reading {challenge}'s ledger", parsed, None)
                plain = Summary.plain(full)
                cache.put_summary(file, private, digest, plain)
                summary = Summary(plain)
                # not held: read again from the cache when a page needs it (a first
                # build held every record twice, parsed and kept, until its pages)
                result = full if cache.folder is None else None
        except (LedgerError, TypeError, ValueError, AttributeError) as e:
            if skipped is not None:
                skipped.append(str(e) if file.where in str(e) else f"{file.where}: {e}")
            continue
        act = acts.annulment(file.name, file.stem) if summary.status == SCORED else None
        if act is not None:  # marked, and on no board (challenge.ranking)
            full = result if result is not None else load()[0]
            result, digest = moderation.annulled(full, act), digest + act.path
            summary = result
        # an annulled record is not what `load` gives: it is never dropped
        entries.append(Entry(challenge, file.name, file.stem, result, digest,
                             summary=summary, load=load if act is None else None,
                             kept_ident=file.ident))
    return entries


def _checks_and_choices(source: Ledger | FolderLedger, challenge: str, state: Visibility,
                        entries: list[Entry]) -> None:
    """Each entry's verifications and final selection, in its digest too."""
    checks = read_verifications(source, challenge)
    chosen = selection.read_summary(source, challenge) if state.revealed else {}
    for e in entries if checks or chosen else ():  # most ledgers have neither
        e.verifications = checks.get((e.name, e.stem), [])
        e.chosen = chosen.get((e.name, e.stem), "")
        e.digest += e.chosen
        e.digest += "".join(v["_ident"] for v in e.verifications)


def _full_result(cache: RecordCache, file: RecordFile, private: RecordFile | None
                 ) -> tuple[Result, str]:
    """The public record as a Result, with the revealed private part's test scores when
    there is one, and the digest of what it was read from."""
    result, digest = cache.result(file)
    if private is not None:
        praw, pdigest = cache.private(private, file)
        digest += pdigest
        _merge_private(result, praw if isinstance(praw, dict) else {})
    return result, digest


def _private_files(source: Ledger | FolderLedger, challenge: str, cache: RecordCache):
    """A function (name, stem) -> the revealed private RecordFile or None. On a git
    ledger the private folder of the head's tree is walked once (looking each record's
    path up in the tree costs milliseconds a record on a big ledger), each submission's
    folder listed from `cache` when an earlier build listed it."""
    if not isinstance(source, Ledger):
        return lambda name, stem: source.private_file(challenge, name, stem)
    head = source.head()
    if head is None:
        return lambda name, stem: None
    repo = source.repo
    folder = private_folder(challenge)
    index: dict[tuple[str, str], str] = {}
    try:
        top = head.tree[folder]
    except KeyError:
        top = None
    if top is not None and top.type_str == "tree":
        for sub in repo[top.id]:
            if sub.type_str != "tree":
                continue
            for stem, oid in cache.tree(repo, sub.id):
                index[(sub.name, stem)] = oid

    def find(name: str, stem: str) -> CommittedRecord | None:
        oid = index.get((name, stem))
        return (CommittedRecord.of_submission(repo, folder, name, stem, oid)
                if oid is not None else None)
    return find


def _merge_private(result: Result, private: dict) -> None:
    """Put a revealed private record's test scores into `result` (a fresh object of this
    build, so in place); its log tail stays private."""
    for fold, pf in zip(result.folds, private.get("folds") or [], strict=False):
        if isinstance(pf, dict) and isinstance(pf.get("scores"), dict):
            fold.scores.update(pf["scores"])
    if isinstance(private.get("bagged"), dict):
        result.bagged.update(private["bagged"])


_RESULT_FIELDS = [f.name for f in fields(Result)]


def _result_fields(result: Result) -> dict:
    out = {n: getattr(result, n) for n in _RESULT_FIELDS}
    out["folds"] = [(f.scores, f.fit_time, f.predict_time) for f in result.folds]
    return out


def _result_from_fields(d: dict) -> Result:
    """A Result from `_result_fields` (checked when cached): copies of the mutable
    parts, since a private merge changes them in place."""
    kw = dict(d)
    kw["folds"] = [FoldScores({k: dict(v) for k, v in s.items()}, ft, pt)
                   for s, ft, pt in d["folds"]]
    kw["bagged"] = {k: dict(v) for k, v in d["bagged"].items()}
    return Result(**kw)


def read_verifications(source: Ledger | FolderLedger, challenge: str
                       ) -> dict[tuple[str, str], list[dict]]:
    """{(name, record stem): [verification, ...]}, oldest first; one that does not read
    is left out (a verification never hides a record)."""
    out: dict[tuple[str, str], list[dict]] = {}
    for f in getattr(source, "verification_files", lambda _c: [])(challenge):
        try:
            raw = parse_record(f.fetch(), f.where)
        except (LedgerError, OSError):
            continue
        if isinstance(raw, dict) and isinstance(raw.get("verdict"), str):
            out.setdefault((f.name, f.stem), []).append({**raw, "_ident": f.ident})
    for items in out.values():
        items.sort(key=lambda d: str(d.get("when", "")))
    return out


def withhold_private(result: Result) -> Result:
    """Drop what a public record should not hold, whatever wrote it: test-set scores,
    and the log of a run (on hidden data, it may print hidden rows)."""
    result.log_tail = ""
    for fold in result.folds:
        for split in PRIVATE_SPLITS:
            fold.scores.pop(split, None)
    for split in PRIVATE_SPLITS:
        result.bagged.pop(split, None)
    return result


# ------------------------------------------------------------------------------ helpers
SUBMISSION_PAGES = "s"  # the folder of a challenge's folder that holds its submission pages
SUBMISSION_PAGES_PREFIX = f"{SUBMISSION_PAGES}/"


def submission_page(name: str, stem: str) -> str:
    """The page of the version of submission `name` whose ledger file is `<stem>.yml`,
    relative to the challenge's folder; PR comments link to it too."""
    # "~" never occurs in a slug
    return f"{SUBMISSION_PAGES_PREFIX}{slug(name)}~{slug(stem)}.html"


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def slug(name: str) -> str:
    """A file name for `name`: itself when already safe, else a cleaned form plus a hash."""
    if name and not _SAFE.search(name) and not name.startswith("."):
        return name
    cleaned = _SAFE.sub("_", name).lstrip(".")[:40] or "x"
    return f"{cleaned}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
