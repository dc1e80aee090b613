"""The result of scoring one submission version: plain data, YAML in and out.

A `Result` holds everything the scorer measured (statuses, per-fold scores and
times, bagged scores) plus the metadata the ledger adds (who, which commit,
where it ran). What was computed on hidden data row by row, or printed by a run on
it, is *private*: `public_dict()` drops the test-set scores and the log tail, and
`private_dict()` keeps only them (with the record's identity), so the public ledger
and the private ledger are two projections of one object.

Texts a submission may have written (the reason quoting its message or file names,
the log tail) are cleaned and bounded by `scorer.untrusted.clean_text` whenever a
result is serialised or loaded, and a stage is a short identifier or nothing, so no
record can hold text its YAML loader refuses or a renderer misreads.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import yaml

from scorer.untrusted import (
    LOG_CHARS,
    NAME_CHARS,
    REASON_CHARS,
    clean_identifier,
    clean_text,
)

SCHEMA_VERSION = 2
# Schemas this gitramp reads: 1 (before records held their provenance) and the current.
READABLE_SCHEMAS = (1, SCHEMA_VERSION)

# Statuses a result can have. Only "scored" carries scores.
SCORED = "scored"
ERROR = "error"
TIMEOUT = "timeout"
OOM = "oom"
OUTPUT_LIMIT = "output_limit"
INVALID_OUTPUT = "invalid_output"
REJECTED = "rejected"
STATUSES = (SCORED, ERROR, TIMEOUT, OOM, OUTPUT_LIMIT, INVALID_OUTPUT, REJECTED)

SPLITS = ("train", "valid", "test")
PRIVATE_SPLITS = ("test",)
# Fields only the private record holds: a run's log may print hidden rows.
PRIVATE_FIELDS = ("log_tail",)

# Stages of a failed run, the scorer's fixed vocabulary: the ingestion's own (which a
# submission's error.json may name, and nothing else) and the scorer's check of the
# predictions. A rejection's stage is the validation rule that refused it.
INGEST_STAGES = ("load", "fit", "predict")
SCORER_STAGES = (*INGEST_STAGES, "validate")


class ResultFormatError(ValueError):
    """A ledger file that does not follow the result schema."""


@dataclass
class FoldScores:
    """Scores of one CV fold: {split: {score name: value}} and its times in seconds."""

    scores: dict[str, dict[str, float]]
    fit_time: float
    predict_time: float


@dataclass
class Result:
    challenge: str
    submission: str
    status: str
    score_names: list[str] = field(default_factory=list)  # ranking score first
    lower_is_better: dict[str, bool] = field(default_factory=dict)
    precision: dict[str, int] = field(default_factory=dict)
    folds: list[FoldScores] = field(default_factory=list)
    bagged: dict[str, dict[str, float]] = field(default_factory=dict)  # {split: {name: v}}
    reason: str | None = None  # for a participant: what went wrong and what to do
    stage: str | None = None  # load, fit, predict, validate, ...
    log_tail: str = ""
    # Filled by the ledger (issue: git is the database); empty for a local `gitramp test`.
    team: str | None = None
    pr: int | None = None
    commit: str | None = None
    tree: str | None = None
    kit_commit: str | None = None
    scoring_hash: str | None = None
    phase: str | None = None
    submitted_at: str | None = None  # ISO 8601, UTC
    scored_at: str | None = None
    runner: str | None = None
    backend: str | None = None
    image: str | None = None  # image digest the submission ran in
    lineage: dict[str, Any] = field(default_factory=dict)
    contributivity: dict[str, float] = field(default_factory=dict)
    # What a re-run needs (schema 2): data fingerprint, environment, machine, the scorer's
    # seeds; see scorer/fingerprint.py and challenge/provenance.py. Empty in schema 1.
    provenance: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION

    # ----------------------------------------------------------- derived views
    @property
    def ranking_score(self) -> str | None:
        return self.score_names[0] if self.score_names else None

    def mean(self, split: str) -> dict[str, float]:
        return {n: _mean([f.scores[split][n] for f in self.folds if split in f.scores])
                for n in self.score_names if any(split in f.scores for f in self.folds)}

    def std(self, split: str) -> dict[str, float]:
        return {n: _std([f.scores[split][n] for f in self.folds if split in f.scores])
                for n in self.score_names if any(split in f.scores for f in self.folds)}

    @property
    def fit_time(self) -> float:
        return sum(f.fit_time for f in self.folds)

    @property
    def predict_time(self) -> float:
        return sum(f.predict_time for f in self.folds)

    # ----------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        d = _cleaned(asdict(self))
        d["folds"] = [
            {"scores": f.scores, "fit_time": f.fit_time, "predict_time": f.predict_time}
            for f in self.folds
        ]
        # Summaries are derived, written for readers of the YAML, ignored on load.
        if self.folds:
            d["mean"] = {s: self.mean(s) for s in SPLITS if self.mean(s)}
            d["std"] = {s: self.std(s) for s in SPLITS if self.std(s)}
            d["times"] = {"fit": self.fit_time, "predict": self.predict_time}
        return _ordered(d)

    def public_dict(self) -> dict[str, Any]:
        """Everything but the private (test) scores and the log tail: what the public
        ledger may hold."""
        d = _drop_splits(self.to_dict(), PRIVATE_SPLITS)
        for key in PRIVATE_FIELDS:
            d.pop(key, None)
        return d

    def private_dict(self) -> dict[str, Any]:
        """Only the identity, the private (test) scores and the log tail: the private
        ledger's record."""
        full = self.to_dict()
        keep = {"schema", "challenge", "submission", "team", "commit", "tree",
                "scoring_hash", "status", "score_names", *PRIVATE_FIELDS}
        out = {k: full[k] for k in full if k in keep}
        out["folds"] = [{"scores": {s: f["scores"][s] for s in PRIVATE_SPLITS if s in f["scores"]}}
                        for f in full.get("folds", [])]
        out["bagged"] = {s: v for s, v in full.get("bagged", {}).items() if s in PRIVATE_SPLITS}
        for summary in ("mean", "std"):
            if summary in full:
                out[summary] = {s: v for s, v in full[summary].items() if s in PRIVATE_SPLITS}
        return out

    def to_yaml(self, *, part: str = "full") -> str:
        data = {"full": self.to_dict, "public": self.public_dict,
                "private": self.private_dict}[part]()
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        if not isinstance(d, dict):
            raise ResultFormatError(f"a result must be a mapping, found {type(d).__name__}")
        schema = d.get("schema")
        if schema not in READABLE_SCHEMAS:
            raise ResultFormatError(
                f"result schema {schema!r} is not supported (this gitramp reads schemas "
                f"{', '.join(map(str, READABLE_SCHEMAS))}); upgrade gitramp or migrate the "
                "ledger")
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        missing = {"challenge", "submission", "status"} - kwargs.keys()
        if missing:
            raise ResultFormatError(f"result lacks the keys {sorted(missing)}")
        if kwargs["status"] not in STATUSES:
            raise ResultFormatError(
                f"status {kwargs['status']!r} is not one of {', '.join(STATUSES)}")
        kwargs.update(_cleaned({k: kwargs[k] for k in (*_TEXTS, "stage") if k in kwargs}))
        if not isinstance(kwargs.get("provenance", {}), dict):
            kwargs["provenance"] = {}  # written by runners only: anything else is dropped
        kwargs["folds"] = [FoldScores(**f) if "fit_time" in f else
                           FoldScores(scores=f["scores"], fit_time=0.0, predict_time=0.0)
                           for f in d.get("folds", [])]
        return cls(**kwargs)

    @classmethod
    def from_yaml(cls, text: str) -> Result:
        return cls.from_dict(yaml.safe_load(text))

    def merge_private(self, private: dict[str, Any]) -> Result:
        """A copy with the private record's test scores put back (after reveal); its log
        tail stays private."""
        out = Result.from_dict(self.to_dict())
        for fold, pf in zip(out.folds, private.get("folds", []), strict=False):
            fold.scores.update(pf.get("scores", {}))
        out.bagged.update(private.get("bagged", {}))
        return out


# Text fields and how each is cleaned: (limit, keeps lines, keeps the end).
_TEXTS = {"reason": (REASON_CHARS, False, False), "log_tail": (LOG_CHARS, True, True),
          "challenge": (NAME_CHARS, False, False), "submission": (NAME_CHARS, False, False),
          "team": (NAME_CHARS, False, False), "runner": (NAME_CHARS, False, False),
          "phase": (NAME_CHARS, False, False)}


def _cleaned(d: dict[str, Any]) -> dict[str, Any]:
    """`d` with every text field cleaned and bounded, and `stage` an identifier or None.
    A field of the wrong type becomes text (or None when it was None)."""
    out = dict(d)
    for key, (limit, lines, tail) in _TEXTS.items():
        if key in out and out[key] is not None:
            out[key] = clean_text(out[key], limit, lines=lines, tail=tail)
    if "stage" in out:
        out["stage"] = clean_identifier(out["stage"])
    if "reason" in out and out["reason"] == "":
        out["reason"] = None
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _std(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    m = _mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / len(values))


def _drop_splits(d: dict[str, Any], splits: tuple[str, ...]) -> dict[str, Any]:
    d = dict(d)
    d["folds"] = [{**f, "scores": {s: v for s, v in f["scores"].items() if s not in splits}}
                  for f in d.get("folds", [])]
    for key in ("bagged", "mean", "std"):
        if key in d:
            d[key] = {s: v for s, v in d[key].items() if s not in splits}
    return d


_FIRST = ("schema", "challenge", "submission", "team", "status", "reason", "stage")


def _ordered(d: dict[str, Any]) -> dict[str, Any]:
    """Identity and status first, so a ledger file reads top-down."""
    return {**{k: d[k] for k in _FIRST if k in d}, **{k: v for k, v in d.items()
                                                        if k not in _FIRST}}
