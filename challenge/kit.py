"""A kit: `challenge.yml` loaded and validated into plain typed data.

All schema checks live here, so every error about a kit reads the same way:
the file, the key, what was found and what is allowed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from challenge.errors import GitrampError

SPEC_FILE = "challenge.yml"

WORKFLOWS = ("estimator", "classifier", "regressor",
             "feature_extractor_classifier", "feature_extractor_regressor")
PREDICTION_TYPES = ("multiclass", "binary", "regression")
CLASSIFICATION = ("multiclass", "binary")


class KitError(GitrampError, ValueError):
    """A kit that cannot be used as it is; the message says where and how to fix it."""


@dataclass(frozen=True)
class ScoreSpec:
    name: str
    type: str
    precision: int = 3
    lower_is_better: bool | None = None  # None: the score type's own direction
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CVSpec:
    type: str = "KFold"
    params: dict[str, Any] = field(default_factory=dict)
    groups: str | None = None  # a column of the training data used as CV groups


@dataclass(frozen=True)
class Limits:
    timeout: int = 900  # seconds of wall clock for the whole submission
    memory: str = "4g"
    cpus: float = 2.0
    gpus: int = 0
    pids: int = 256
    tmpfs: str = "256m"
    max_files: int = 10
    max_bytes: int = 1_000_000  # total size of a submission's files
    max_output_bytes: int = 200_000_000
    log_bytes: int = 64_000


@dataclass(frozen=True)
class Phase:
    name: str
    start: datetime
    end: datetime
    per_day: int | None = None
    total: int | None = None
    min_interval: int = 0  # seconds between two submissions of a team


@dataclass(frozen=True)
class Kit:
    path: Path
    name: str  # the folder name: the challenge's id in ledgers and URLs
    title: str
    workflow: str
    target: str
    prediction_type: str
    labels: tuple[str, ...]
    scores: tuple[ScoreSpec, ...]
    cv: CVSpec
    data: dict[str, str]  # {"train": path, "test": path}, relative to a data folder
    limits: Limits
    phases: tuple[Phase, ...]
    extra_files: tuple[str, ...] = ()  # glob patterns allowed besides workflow elements
    requirements: tuple[str, ...] = ()  # extra pip requirements of the scoring image
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_classification(self) -> bool:
        return self.prediction_type in CLASSIFICATION

    @property
    def problem_file(self) -> Path:
        return self.path / "problem.py"

    def problem(self) -> ModuleType | None:
        """The kit's optional `problem.py` hooks (organizer code: trusted)."""
        return load_problem(self.path)

    def submission_dir(self, name: str) -> Path:
        return self.path / "submissions" / name

    def submission_names(self) -> list[str]:
        root = self.path / "submissions"
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def scoring_hash(self) -> str:
        """A hash of what decides a score: the spec and `problem.py`.

        A kit change that alters it makes earlier results stale, so they are rescored.
        """
        h = hashlib.sha256()
        for f in (self.path / SPEC_FILE, self.problem_file):
            if f.is_file():
                h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
        return h.hexdigest()[:16]


# ---------------------------------------------------------------------------- loading
def load_kit(path: str | Path) -> Kit:
    path = Path(path).resolve()
    spec_file = path / SPEC_FILE
    if not spec_file.is_file():
        raise KitError(f"{path}: no {SPEC_FILE} here. A kit is a folder holding "
                       f"{SPEC_FILE}; pass --kit with such a folder.")
    try:
        raw = yaml.safe_load(spec_file.read_text())
    except yaml.YAMLError as e:
        raise KitError(f"{spec_file}: not valid YAML: {e}") from None
    return parse_kit(raw, path)


def parse_kit(raw: Any, path: Path) -> Kit:
    f = _Fields(path / SPEC_FILE)
    if not isinstance(raw, dict):
        f.fail("", raw, "a mapping of keys such as title, workflow, target, scores")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        f.fail(key, raw[key], "one of the keys " + ", ".join(sorted(_TOP_KEYS)))

    workflow = f.choice(raw, "workflow", WORKFLOWS, required=True)
    pred = f.mapping(raw, "prediction", required=True)
    ptype = f.choice(pred, "prediction.type", PREDICTION_TYPES, required=True, key="type")
    labels: tuple[str, ...] = ()
    if ptype in CLASSIFICATION:
        labels_raw = pred.get("labels")
        if not isinstance(labels_raw, list) or len(labels_raw) < 2:
            f.fail("prediction.labels", labels_raw, "a list of at least two class labels")
        labels = tuple(str(x) for x in labels_raw)
        if len(set(labels)) != len(labels):
            f.fail("prediction.labels", labels_raw, "labels without repeats")
        if ptype == "binary" and len(labels) != 2:
            f.fail("prediction.labels", labels_raw, "exactly two labels for a binary task")
    if workflow.endswith("_classifier") or workflow == "classifier":
        if ptype not in CLASSIFICATION:
            f.fail("prediction.type", ptype, f"multiclass or binary for workflow {workflow}")
    if workflow.endswith("_regressor") or workflow == "regressor":
        if ptype != "regression":
            f.fail("prediction.type", ptype, f"regression for workflow {workflow}")

    return Kit(
        path=path,
        name=path.name,
        title=f.string(raw, "title", required=True),
        workflow=workflow,
        target=f.string(raw, "target", required=True),
        prediction_type=ptype,
        labels=labels,
        scores=_parse_scores(f, raw.get("scores"), path),
        cv=_parse_cv(f, raw.get("cv", {})),
        data=_parse_data(f, raw.get("data")),
        limits=_parse_limits(f, raw.get("limits", {})),
        phases=_parse_phases(f, raw.get("phases", [])),
        extra_files=tuple(f.string_list(raw, "extra_files")),
        requirements=tuple(f.string_list(raw, "requirements")),
        raw=raw,
    )


_TOP_KEYS = {"title", "workflow", "target", "prediction", "scores", "cv", "data", "limits",
             "phases", "extra_files", "requirements", "description"}


def _parse_scores(f: _Fields, raw: Any, path: Path) -> tuple[ScoreSpec, ...]:
    from scorer.score_types import score_type_names  # scorer owns the registry

    known = score_type_names(path)
    if not isinstance(raw, list) or not raw:
        f.fail("scores", raw, "a non-empty list such as [{name: acc, type: accuracy}]; "
               "the first one ranks")
    out, seen = [], set()
    for i, item in enumerate(raw):
        key = f"scores[{i}]"
        if isinstance(item, str):
            item = {"name": item, "type": item}
        if not isinstance(item, dict):
            f.fail(key, item, "a mapping {name, type, precision, lower_is_better}")
        extra = set(item) - {"name", "type", "precision", "lower_is_better", "params"}
        if extra:
            f.fail(f"{key}.{sorted(extra)[0]}", item[sorted(extra)[0]],
                   "one of the keys name, type, precision, lower_is_better, params")
        stype = item.get("type", item.get("name"))
        if stype not in known:
            f.fail(f"{key}.type", stype, ", ".join(known))
        name = str(item.get("name", stype))
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
            f.fail(f"{key}.name", name, "a name of letters, digits and _")
        if name in seen:
            f.fail(f"{key}.name", name, "a name not used by another score")
        seen.add(name)
        precision = item.get("precision", 3)
        if not isinstance(precision, int) or not 0 <= precision <= 10:
            f.fail(f"{key}.precision", precision, "an integer from 0 to 10")
        lib = item.get("lower_is_better")
        if lib is not None and not isinstance(lib, bool):
            f.fail(f"{key}.lower_is_better", lib, "true or false")
        params = item.get("params", {})
        if not isinstance(params, dict):
            f.fail(f"{key}.params", params, "a mapping of keyword arguments")
        out.append(ScoreSpec(name, stype, precision, lib, params))
    return tuple(out)


def _parse_cv(f: _Fields, raw: Any) -> CVSpec:
    if raw is None:
        return CVSpec()
    if not isinstance(raw, dict):
        f.fail("cv", raw, "a mapping such as {type: KFold, n_splits: 5}")
    raw = dict(raw)
    ctype = raw.pop("type", "KFold")
    groups = raw.pop("groups", None)
    if not isinstance(ctype, str) or not ctype.isidentifier():
        f.fail("cv.type", ctype, "the name of a scikit-learn splitter, such as KFold")
    if groups is not None and not isinstance(groups, str):
        f.fail("cv.groups", groups, "the name of a column of the training data")
    return CVSpec(ctype, raw, groups)


def _parse_data(f: _Fields, raw: Any) -> dict[str, str]:
    raw = raw if raw is not None else {"train": "data/train.csv", "test": "data/test.csv"}
    if not isinstance(raw, dict):
        f.fail("data", raw, "a mapping {train: data/train.csv, test: data/test.csv}")
    for k in ("train", "test"):
        v = raw.get(k)
        if not isinstance(v, str) or not v or Path(v).is_absolute() or ".." in Path(v).parts:
            f.fail(f"data.{k}", v, "a relative path inside the kit, such as data/train.csv")
    extra = set(raw) - {"train", "test"}
    if extra:
        f.fail(f"data.{sorted(extra)[0]}", raw[sorted(extra)[0]], "only train and test")
    return {"train": raw["train"], "test": raw["test"]}


def _parse_limits(f: _Fields, raw: Any) -> Limits:
    if not isinstance(raw, dict):
        f.fail("limits", raw, "a mapping such as {timeout: 900, memory: 4g}")
    defaults = Limits()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if not hasattr(defaults, key):
            f.fail(f"limits.{key}", value,
                   "one of " + ", ".join(Limits.__dataclass_fields__))
        if key in ("memory", "tmpfs"):
            if not isinstance(value, str | int) or parse_size(value) is None:
                f.fail(f"limits.{key}", value, "a size such as 512m or 4g")
            values[key] = str(value)
        elif key in ("max_bytes", "max_output_bytes", "log_bytes"):
            size = parse_size(value) if isinstance(value, str | int) else None
            if size is None or size <= 0:
                f.fail(f"limits.{key}", value, "a positive size such as 1MB or 200000")
            values[key] = size
        elif key == "cpus":
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                f.fail(f"limits.{key}", value, "a positive number of CPUs, such as 2 or 0.5")
            values[key] = float(value)
        else:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0 or (
                    value == 0 and key != "gpus"):
                f.fail(f"limits.{key}", value, "a positive integer")
            values[key] = value
    return Limits(**values)


def _parse_phases(f: _Fields, raw: Any) -> tuple[Phase, ...]:
    if not isinstance(raw, list):
        f.fail("phases", raw, "a list of {name, start, end, per_day}")
    out = []
    for i, item in enumerate(raw):
        key = f"phases[{i}]"
        if not isinstance(item, dict):
            f.fail(key, item, "a mapping {name, start, end, per_day, total, min_interval}")
        extra = set(item) - {"name", "start", "end", "per_day", "total", "min_interval"}
        if extra:
            f.fail(f"{key}.{sorted(extra)[0]}", item[sorted(extra)[0]],
                   "one of the keys name, start, end, per_day, total, min_interval")
        name = item.get("name")
        if name not in ("closed", "open"):
            f.fail(f"{key}.name", name, "closed or open")
        start, end = (_parse_time(f, f"{key}.{k}", item.get(k)) for k in ("start", "end"))
        if end <= start:
            f.fail(f"{key}.end", item.get("end"),
                   f"a time after its start ({start:%Y-%m-%d %H:%MZ})")
        for k in ("per_day", "total", "min_interval"):
            v = item.get(k)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                f.fail(f"{key}.{k}", v, "a non-negative integer")
        out.append(Phase(name, start, end, item.get("per_day"), item.get("total"),
                         item.get("min_interval") or 0))
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        f.fail("phases", names, "at most one closed and one open phase")
    if names == ["open", "closed"]:
        f.fail("phases", names, "the closed phase before the open one")
    for a, b in zip(out, out[1:], strict=False):
        if b.start < a.end:
            f.fail("phases", f"{a.name} ends {a.end:%Y-%m-%dT%H:%MZ}, {b.name} starts "
                   f"{b.start:%Y-%m-%dT%H:%MZ}", "phases that do not overlap")
    return tuple(out)


def _parse_time(f: _Fields, key: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        t = value
    elif isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            f.fail(key, value, "a UTC time such as 2026-12-01T00:00Z")
    else:
        f.fail(key, value, "a UTC time such as 2026-12-01T00:00Z")
    if t.tzinfo is None:
        f.fail(key, value, "a time with its zone, such as 2026-12-01T00:00Z (UTC)")
    return t.astimezone(UTC)


def parse_size(value: str | int) -> int | None:
    """'512m', '4g', '1MB', 1000 -> bytes; None when unreadable."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*", str(value).lower())
    if not m:
        return None
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2)]
    return int(float(m.group(1)) * scale)


class _Fields:
    """Typed reads of a YAML mapping; each failure names file, key, found and allowed."""

    def __init__(self, file: Path):
        self.file = file

    def fail(self, key: str, found: Any, allowed: str):
        where = f"key '{key}'" if key else "top level"
        raise KitError(f"{self.file}: {where}: found {found!r}; expected {allowed}.")

    def string(self, raw: dict, name: str, required: bool = False) -> str:
        v = raw.get(name)
        if v is None and not required:
            return ""
        if not isinstance(v, str) or not v.strip():
            self.fail(name, v, "a non-empty string")
        return v

    def string_list(self, raw: dict, name: str) -> list[str]:
        v = raw.get(name, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.fail(name, v, "a list of strings")
        return v

    def mapping(self, raw: dict, name: str, required: bool = False) -> dict:
        v = raw.get(name)
        if v is None and not required:
            return {}
        if not isinstance(v, dict):
            self.fail(name, v, "a mapping")
        return v

    def choice(self, raw: dict, label: str, allowed: tuple[str, ...], required: bool = False,
               key: str | None = None) -> str:
        v = raw.get(key or label)
        if v not in allowed:
            self.fail(label, v, "one of " + ", ".join(allowed))
        return v


def load_problem(kit_path: Path) -> ModuleType | None:
    """Import `problem.py` under a private name; organizer code, run in the scorer.

    Cached per file content, so a kit edited between two loads is seen afresh."""
    file = Path(kit_path) / "problem.py"
    if not file.is_file():
        return None
    return _import_problem(str(file), file.stat().st_mtime_ns)


@functools.cache
def _import_problem(path: str, _mtime: int) -> ModuleType:
    file = Path(path)
    name = f"_gitramp_problem_{hashlib.sha1(str(file).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise KitError(f"{file}: failed to import: {type(e).__name__}: {e}") from e
    return module
