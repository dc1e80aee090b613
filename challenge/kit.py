"""A kit: `challenge.yml` loaded and validated into plain typed data.

The schema is a set of pydantic models: the scorer's `TaskSpec` (scorer/task.py: what
decides a score) extended here with what the challenge alone uses (title, phases,
...). Every error about a kit reads the same way: the file, the key, what was found
and what is allowed (scorer/spec.py). The same models give the JSON Schema shipped
for editors (challenge/kit_schema.py).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BeforeValidator,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from scorer.errors import KitError
from scorer.spec import Expect, SpecModel, kit_error, wrong
from scorer.task import (
    CLASSIFICATION,
    PREDICTION_TYPES,
    CVSpec,
    Limits,
    ScoreSpec,
    Strings,
    Task,
    TaskSpec,
    Text,
    parse_size,
    validation_context,
)
from scorer.workflows import NAMES as WORKFLOWS

SPEC_FILE = "challenge.yml"
KIT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"  # challenge.yml's `name`

__all__ = ["CLASSIFICATION", "PREDICTION_TYPES", "SPEC_FILE", "WORKFLOWS", "CVSpec", "Kit",
           "KitError", "KitSpec", "Limits", "Phase", "ScoreSpec", "load_kit", "parse_kit",
           "parse_size"]

TIME_PATTERN = (r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                r"\s*(Z|[+-]\d{2}(:?\d{2})?)$")


def _utc_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        t = value
    elif isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("not a time") from None
    else:
        raise ValueError("not a time")
    if t.tzinfo is None:
        raise wrong("a time with its zone, such as 2026-12-01T00:00Z (UTC)")
    return t.astimezone(UTC)


UtcTime = Annotated[datetime, BeforeValidator(_utc_time),
                    Expect("a UTC time such as 2026-12-01T00:00Z"),
                    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN,
                                    "description": "a time with its zone, such as "
                                                   "2026-12-01T00:00Z (UTC)"})]
Count = Annotated[StrictInt, Field(ge=0)]


class Phase(SpecModel):
    expect: ClassVar[str] = "a mapping {name, start, end, per_day, total, min_interval}"

    name: Annotated[Literal["closed", "open"], Expect("closed or open")]
    start: UtcTime
    end: UtcTime
    per_day: Annotated[Count | None, Expect("a non-negative integer")] = Field(
        None, description="submissions a team may make a day")
    total: Annotated[Count | None, Expect("a non-negative integer")] = Field(
        None, description="submissions a team may make in the phase")
    min_interval: Annotated[Count, BeforeValidator(lambda v: 0 if v is None else v),
                            Expect("a non-negative integer")] = Field(
        0, description="seconds between two submissions of a team")

    @model_validator(mode="wrap")
    @classmethod
    def _ends_after_start(cls, data: Any, handler) -> Phase:
        phase = handler(data)
        if phase.end <= phase.start:
            found = data.get("end") if isinstance(data, dict) else phase.end
            raise wrong(f"a time after its start ({phase.start:%Y-%m-%d %H:%MZ})",
                        at=("end",), found=found)
        return phase


class KitSpec(TaskSpec):
    """The whole of challenge.yml: the scorer's keys and the challenge's own."""

    title: Text = Field(description="the challenge's name, shown on the site")
    name: Annotated[StrictStr | None, Field(pattern=KIT_NAME_PATTERN),
                    Expect("up to 64 letters, digits, _ and -, starting with a letter or "
                           "digit")] = Field(
        None, description="the challenge's id: its ledger folder leaderboard_data/<name>/ "
                          "and its pages on the site (default: the kit's folder name; a "
                          "kit repository sets it, as gitramp init does, since it may be "
                          "checked out under any folder name)")
    description: Annotated[str, BeforeValidator(lambda v: "" if v is None else v),
                           Field(strict=True), Expect("a string")] = Field(
        "", description="one line for the index page")
    phases: Annotated[tuple[Phase, ...], Expect("a list of {name, start, end, per_day}")] = \
        Field((), description="UTC; the closed phase first, then the open one")
    extra_files: Strings = Field(
        (), description="glob patterns of files allowed besides the workflow's")
    seal_key: Annotated[StrictStr | None, Field(pattern=r"^age1[0-9a-z]{58}$"),
                        Expect("an age public key (age1...), from gitramp seal keygen")] = \
        Field(None, description="the challenge's public key: while its code is hidden "
                                "(until gitramp phase open), submissions travel encrypted "
                                "to it (gitramp submit)")
    final_selection: Annotated[StrictInt | None, Field(ge=1),
                               Expect("a positive integer")] = Field(
        None, description="how many submissions each team chooses for the private "
                          "leaderboard (a `Final-selection: yes` commit trailer, or gitramp "
                          "select, until the closed phase ends); default: its best public "
                          "scores. Unset: every submission is on the private leaderboard")

    @model_validator(mode="after")
    def _phases_in_order(self):
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise wrong("at most one closed and one open phase", at=("phases",), found=names)
        if names == ["open", "closed"]:
            raise wrong("the closed phase before the open one", at=("phases",), found=names)
        for a, b in zip(self.phases, self.phases[1:], strict=False):
            if b.start < a.end:
                raise wrong("phases that do not overlap", at=("phases",),
                            found=f"{a.name} ends {a.end:%Y-%m-%dT%H:%MZ}, {b.name} starts "
                                  f"{b.start:%Y-%m-%dT%H:%MZ}")
        return self


class Kit(KitSpec, Task):
    """A loaded kit: its spec, its folder, and the file it was read from."""

    name: str  # challenge.yml's `name`, else the kit folder's name: its id in ledgers

    raw: dict[str, Any] = Field(default_factory=dict, repr=False, exclude=True)

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
    try:
        spec = KitSpec.model_validate(raw, context=validation_context(path))
    except ValidationError as e:
        raise kit_error(KitSpec, e, path / SPEC_FILE) from None
    return Kit(path=path, name=spec.name or path.name, raw=raw,
               **{key: getattr(spec, key) for key in KitSpec.model_fields if key != "name"})
