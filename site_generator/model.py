"""Reads a repository into plain data for the site: kits, visibility state, ledger records.

Visibility is settled here and nowhere else. A record's private (test) scores are
dropped unless the challenge's `state.yml` says the private leaderboard is revealed,
and then they come only from the revealed copies under `private/`. Submission code is
read only when `state.yml` says code is visible. Templates and plots receive what this
module hands out, so they cannot show what it withheld.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
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
    """Parsed ledger files kept between builds, keyed by path, size and mtime.

    YAML parsing dominates reading a big ledger; a rebuild after one new result should
    not parse the other ten thousand again. The cache lives outside the site (in the
    repository's .git folder), and holds only what the files it mirrors hold.
    """

    VERSION = 1

    def __init__(self, file: Path | None):
        self.file = file
        self.old: dict[str, list] = {}
        self.new: dict[str, list] = {}
        self.changed = False
        if file is not None and file.is_file():
            try:
                data = json.loads(file.read_text())
                if data.get("version") == self.VERSION:
                    self.old = data["records"]
            except (ValueError, KeyError, AttributeError):
                pass  # a damaged cache only costs parsing again

    def load(self, file: Path) -> tuple[Any, str]:
        """The parsed content of `file` and the hash of its bytes."""
        st = file.stat()
        key = str(file)
        hit = self.old.get(key)
        if hit is not None and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            self.new[key] = hit
            return hit[3], hit[2]
        data = file.read_bytes()
        digest = hashlib.sha1(data).hexdigest()
        try:
            parsed = yaml.load(data, Loader=_Loader)
        except yaml.YAMLError as e:
            raise SiteInputError(f"{file}: not valid YAML ({e}); the ledger is written by "
                                 f"runners only, restore this file from git history") from None
        self.new[key] = [st.st_size, st.st_mtime_ns, digest, parsed]
        self.changed = True
        return parsed, digest

    def save(self) -> None:
        if self.file is None or not (self.changed or set(self.old) != set(self.new)):
            return
        tmp = self.file.with_name(self.file.name + ".tmp")
        try:
            tmp.write_text(json.dumps({"version": self.VERSION, "records": self.new},
                                      separators=(",", ":"), default=str))
            os.replace(tmp, self.file)
        except (OSError, TypeError, ValueError):
            tmp.unlink(missing_ok=True)  # a cache that cannot be written is only slower


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
    out = Repository(repo, [read_challenge(repo, k, cache) for k in kits])
    cache.save()
    return out


def read_challenge(repo: Path, kit_path: Path, cache: RecordCache | None = None) -> Challenge:
    kit = load_kit(kit_path)
    ledger = repo / LEDGER_DIR / kit.name
    state = read_state(ledger / STATE_FILE)
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
        entries=read_ledger(ledger, kit.name, state, cache or RecordCache(None)),
    )


def score_columns(kit: Kit) -> list[ScoreColumn]:
    from scorer.score_types import bind_scores  # the scorer settles each score's direction

    return [ScoreColumn(b.name, b.precision, b.lower_is_better) for b in bind_scores(kit)]


def read_state(path: Path) -> State:
    if not path.is_file():
        return State()
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    except yaml.YAMLError as e:
        raise SiteInputError(f"{path}: not valid YAML ({e}); fix or remove it") from None
    if not isinstance(raw, dict):
        raise SiteInputError(f"{path}: expected a mapping {{code_visible, revealed, ...}}")
    return State(code_visible=raw.get("code_visible") is True,
                 opened_at=_iso(raw.get("opened_at")) or None,
                 revealed=raw.get("revealed") is True,
                 revealed_at=_iso(raw.get("revealed_at")) or None)


def read_ledger(ledger: Path, challenge: str, state: State,
                cache: RecordCache | None = None) -> list[Entry]:
    """Every record of `leaderboard_data/<challenge>/<name>/<key>.yml`, in a stable order."""
    if not ledger.is_dir():
        return []
    entries = []
    for sub in sorted(ledger.iterdir()):
        if not sub.is_dir() or sub.name == PRIVATE_DIR:
            continue
        for file in sorted(sub.glob("*.yml")):
            entries.append(read_entry(file, ledger, challenge, state,
                                      cache or RecordCache(None)))
    entries.sort(key=lambda e: (e.submitted_at, e.name, e.key))
    return entries


def read_entry(file: Path, ledger: Path, challenge: str, state: State,
               cache: RecordCache) -> Entry:
    raw, digest = cache.load(file)
    try:
        result = Result.from_dict(raw)
    except (ResultFormatError, TypeError, KeyError) as e:
        raise SiteInputError(f"{file}: not a ledger record ({e}); the ledger is written by "
                             f"runners only, restore this file from git history") from None
    result = withhold_private(result)
    if state.revealed:
        private = ledger / PRIVATE_DIR / file.parent.name / file.name
        if private.is_file():
            praw, pdigest = cache.load(private)
            digest += pdigest
            result = result.merge_private(praw or {})
    return Entry(challenge, file.parent.name, file.stem, result, digest)


def withhold_private(result: Result) -> Result:
    """Drop test-set scores a public record should not hold, whatever wrote it."""
    for fold in result.folds:
        for split in PRIVATE_SPLITS:
            fold.scores.pop(split, None)
    for split in PRIVATE_SPLITS:
        result.bagged.pop(split, None)
    return result


# ------------------------------------------------------------------------------ helpers
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
