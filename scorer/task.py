"""What the scorer needs of a kit: the keys of `challenge.yml` that decide a score, as
validated pydantic models.

`TaskSpec` is that part of the file (unknown keys are errors); `Task` adds where the
kit lives and the hooks of its `problem.py`. The challenge layer's `Kit` extends
`Task` with what only it uses (title, phases, ...), so a kit is passed to every
scorer function as it is. Each key says what it expects (`Expect`), which is what a
participant reads when the key is wrong (see scorer/spec.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from scorer.problem import PROBLEM_FILE, load_problem
from scorer.score_types import BUILTIN, score_type_names
from scorer.spec import Expect, SpecModel, wrong
from scorer.workflows import NAMES as WORKFLOWS

CLASSIFICATION = ("multiclass", "binary")
PREDICTION_TYPES = (*CLASSIFICATION, "regression", "detection", "combined", "clustering")
WITH_LABELS = (*CLASSIFICATION, "combined")  # a class and a quantity: scorer/combined.py


def classifies(workflow: str) -> bool:
    return workflow == "classifier" or workflow.endswith("_classifier")


def regresses(workflow: str) -> bool:
    return workflow == "regressor" or workflow.endswith("_regressor")


# ------------------------------------------------------------------------------ sizes
_SIZE = r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*"
SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*[kKmMgGtT]?([iI]?[bB])?\s*$"  # the same, for JSON Schema


def parse_size(value: str | int) -> int | None:
    """'512m', '4g', '1MB', 1000 -> bytes; None when unreadable."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = re.fullmatch(_SIZE, str(value).lower())
    if not m:
        return None
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2)]
    return int(float(m.group(1)) * scale)


def _readable_size(value: Any) -> int:
    size = parse_size(value) if isinstance(value, str | int) else None
    if size is None or size <= 0:
        raise ValueError("not a size")
    return size


def _size_schema(description: str) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [{"type": "string", "pattern": SIZE_PATTERN},
                                     {"type": "integer", "minimum": 1}],
                           "description": description})


# A size the container engine reads ('512m', '4g'); kept as written.
EngineSize = Annotated[str, BeforeValidator(lambda v: _readable_size(v) and str(v)),
                       Expect("a size such as 512m or 4g"),
                       _size_schema("a size: bytes, or a number with k, m, g or t")]
# A number of bytes, written as one or with a unit ('1MB', '200KB', 200000).
ByteCount = Annotated[int, BeforeValidator(_readable_size),
                      Expect("a positive size such as 1MB or 200000"),
                      _size_schema("bytes, or a number with KB, MB, GB (powers of 1024)")]
PositiveInt = Annotated[StrictInt, Field(gt=0), Expect("a positive integer")]
NonNegativeInt = Annotated[StrictInt, Field(ge=0), Expect("a non-negative integer")]
Text = Annotated[StrictStr, Field(pattern=r"\S"), Expect("a non-empty string")]
Strings = Annotated[tuple[Annotated[StrictStr, Expect("a string")], ...],
                    Expect("a list of strings")]


# ----------------------------------------------------------------------------- models
class Limits(SpecModel):
    """What one submission may use when it is scored."""

    expect: ClassVar[str] = "a mapping such as {timeout: 900, memory: 4g}"

    timeout: PositiveInt = Field(900, description="seconds of wall clock, all folds together")
    memory: EngineSize = Field("4g", description="memory, swap included (none is allowed)")
    cpus: Annotated[StrictFloat, Field(gt=0),
                    Expect("a positive number of CPUs, such as 2 or 0.5")] = Field(
        2.0, description="CPU limit; the thread-count variables follow it")
    gpus: NonNegativeInt = Field(0, description="GPUs requested from the runner")
    gpus_optional: Annotated[StrictBool, Expect("true or false")] = Field(
        False, description="where the runner has no GPU, run on the CPU instead of refusing")
    pids: PositiveInt = Field(256, description="processes and threads")
    tmpfs: EngineSize = Field("256m", description="scratch space at /tmp")
    max_files: PositiveInt = Field(10, description="files in submissions/<name>/")
    max_bytes: ByteCount = Field(1_000_000, description="total size of a submission's files")
    max_output_bytes: ByteCount = Field(200_000_000,
                                        description="what the submission may write back")
    log_bytes: ByteCount = Field(64_000, description="log kept from stdout and stderr")


def _score_shorthand(item: Any) -> Any:
    """`accuracy` stands for {name: accuracy, type: accuracy}; a missing type is the
    name's, a missing name the type's."""
    if isinstance(item, str):
        return {"type": item, "name": item}
    if isinstance(item, dict):
        item = dict(item)
        item.setdefault("type", item.get("name"))
        if isinstance(item["type"], str):
            item.setdefault("name", item["type"])
    return item


def _known_score_type(value: Any, info: ValidationInfo) -> str:
    known = (info.context or {}).get("score_types") or score_type_names(None)
    if value not in known:
        raise wrong(", ".join(known))
    return value


def _score_entry_schema(schema: dict[str, Any]) -> None:
    schema.pop("required", None)  # name or type: each defaults to the other
    schema["anyOf"] = [{"required": ["type"]}, {"required": ["name"]}]


class ScoreSpec(SpecModel):
    """A score as the kit configures it; its type comes from the scorer's registry."""

    model_config = ConfigDict(json_schema_extra=_score_entry_schema)
    expect: ClassVar[str] = "a mapping {name, type, precision, lower_is_better}"

    type: Annotated[str, BeforeValidator(_known_score_type), WithJsonSchema({
        "anyOf": [{"enum": sorted(BUILTIN)}, {"type": "string"}],
        "description": "the metric: a built-in type or one of problem.py's score_types"})]
    name: Annotated[StrictStr, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$"),
                    Expect("a name of letters, digits and _")] = Field(
        description="column name on leaderboards (default: the type)")
    precision: Annotated[StrictInt, Field(ge=0, le=10),
                         Expect("an integer from 0 to 10")] = Field(3, description="decimals shown")
    lower_is_better: Annotated[StrictBool | None, Expect("true or false")] = Field(
        None, description="overrides the type's direction")
    params: Annotated[dict[str, Any], Expect("a mapping of keyword arguments")] = Field(
        default_factory=dict, description="keyword arguments of the metric")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _score_shorthand(data)


class CVSpec(SpecModel):
    """A scikit-learn splitter; every key but type and groups is passed to it."""

    model_config = ConfigDict(extra="allow")
    expect: ClassVar[str] = "a mapping such as {type: KFold, n_splits: 5}"

    type: Annotated[StrictStr, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"),
                    Expect("the name of a scikit-learn splitter, such as KFold")] = Field(
        "KFold", description="a class of sklearn.model_selection")
    groups: Annotated[StrictStr | None, Expect("the name of a column of the training data")] = \
        Field(None, description="a column of the training data, for Group* splitters")

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def _inside_kit(value: str) -> str:
    if not value or Path(value).is_absolute() or ".." in Path(value).parts:
        raise ValueError("not a relative path")
    return value


RelativePath = Annotated[StrictStr, AfterValidator(_inside_kit),
                         Expect("a relative path inside the kit, such as data/train.csv"),
                         Field(json_schema_extra={"pattern": r"^(?!/)(?!(.*/)?\.\.(/|$)).+$"})]


class DataFiles(SpecModel):
    """Where the CSV files are, relative to a data folder (the kit's, or a runner's)."""

    expect: ClassVar[str] = "a mapping {train: data/train.csv, test: data/test.csv}"

    train: RelativePath
    test: RelativePath
    drop: Annotated[tuple[Annotated[StrictStr, Expect("a column name")], ...],
                    Expect("a list of column names")] = Field(
        (), description="columns read from the files but not given to submissions "
                        "(ids, leaks), besides the target")
    images: RelativePath | None = Field(
        None, description="image_classifier only: the folder of the image files, one per "
                          "row, named by the files' id column")

    def __getitem__(self, split: str) -> str:
        return getattr(self, split)


def _label(value: Any) -> str:
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError("not a label")


def _prediction_schema() -> dict[str, Any]:
    """What the model validators check across keys, where JSON Schema can say it."""
    classes = {"enum": list(CLASSIFICATION)}
    return {"allOf": [
        {"if": {"properties": {"workflow": {"enum": [w for w in WORKFLOWS if classifies(w)]}},
                "required": ["workflow"]},
         "then": {"properties": {"prediction": {"properties": {"type": classes}}}}},
        {"if": {"properties": {"workflow": {"enum": [w for w in WORKFLOWS if regresses(w)]}},
                "required": ["workflow"]},
         "then": {"properties": {"prediction": {"properties": {
             "type": {"const": "regression"}}}}}},
        {"if": {"properties": {"workflow": {"const": "object_detector"}}, "required": ["workflow"]},
         "then": {"properties": {"prediction": {"properties": {
             "type": {"const": "detection"}}}}}},
        {"if": {"properties": {"workflow": {"const": "drug_spectra"}}, "required": ["workflow"]},
         "then": {"properties": {"prediction": {"properties": {
             "type": {"const": "combined"}}}}}},
        {"if": {"properties": {"workflow": {"const": "clusterer"}}, "required": ["workflow"]},
         "then": {"properties": {"prediction": {"properties": {
             "type": {"const": "clustering"}}}}}},
    ]}


def _labels_schema() -> dict[str, Any]:
    return {"allOf": [
        {"if": {"properties": {"type": {"const": "combined"}}, "required": ["type"]},
         "then": {"required": ["quantity"]}},
        {"if": {"properties": {"type": {"enum": list(WITH_LABELS)}}, "required": ["type"]},
         "then": {"required": ["labels"],
                  "properties": {"labels": {"minItems": 2, "uniqueItems": True}}}},
        {"if": {"properties": {"type": {"const": "binary"}}, "required": ["type"]},
         "then": {"properties": {"labels": {"maxItems": 2}}}},
    ]}



class Prediction(SpecModel):
    model_config = ConfigDict(json_schema_extra=_labels_schema())
    expect: ClassVar[str] = "a mapping {type, labels}"

    type: Annotated[Literal[PREDICTION_TYPES], Expect("one of " + ", ".join(PREDICTION_TYPES))]
    labels: Annotated[tuple[Annotated[str, BeforeValidator(_label),
                                      Expect("a label: a string or a number"),
                                      WithJsonSchema({"type": ["string", "number"]})], ...],
                      Expect("a list of at least two class labels")] = Field(
        (), description="classification only: the order of the probability columns")
    quantity: Annotated[StrictStr | None, Expect("the name of a column of the data files")] = \
        Field(None, description="combined only: the column of the quantity predicted "
                                "besides the class (the class is the target column)")

    @model_validator(mode="before")
    @classmethod
    def _labels_for_classes(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("type") not in WITH_LABELS:
            return data
        if data["type"] == "combined" and not isinstance(data.get("quantity"), str):
            raise wrong("the column of the quantity (a combined prediction: the target "
                        "column is the class)", at=("quantity",), found=data.get("quantity"))
        labels = data.get("labels")
        if not isinstance(labels, list | tuple) or len(labels) < 2:
            raise wrong("a list of at least two class labels", at=("labels",), found=labels)
        if len({str(x) for x in labels}) != len(labels):
            raise wrong("labels without repeats", at=("labels",), found=labels)
        if data["type"] == "binary" and len(labels) != 2:
            raise wrong("exactly two labels for a binary task", at=("labels",), found=labels)
        return data




def _none_is(default: Any):
    return BeforeValidator(lambda v: default if v is None else v)


def _or_null(schema: dict[str, Any]) -> None:
    """JSON Schema of a key that may also be left empty (its defaults)."""
    schema["anyOf"] = [{"$ref": schema.pop("$ref")}, {"type": "null"}]


def _scores_schema(schema: dict[str, Any]) -> None:
    """A score may be written as its type alone: `scores: [accuracy, f1]`."""
    schema["items"] = {"anyOf": [schema["items"], {"anyOf": [
        {"enum": sorted(BUILTIN)}, {"type": "string"}], "description": "a score type"}]}


class TaskSpec(SpecModel):
    """The keys of challenge.yml that decide a score."""

    model_config = ConfigDict(json_schema_extra=_prediction_schema())
    expect: ClassVar[str] = "a mapping of keys such as title, workflow, target, scores"

    workflow: Annotated[Literal[WORKFLOWS], Expect("one of " + ", ".join(WORKFLOWS))] = Field(
        description="which files a submission provides and how they are called")
    target: Text = Field(description="the label column of the data files")
    prediction: Prediction = Field(description="what is predicted")
    scores: Annotated[tuple[ScoreSpec, ...], Field(min_length=1),
                      Expect("a non-empty list such as [{name: acc, type: accuracy}]; "
                             "the first one ranks")] = Field(
        description="the scores computed; the first one ranks",
        json_schema_extra=_scores_schema)
    cv: Annotated[CVSpec, _none_is({})] = Field(
        default_factory=CVSpec, description="the cross-validation splitter",
        json_schema_extra=_or_null)
    data: Annotated[DataFiles, _none_is({"train": "data/train.csv", "test": "data/test.csv"})] \
        = Field(default_factory=lambda: DataFiles(train="data/train.csv", test="data/test.csv"),
                description="where the data files are, inside a data folder",
                json_schema_extra=_or_null)
    limits: Limits = Field(default_factory=Limits,
                           description="what one submission may use when scored")
    requirements: Strings = Field((), description="extra pip requirements of the scoring image")

    @field_validator("scores")
    @classmethod
    def _names_once(cls, scores: tuple[ScoreSpec, ...]) -> tuple[ScoreSpec, ...]:
        seen: set[str] = set()
        for i, s in enumerate(scores):
            if s.name in seen:
                raise wrong("a name not used by another score", at=(i, "name"), found=s.name)
            seen.add(s.name)
        return scores

    @model_validator(mode="after")
    def _prediction_fits_workflow(self):
        ptype = self.prediction.type
        if classifies(self.workflow) and ptype not in CLASSIFICATION:
            raise wrong(f"multiclass or binary for workflow {self.workflow}",
                        at=("prediction", "type"), found=ptype)
        if regresses(self.workflow) and ptype != "regression":
            raise wrong(f"regression for workflow {self.workflow}",
                        at=("prediction", "type"), found=ptype)
        detects = self.workflow == "object_detector"
        if detects != (ptype == "detection"):
            raise wrong("detection for workflow object_detector" if detects else
                        "detection only with workflow object_detector",
                        at=("prediction", "type"), found=ptype)
        if (self.workflow == "image_classifier") != (self.data.images is not None):
            raise wrong("data.images, the folder of the image files, for workflow "
                        "image_classifier" if self.data.images is None else
                        "data.images only with workflow image_classifier",
                        at=("data", "images"), found=self.data.images)
        combines = self.workflow == "drug_spectra"
        if combines != (ptype == "combined"):
            raise wrong("combined for workflow drug_spectra" if combines else
                        "combined only with workflow drug_spectra",
                        at=("prediction", "type"), found=ptype)
        clusters = self.workflow == "clusterer"  # per event, a cluster id per point
        if clusters != (ptype == "clustering"):
            raise wrong("clustering for workflow clusterer" if clusters else
                        "clustering only with workflow clusterer",
                        at=("prediction", "type"), found=ptype)
        for i, score in enumerate(self.scores):  # detection scores for detections only
            stype = BUILTIN.get(score.type)
            if stype is not None and ((stype.needs == "detection") != detects
                                      or (stype.needs == "clustering") != clusters):
                raise wrong("a score type for " + ("detections" if detects else ptype),
                            at=("scores", i, "type"), found=score.type)
        return self

    @property
    def prediction_type(self) -> str:
        return self.prediction.type

    @property
    def labels(self) -> tuple[str, ...]:
        """The class labels in the order of the probability columns; () for a regression."""
        return self.prediction.labels if self.prediction.type in WITH_LABELS else ()

    @property
    def is_classification(self) -> bool:
        return self.prediction.type in CLASSIFICATION


class Task(TaskSpec):
    """A task the scorer can run: the spec and the folder it came from."""

    path: Path  # the kit's folder: problem.py and the public data are there
    name: str  # the folder's name: the challenge's id in ledgers and URLs

    @property
    def problem_file(self) -> Path:
        return self.path / PROBLEM_FILE

    def problem(self) -> ModuleType | None:
        """The kit's optional `problem.py` hooks (organizer code: trusted)."""
        return load_problem(self.path)


def validation_context(kit_path: Path) -> dict[str, Any]:
    """What validating a spec needs to know of its kit: its score types (built-in and
    from its problem.py, which is imported here)."""
    return {"score_types": score_type_names(kit_path)}
