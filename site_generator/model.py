"""Reads a repository into plain data for the site: kits, visibility state, ledger records.

Visibility is settled here and nowhere else. A record's private (test) scores are
dropped unless the challenge's `state.yml` says the private leaderboard is revealed,
and then they come only from the revealed copies under `private/`. Submission code is
read only when `state.yml` says code is visible. Templates and plots receive what this
module hands out, so they cannot show what it withheld.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from challenge.errors import GitrampError
from challenge.kit import SPEC_FILE, Kit, Phase, load_kit
from scorer.result import PRIVATE_SPLITS, SCORED, Result, ResultFormatError

LEDGER_DIR = "leaderboard_data"
STATE_FILE = "state.yml"
PRIVATE_DIR = "private"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster on big ledgers


class SiteInputError(GitrampError):
    """The repository cannot be turned into a site as it is."""


@dataclass(frozen=True)
class State:
    """`leaderboard_data/<challenge>/state.yml`; an absent file means closed and unrevealed."""

    code_visible: bool = False
    opened_at: str | None = None
    revealed: bool = False
    revealed_at: str | None = None


@dataclass(frozen=True)
class ScoreColumn:
    name: str
    precision: int = 3
    lower_is_better: bool = False

    @property
    def direction(self) -> str:
        return "lower is better" if self.lower_is_better else "higher is better"


@dataclass
class Entry:
    """One scored (or failed) submission version, as the site may show it."""

    challenge: str
    name: str
    key: str  # the ledger file's stem: <tree[:16]>-<scoring_hash[:8]>
    result: Result
    digest: str  # hash of the record files it was read from (incremental builds)

    @property
    def team(self) -> str:
        return self.result.team or "unknown"

    @property
    def ref(self) -> str:
        """How lineage names this version: `<name>@<tree16>`."""
        return f"{self.name}@{self.key.split('-')[0]}"

    @property
    def submitted_at(self) -> str:
        return _iso(self.result.submitted_at or self.result.scored_at or "")

    @property
    def scored(self) -> bool:
        return self.result.status == SCORED

    @property
    def parent_ref(self) -> str | None:
        parent = (self.result.lineage or {}).get("parent")
        return str(parent) if parent else None


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
    state: State
    entries: list[Entry] = field(default_factory=list)

    @property
    def ranking(self) -> ScoreColumn | None:
        return self.scores[0] if self.scores else None


@dataclass
class Repository:
    path: Path
    challenges: list[Challenge]


# ------------------------------------------------------------------------------ reading
def find_kits(repo: Path) -> list[Path]:
    """Kits of a hub (`kits/*/challenge.yml`) or of a standalone kit (`challenge.yml`)."""
    if (repo / SPEC_FILE).is_file():
        return [repo]
    return sorted(p.parent for p in (repo / "kits").glob(f"*/{SPEC_FILE}"))


class RecordCache:
    """Parsed ledger records kept between builds, keyed by content (a git blob id, or a
    file's path, size and mtime).

    YAML parsing dominates reading a big ledger; a rebuild after one new result should
    not parse the other ten thousand again. The cache lives outside the site (in the
    repository's .git folder), and holds only what the records it mirrors hold.
    """

    VERSION = 4
    BUCKETS = 16  # files by the ident's hash: a new record rewrites one sixteenth

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.old: dict[str, list] = {}
        self.new: dict[str, list] = {}
        self.dirty: set[int] = set()
        if folder is None or not folder.is_dir():
            return
        for b in range(self.BUCKETS):
            # marshal: several times faster than JSON; loading runs no code
            try:
                data = marshal.loads((folder / f"{b:02d}.marshal").read_bytes())
                if isinstance(data, dict) and data.get("version") == self.VERSION:
                    self.old.update(data["records"])
            except (OSError, ValueError, EOFError, TypeError, KeyError):
                pass  # a missing or damaged bucket only costs parsing again

    def _bucket(self, ident: str) -> int:
        return int(hashlib.sha1(ident.encode()).hexdigest()[:4], 16) % self.BUCKETS

    def load(self, ref: RecordRef) -> tuple[Any, str]:
        """The parsed record and a digest of its bytes."""
        hit = self.old.get(ref.ident)
        if hit is not None:
            self.new[ref.ident] = hit
            return hit[1], hit[0]
        data = ref.fetch()
        digest = hashlib.sha1(data).hexdigest()
        try:
            parsed = yaml.load(data, Loader=_Loader)
        except yaml.YAMLError as e:
            raise SiteInputError(f"{ref.where}: not valid YAML ({e}); the ledger is written "
                                 f"by runners only, restore this file from git history") from None
        parsed = _plain(parsed)
        self.new[ref.ident] = [digest, parsed]
        self.dirty.add(self._bucket(ref.ident))
        return parsed, digest

    def save(self) -> None:
        if self.folder is None:
            return
        self.dirty.update(self._bucket(i) for i in set(self.old) - set(self.new))
        if not self.dirty:
            return
        buckets: dict[int, dict[str, list]] = {b: {} for b in self.dirty}
        for ident, value in self.new.items():
            b = self._bucket(ident)
            if b in buckets:
                buckets[b][ident] = value
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for b, records in buckets.items():
                target = self.folder / f"{b:02d}.marshal"
                tmp = target.with_name(target.name + ".tmp")
                tmp.write_bytes(marshal.dumps({"version": self.VERSION, "records": records}))
                os.replace(tmp, target)
        except (OSError, ValueError):
            pass  # a cache that cannot be written only makes the next build slower


# ------------------------------------------------------------------------ ledger sources
@dataclass(frozen=True)
class RecordRef:
    name: str  # the submission folder
    key: str  # the file's stem
    ident: str  # changes whenever the content does
    where: str  # for error messages
    fetch: Callable[[], bytes]


class GitLedger:
    """The committed ledger (the default branch's tree), read through `challenge.ledger`.

    Runners commit results without a work tree, so the branch, not the checkout, is
    the ledger's truth."""

    def __init__(self, ledger: Any):
        self.ledger = ledger
        self.repo = ledger.repo
        self.tree = ledger.head().tree

    def state(self, challenge: str) -> State:
        from challenge.ledger import state_path

        raw = self.ledger.read(state_path(challenge))
        return _state(raw, f"{LEDGER_DIR}/{challenge}/{STATE_FILE}")

    def records(self, challenge: str) -> list[RecordRef]:
        out = []
        for path, oid in self.ledger.entries(challenge).items():
            _, _, name, file = path.split("/")
            out.append(self._ref(name, file[:-4], path, oid))
        return out

    def private(self, challenge: str, name: str, key: str) -> RecordRef | None:
        path = f"{LEDGER_DIR}/{challenge}/{PRIVATE_DIR}/{name}/{key}.yml"
        try:
            entry = self.tree[path]
        except KeyError:
            return None
        return self._ref(name, key, path, entry.id)

    def _ref(self, name: str, key: str, path: str, oid: Any) -> RecordRef:
        repo = self.repo
        return RecordRef(name, key, f"blob:{oid}", f"{path} (committed)",
                         lambda: repo[oid].data)


class FileLedger:
    """The ledger as files of a folder: for a repository with no committed ledger."""

    def __init__(self, root: Path):
        self.root = root / LEDGER_DIR

    def state(self, challenge: str) -> State:
        path = self.root / challenge / STATE_FILE
        if not path.is_file():
            return State()
        try:
            raw = yaml.load(path.read_bytes(), Loader=_Loader)
        except yaml.YAMLError as e:
            raise SiteInputError(f"{path}: not valid YAML ({e}); fix or remove it") from None
        return _state(raw, str(path))

    def records(self, challenge: str) -> list[RecordRef]:
        ledger = self.root / challenge
        if not ledger.is_dir():
            return []
        return [self._ref(f) for sub in sorted(ledger.iterdir())
                if sub.is_dir() and sub.name != PRIVATE_DIR for f in sorted(sub.glob("*.yml"))]

    def private(self, challenge: str, name: str, key: str) -> RecordRef | None:
        f = self.root / challenge / PRIVATE_DIR / name / f"{key}.yml"
        return self._ref(f) if f.is_file() else None

    @staticmethod
    def _ref(f: Path) -> RecordRef:
        st = f.stat()
        return RecordRef(f.parent.name, f.stem, f"file:{f}:{st.st_size}:{st.st_mtime_ns}",
                         str(f), f.read_bytes)


def open_ledger(repo: Path) -> GitLedger | FileLedger:
    """The committed ledger when the repository has one, else the files on disk."""
    try:
        from challenge.ledger import Ledger

        ledger = Ledger(repo)
        head = ledger.head()
    except (GitrampError, ImportError, KeyError, ValueError):
        return FileLedger(repo)
    if head is None or LEDGER_DIR not in head.tree:
        return FileLedger(repo)
    return GitLedger(ledger)


def _state(raw: Any, where: str) -> State:
    if raw is None:
        return State()
    if not isinstance(raw, dict):
        raise SiteInputError(f"{where}: expected a mapping {{code_visible, revealed, ...}}")
    return State(code_visible=raw.get("code_visible") is True,
                 opened_at=_iso(raw.get("opened_at")) or None,
                 revealed=raw.get("revealed") is True,
                 revealed_at=_iso(raw.get("revealed_at")) or None)


# ------------------------------------------------------------------------------- reading
def read_repository(path: str | Path, cache: RecordCache | None = None) -> Repository:
    repo = Path(path).resolve()
    if not repo.is_dir():
        raise SiteInputError(f"{repo}: no such folder; pass --repo with a challenge "
                             f"repository (a hub with kits/*/{SPEC_FILE} or a kit)")
    kits = find_kits(repo)
    if not kits:
        raise SiteInputError(f"{repo}: no kit found (looked for {SPEC_FILE} and "
                             f"kits/*/{SPEC_FILE}); pass --repo with a challenge repository")
    cache = cache or RecordCache(None)
    source = open_ledger(repo)
    out = Repository(repo, [read_challenge(repo, k, source, cache) for k in kits])
    cache.save()
    return out


def read_challenge(repo: Path, kit_path: Path, source: GitLedger | FileLedger,
                   cache: RecordCache) -> Challenge:
    kit = load_kit(kit_path)
    state = source.state(kit.name)
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
        state=state,
        entries=read_ledger(source, kit.name, state, cache),
    )


def score_columns(kit: Kit) -> list[ScoreColumn]:
    from scorer.score_types import bind_scores  # the scorer settles each score's direction

    return [ScoreColumn(b.name, b.precision, b.lower_is_better) for b in bind_scores(kit)]


def read_ledger(source: GitLedger | FileLedger, challenge: str, state: State,
                cache: RecordCache) -> list[Entry]:
    """Every record of `leaderboard_data/<challenge>/<name>/<key>.yml`, oldest first.

    Private records are looked at only when the state says they are revealed."""
    entries = []
    for ref in source.records(challenge):
        raw, digest = cache.load(ref)
        try:
            result = Result.from_dict(raw)
        except (ResultFormatError, TypeError, KeyError) as e:
            raise SiteInputError(f"{ref.where}: not a ledger record ({e}); the ledger is "
                                 f"written by runners only, restore this file from git "
                                 f"history") from None
        result = withhold_private(result)
        if state.revealed:
            private = source.private(challenge, ref.name, ref.key)
            if private is not None:
                praw, pdigest = cache.load(private)
                digest += pdigest
                result = result.merge_private(praw or {})
        entries.append(Entry(challenge, ref.name, ref.key, result, digest))
    entries.sort(key=lambda e: (e.submitted_at, e.name, e.key))
    return entries


def withhold_private(result: Result) -> Result:
    """Drop test-set scores a public record should not hold, whatever wrote it."""
    for fold in result.folds:
        for split in PRIVATE_SPLITS:
            fold.scores.pop(split, None)
    for split in PRIVATE_SPLITS:
        result.bagged.pop(split, None)
    return result


# ------------------------------------------------------------------------------ helpers
def _plain(value: Any) -> Any:
    """YAML values as plain ones (an unquoted timestamp becomes its ISO text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return _iso(value)


def _iso(value: Any) -> str:
    """YAML may hand back a datetime for an unquoted timestamp; the site wants text."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text.replace("+00:00", "Z")
    return str(value)


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def slug(name: str) -> str:
    """A file name for `name`: itself when already safe, else a cleaned form plus a hash."""
    if name and not _SAFE.search(name) and not name.startswith("."):
        return name
    cleaned = _SAFE.sub("_", name).lstrip(".")[:40] or "x"
    return f"{cleaned}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
