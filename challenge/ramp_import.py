"""A RAMP kit (ramp-workflow's layout) turned into a gitramp kit that scores the same.

RAMP's `problem.py` is read as text, never imported (rampwf need not be installed):
its title, prediction type and labels, workflow, score types, `get_cv` and data
loaders become keys of `challenge.yml` where YAML can say them; what it cannot say
stays in a `problem.py` of gitramp's hooks, with rampwf's base classes of a kit's own
score types replaced by the scorer's (scorer/score_types.py `RampScoreBase`). What
cannot be converted is refused with the reason and what to do (`RampImportError`).
docs/from-ramp.md is the guide.
"""

from __future__ import annotations

import ast
import json
import operator
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from challenge.errors import GitrampError
from challenge.kit import SPEC_FILE, load_kit
from scorer.cv import check_one_cv
from scorer.score_types import BUILTIN, RAMP_CLASSES

RAMP_PROBLEM = "problem.py"
# RAMP workflow class -> (gitramp workflow, element files RAMP's class expects)
WORKFLOWS = {
    "Classifier": ("classifier", ()),
    "Regressor": ("regressor", ()),
    "FeatureExtractorClassifier": ("feature_extractor_classifier", ()),
    "FeatureExtractorRegressor": ("feature_extractor_regressor", ()),
    "Estimator": ("estimator", ()),
    "EstimatorExternalData": ("estimator", ("external_data.csv",)),
    "ObjectDetector": ("object_detector", ()),
    "ElNino": ("ts_feature_extractor_regressor", ()),
    "DrugSpectra": ("drug_spectra", ()),
    "Clusterer": ("clusterer", ()),
}
# RAMP workflows whose gitramp counterpart reads its data differently: converted by hand.
BY_HAND = {
    name: "gitramp's image_classifier takes the same ImageClassifier(fit(img_loader), "
          "predict_proba(img_loader)) submissions, but reads its images from the kit: "
          "convert by hand (docs/from-ramp.md): image files under data/images/, "
          "train.csv and test.csv with an `id` column (the file name) and the label, "
          "`workflow: image_classifier` and `data: {images: data/images}` in challenge.yml "
          "(kits/digits_images is an example)"
    for name in ("SimplifiedImageClassifier", "ImageClassifier")}
# Arguments a RAMP workflow takes that gitramp's counterpart does without (its own
# look-ahead check replaces ElNino's check_sizes / check_indexs).
WORKFLOW_ARGS = {"ElNino": ("check_sizes", "check_indexs")}
SERIES_WORKFLOWS = {"ts_feature_extractor_regressor"}
# Packages that serve the notebook, or that the scoring image already has.
NOT_REQUIRED = {"rampwf", "ramp-workflow", "ramp_workflow", "jupyter", "jupyterlab",
                "notebook", "ipykernel", "ipython", "ipywidgets", "nbconvert", "nbformat",
                "matplotlib", "seaborn", "plotly", "numpy", "pandas", "scikit-learn",
                "sklearn", "scipy"}
SKIPPED = {".git", "training_output", "__pycache__", ".ipynb_checkpoints", ".pytest_cache",
           "predictions", "submissions.zip"}
# rampwf's default `name=` of each score class (what ramp-test prints when none is given)
RAMP_DEFAULT_NAMES = {
    "Accuracy": "accuracy", "BalancedAccuracy": "balanced_accuracy",
    "BrierScore": "brier_score", "BrierSkillScore": "brier_score",
    "BrierScoreReliability": "brier_score", "BrierScoreResolution": "brier_score",
    "ClassificationError": "classification error", "F1Above": "f1_above",
    "MacroAveragedRecall": "accuracy", "NegativeLogLikelihood": "negative log likelihood",
    "NormalizedGini": "normalized_gini", "SoftAccuracy": "soft precision", "MARE": "mare",
    "NormalizedRMSE": "rmse", "RelativeRMSE": "rmse", "RMSE": "rmse", "ROCAUC": "roc_auc",
    "DetectionAveragePrecision": "average_precision",
    "AverageDetectionPrecision": "average_precision", "OSPA": "ospa", "SCP": "scp",
    "Combined": "combined", "ClusteringEfficiency": "clustering_efficiency",
}
DATA_CALLS = {"read_csv", "join", "drop", "getenv", "to_numpy", "copy", "int", "bool",
              "str", "reset_index"}
# Data files YAML reads (pandas infers the compression from the suffix, as RAMP kits
# that pass compression= to read_csv say it)
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz")
COMPRESSIONS = {"gz": "gzip", "bz2": "bz2", "zip": "zip", "xz": "xz"}
# What a time-series loader may add to that: the table made an xarray Dataset along time.
SERIES_DATA_CALLS = {"to_xarray", "rename_axis", "from_dataframe"}


ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.truediv}  # constants such as weights=[2. / 3, 1. / 3]


class RampImportError(GitrampError):
    pass


@dataclass
class Imported:
    """What `import_ramp` wrote and what the organizer should know."""

    out: Path
    spec: dict[str, Any]
    hooks: list[str] = field(default_factory=list)  # kept in the new problem.py
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ reading problem.py
class _Problem:
    def __init__(self, file: Path):
        self.file = file
        self.source = file.read_text()
        try:
            self.tree = ast.parse(self.source)
        except SyntaxError as e:
            raise RampImportError(f"{file}: not valid Python: {e}") from None
        self.aliases: dict[str, str] = {}  # local name -> dotted origin
        self.constants: dict[str, Any] = {}
        self.assigned: dict[str, ast.stmt] = {}
        self.functions: dict[str, ast.FunctionDef] = {}
        self.classes: dict[str, ast.ClassDef] = {}
        for node in self.tree.body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.aliases[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                self.assigned[name] = node
                try:
                    self.constants[name] = self.literal(node.value)
                except ValueError:
                    pass
            elif isinstance(node, ast.FunctionDef):
                self.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node

    def where(self, node: ast.AST) -> str:
        return f"{self.file}:{getattr(node, 'lineno', '?')}"

    def dotted(self, node: ast.AST) -> str | None:
        """`rw.score_types.Accuracy` -> 'rampwf.score_types.Accuracy' (aliases resolved)."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.aliases.get(node.id, node.id)
        return ".".join([head, *reversed(parts)])

    def literal(self, node: ast.AST) -> Any:
        """A constant expression, module-level constants resolved by name."""
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.constants[node.id]
        if isinstance(node, ast.List | ast.Tuple):
            return [self.literal(e) for e in node.elts]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.literal(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult
                                                      | ast.Div):
            left, right = self.literal(node.left), self.literal(node.right)
            if isinstance(node.op, ast.Add) and isinstance(left, list) \
                    and isinstance(right, list):  # [_target_column_name] + _ignored
                return left + right
            if all(isinstance(v, int | float) and not isinstance(v, bool)
                   for v in (left, right)):
                return ARITHMETIC[type(node.op)](left, right)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("list", "range", "tuple") and not node.keywords:
            args = [self.literal(a) for a in node.args]
            if node.func.id == "range":
                return list(range(*args))
            return list(args[0]) if args else []
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError):
            raise ValueError(ast.unparse(node)) from None

    def call_of(self, name: str) -> ast.Call | None:
        node = self.assigned.get(name)
        return node.value if node is not None and isinstance(node.value, ast.Call) else None

    def kwargs(self, call: ast.Call) -> dict[str, Any]:
        if call.args:
            raise ValueError("positional arguments")
        return {k.arg: self.literal(k.value) for k in call.keywords}


def _is_ramp(dotted: str | None) -> bool:
    return bool(dotted) and dotted.split(".")[0] == "rampwf"


# ------------------------------------------------------------------ the parts
def _prediction(p: _Problem) -> tuple[dict[str, Any], list]:
    call = p.call_of("Predictions")
    if call is None:
        raise RampImportError(f"{p.file}: no `Predictions = rw.prediction_types.make_...()`; "
                              "a RAMP problem.py declares its prediction type there")
    kind = (p.dotted(call.func) or "").rsplit(".", 1)[-1]
    if kind == "make_combined":
        return _combined_prediction(p, call)
    try:
        kw = p.kwargs(call)
    except ValueError as e:
        raise RampImportError(f"{p.where(call)}: the arguments of {kind} are not constants "
                              f"({e}); write them as literals or module constants") from None
    if kind == "make_regression":
        if len(kw.get("label_names") or []) > 1:
            raise RampImportError(f"{p.where(call)}: a multi-target regression "
                                  f"(label_names={kw['label_names']}) has no gitramp "
                                  "prediction type; score one target per kit")
        return {"type": "regression"}, []
    if kind == "make_multiclass":
        labels = list(kw.get("label_names") or [])
        if len(labels) < 2:
            raise RampImportError(f"{p.where(call)}: make_multiclass needs at least two "
                                  f"label_names, found {labels}")
        return {"type": "binary" if len(labels) == 2 else "multiclass",
                "labels": labels}, labels
    if kind == "make_detection":
        return {"type": "detection"}, []
    if kind == "make_clustering":  # per point (event id, cluster id): the clusterer's
        return {"type": "clustering"}, []
    raise RampImportError(f"{p.where(call)}: prediction type {kind or ast.unparse(call.func)} "
                          "has no gitramp counterpart (gitramp scores multiclass, binary, "
                          "regression, detection, combined and clustering predictions); such "
                          "a kit cannot be converted")


def _combined_prediction(p: _Problem, call: ast.Call) -> tuple[dict[str, Any], list]:
    """`make_combined([make_multiclass(label_names=...), make_regression(...)])`, RAMP's
    drug-spectra shape: gitramp's combined type (a class, then a quantity)."""
    parts = call.args[0] if len(call.args) == 1 and not call.keywords else None
    if not isinstance(parts, ast.List | ast.Tuple):
        raise RampImportError(f"{p.where(call)}: make_combined takes one list of prediction "
                              "types, written in the call")
    kinds = []
    for node in parts.elts:
        inner = p.call_of(node.id) if isinstance(node, ast.Name) else node
        if not isinstance(inner, ast.Call):
            raise RampImportError(f"{p.where(call)}: {ast.unparse(node)} in make_combined is "
                                  "not a make_... call of this problem.py")
        try:
            kinds.append(((p.dotted(inner.func) or "").rsplit(".", 1)[-1], p.kwargs(inner)))
        except ValueError as e:
            raise RampImportError(f"{p.where(inner)}: arguments that are not constants "
                                  f"({e})") from None
    names = [k for k, _ in kinds]
    if names != ["make_multiclass", "make_regression"]:
        raise RampImportError(f"{p.where(call)}: make_combined of {names}; gitramp combines "
                              "one make_multiclass then one make_regression (a class and a "
                              "quantity), in that order")
    labels = list(kinds[0][1].get("label_names") or [])
    if len(labels) < 2:
        raise RampImportError(f"{p.where(call)}: make_multiclass needs at least two "
                              f"label_names, found {labels}")
    targets = list(kinds[1][1].get("label_names") or [])
    if len(targets) > 1:
        raise RampImportError(f"{p.where(call)}: the regression part of make_combined has "
                              f"{len(targets)} targets ({targets}); gitramp combines one")
    prediction = {"type": "combined", "labels": labels}
    if targets:
        prediction["quantity"] = str(targets[0])
    return prediction, labels


def _workflow(p: _Problem) -> tuple[str, tuple[str, ...]]:
    call = p.call_of("workflow")
    if call is None:
        raise RampImportError(f"{p.file}: no `workflow = rw.workflows.<Name>()`")
    name = (p.dotted(call.func) or "").rsplit(".", 1)[-1]
    if name in BY_HAND:
        raise RampImportError(f"{p.where(call)}: {name}: {BY_HAND[name]}")
    if name not in WORKFLOWS:
        raise RampImportError(
            f"{p.where(call)}: workflow {name or ast.unparse(call.func)} has no gitramp "
            f"counterpart; gitramp runs {', '.join(sorted(WORKFLOWS))} (RAMP's names)")
    ignored = set(WORKFLOW_ARGS.get(name, ()))
    if call.args or any(k.arg not in ignored for k in call.keywords):
        raise RampImportError(f"{p.where(call)}: {name} with its own element names "
                              f"({ast.unparse(call)}); gitramp uses RAMP's default file names: "
                              "rename the submission files and drop the arguments")
    return WORKFLOWS[name]


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _iou_name(cls: str, kw: dict) -> str | None:
    """rampwf's default name of a detection score at an IoU threshold."""
    base = {"DetectionPrecision": "precision", "DetectionRecall": "recall",
            "MADCenter": "mad_center", "MADRadius": "mad_radius"}.get(cls)
    return f"{base}(IOU={kw.get('iou_threshold', 0.5)})" if base else None


def _score_name(raw: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]+", "_", str(raw)).strip("_")
    return name if re.match(r"^[A-Za-z]", name) else f"s_{name}"


def _scores(p: _Problem, labels: list) -> tuple[list[dict], dict[str, str], list[str]]:
    """YAML score entries, the kit's own score classes (type -> constructor call
    source), and notes."""
    node = p.assigned.get("score_types")
    if node is None or not isinstance(node.value, ast.List | ast.Tuple):
        raise RampImportError(f"{p.file}: no `score_types = [...]` list")
    entries, custom, notes = [], {}, []
    extra: list[dict] = []  # parts of a Combined that score_types does not list itself
    for call in node.value.elts:
        if not isinstance(call, ast.Call):
            raise RampImportError(f"{p.where(call)}: score_types holds "
                                  f"{ast.unparse(call)}; expected calls such as "
                                  "rw.score_types.Accuracy(name='acc', precision=3)")
        dotted = p.dotted(call.func) or ""
        cls = dotted.rsplit(".", 1)[-1]
        if _is_ramp(dotted) and cls == "MakeCombined":
            # one part of combined predictions scored on its own: the part's own entry
            # (gitramp reads the class or the quantity by the score's type)
            kw = {k.arg: k.value for k in call.keywords}
            inner = _score_call(p, kw.get("score_type") or (call.args[0] if call.args
                                                                   else None), call)
            entries.append(_score_entry(p, inner, custom, notes))
            continue
        if _is_ramp(dotted) and cls == "Combined":
            entry, parts = _combined_entry(p, call, custom, notes)
            entries.append(entry)
            extra.extend(parts)
            continue
        entries.append(_score_entry(p, call, custom, notes))
    listed = {e["name"] for e in entries}
    for part in extra:
        if part["name"] not in listed:
            entries.append(part)
            listed.add(part["name"])
            notes.append(f"score {part['name']!r}, a part of a combined score, is also "
                         "reported on its own (gitramp shows each part)")
    names = [e["name"] for e in entries]
    if len(set(names)) != len(names):
        raise RampImportError(f"{p.file}: two score types share a name ({names}); give "
                              "each its own name=")
    return entries, custom, list(dict.fromkeys(notes))  # a part named twice: one note


def _scores_fit(p: _Problem, scores: list[dict], ptype: str) -> None:
    """A detection or clustering score type scores that prediction type only, and such a
    prediction type no other built-in type."""
    ramp_names = {t: c for c, (t, _, _) in reversed(RAMP_CLASSES.items())}
    for entry in scores:
        needs = getattr(BUILTIN.get(entry["type"]), "needs", None)
        if needs in (None, "combined"):
            continue  # a kit's own class, or Combined (its parts are checked)
        own = ("detection", "clustering")
        if (needs in own or ptype in own) and needs != ptype:
            cls = ramp_names.get(entry["type"], entry["type"])
            raise RampImportError(f"{p.file}: score type {cls} does not apply to {ptype} "
                                  "predictions")


def _score_call(p: _Problem, node: ast.AST | None, where: ast.AST) -> ast.Call:
    """A score type given by name (`score_type_1`, assigned at module level) or inline."""
    call = p.call_of(node.id) if isinstance(node, ast.Name) else node
    if not isinstance(call, ast.Call):
        raise RampImportError(f"{p.where(where)}: {ast.unparse(node) if node else 'nothing'}"
                              " is not a score type of this problem.py (a call such as "
                              "rw.score_types.MARE(name='mare'), or a name assigned one)")
    return call


def _combined_entry(p: _Problem, call: ast.Call, custom: dict[str, str],
                    notes: list[str]) -> tuple[dict, list[dict]]:
    """RAMP's `Combined(score_types=[...], weights=[...])`: gitramp's combined score,
    whose parts are scores of the kit named in its params."""
    kw = {k.arg: k.value for k in call.keywords}
    parts_node = kw.get("score_types") or (call.args[0] if call.args else None)
    weights_node = kw.get("weights") or (call.args[1] if len(call.args) > 1 else None)
    if not isinstance(parts_node, ast.List | ast.Tuple) or weights_node is None:
        raise RampImportError(f"{p.where(call)}: Combined needs score_types=[...] and "
                              "weights=[...] written in the call")
    parts = [_score_entry(p, _score_call(p, n, call), custom, notes)
             for n in parts_node.elts]
    try:
        weights = [float(w) for w in p.literal(weights_node)]
        rest = {k: p.literal(v) for k, v in kw.items() if k in ("name", "precision")}
    except (ValueError, TypeError) as e:
        raise RampImportError(f"{p.where(call)}: Combined: arguments that are not "
                              f"constants ({e})") from None
    if len(weights) != len(parts):
        raise RampImportError(f"{p.where(call)}: Combined has {len(parts)} score types and "
                              f"{len(weights)} weights")
    raw_name = rest.get("name", RAMP_DEFAULT_NAMES["Combined"])
    entry = {"name": _score_name(raw_name), "type": "combined",
             "precision": int(rest.get("precision", 2)),
             "params": {"scores": [e["name"] for e in parts], "weights": weights}}
    return entry, parts


def _score_entry(p: _Problem, call: ast.Call, custom: dict[str, str],
                 notes: list[str]) -> dict:
    dotted = p.dotted(call.func) or ""
    cls = dotted.rsplit(".", 1)[-1]
    try:
        kw = p.kwargs(call)
    except ValueError as e:
        raise RampImportError(f"{p.where(call)}: {cls}: arguments that are not "
                              f"constants ({e})") from None
    if _is_ramp(dotted):
        if cls not in RAMP_CLASSES:
            raise RampImportError(
                f"{p.where(call)}: score type {cls} does not apply to multiclass, binary, "
                "regression, detection or combined predictions in gitramp; gitramp has "
                + ", ".join(sorted([*RAMP_CLASSES, "Combined", "MakeCombined"])))
        stype, precision, allowed = RAMP_CLASSES[cls]
        params = {k: v for k, v in kw.items() if k not in ("name", "precision")}
        unknown = set(params) - set(allowed)
        if unknown:
            raise RampImportError(f"{p.where(call)}: {cls} does not take "
                                  f"{', '.join(sorted(unknown))}")
    elif cls in p.classes:
        stype, precision, params = _snake(cls), 2, {}
        custom[stype] = ast.get_source_segment(p.source, call)
    else:
        raise RampImportError(f"{p.where(call)}: score type {ast.unparse(call.func)} is "
                              "neither rampwf's nor a class of this problem.py")
    raw_name = kw.get("name", RAMP_DEFAULT_NAMES.get(cls) or _iou_name(cls, kw)
                      or _init_default(p, cls, "name") or cls)
    entry = {"name": _score_name(raw_name), "type": stype,
             "precision": int(kw.get("precision", precision))}
    if params:
        entry["params"] = params
    if entry["name"] != raw_name:
        notes.append(f"score {raw_name!r} is named {entry['name']!r} (leaderboard "
                     "columns are identifiers)")
    return entry


def _init_default(p: _Problem, cls: str, arg: str) -> Any:
    """The default of `arg` in the __init__ of the problem's class `cls`, or None."""
    node = p.classes.get(cls)
    init = next((n for n in (node.body if node else []) if isinstance(n, ast.FunctionDef)
                 and n.name == "__init__"), None)
    if init is None:
        return None
    args = init.args.args[-len(init.args.defaults):] if init.args.defaults else []
    for a, d in zip(args, init.args.defaults, strict=True):
        if a.arg == arg:
            try:
                return p.literal(d)
            except ValueError:
                return None
    return None


def _cv(p: _Problem, burn_in: int) -> dict[str, Any] | None:
    """`get_cv` as a YAML `cv` when it returns one constant splitter's split(X, y), or
    RAMP's TimeSeries(...).get_cv(X, y) with constant arguments."""
    fn = p.functions.get("get_cv")
    if fn is None:
        return None
    ramp = _ramp_time_series(p, fn)
    if ramp is not None:
        if ramp is False:
            return None
        return {"type": "time_series", "n_splits": ramp.get("n_cv", 8),
                "burn_in": burn_in, "block_fraction": ramp.get("cv_block_size", 0.5),
                "period": ramp.get("period", 12), "to_end": True}
    local: dict[str, ast.Call] = {}
    for stmt in fn.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Call):
            local[stmt.targets[0].id] = stmt.value
            continue
        if not (isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Call)):
            return None
        split = stmt.value
        if not (isinstance(split.func, ast.Attribute) and split.func.attr == "split"):
            return None
        if split.keywords or len(split.args) > 2:
            return None  # groups, or anything else: kept as the hook
        holder = split.func.value
        ctor = local.get(holder.id) if isinstance(holder, ast.Name) else holder
        if not isinstance(ctor, ast.Call):
            return None
        dotted = p.dotted(ctor.func) or ""
        if not dotted.startswith("sklearn.model_selection."):
            return None
        try:
            params = p.kwargs(ctor)
        except ValueError:
            return None
        return {"type": dotted.rsplit(".", 1)[-1], **params}
    return None


TIME_SERIES_ARGS = ("n_cv", "cv_block_size", "period", "unit", "unit_2")


def _ramp_time_series(p: _Problem, fn: ast.FunctionDef) -> dict[str, Any] | bool | None:
    """The arguments of rampwf's TimeSeries when get_cv returns its get_cv(X, y) and
    they are constants; False when it uses TimeSeries otherwise; None without it."""
    calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call)
             and (p.dotted(n.func) or "").endswith("cvs.TimeSeries")
             and _is_ramp(p.dotted(n.func))]
    if not calls:
        return None
    body = [st for st in fn.body
            if not (isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant))]
    ret = body[-1] if body else None
    if len(calls) != 1 or not isinstance(ret, ast.Return) or not isinstance(ret.value,
                                                                           ast.Call):
        return False
    getter = ret.value.func
    holder = getter.value if isinstance(getter, ast.Attribute) else None
    if not (isinstance(getter, ast.Attribute) and getter.attr == "get_cv"):
        return False
    ctor = holder
    if isinstance(holder, ast.Name):
        assigned = [st for st in body[:-1] if isinstance(st, ast.Assign)
                    and [t.id for t in st.targets if isinstance(t, ast.Name)] == [holder.id]]
        ctor = assigned[0].value if len(assigned) == 1 and len(body) == 2 else None
    elif len(body) != 1:
        return False
    if ctor is not calls[0]:
        return False
    try:
        args = dict(zip(TIME_SERIES_ARGS, (p.literal(a) for a in ctor.args), strict=False))
        args.update(p.kwargs(ast.Call(func=ctor.func, args=[], keywords=ctor.keywords)))
    except ValueError:
        return False
    return args


def _callee(call: ast.Call) -> str:
    """The name a call calls: `read_csv` of pd.read_csv(...), `to_numpy` of
    df[col].to_numpy()."""
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _data(p: _Problem, series: bool = False) -> tuple[dict[str, Any], str] | None:
    """The data loaders as YAML (`data`, `target`) when they read data/<file>.csv, take
    the target column as y and drop it (and constant others) from X; else None."""
    files = {}
    helpers: set[str] = set()
    allowed = DATA_CALLS | (SERIES_DATA_CALLS if series else set())
    for split in ("train", "test"):
        fn = p.functions.get(f"get_{split}_data")
        if fn is None:
            return None
        names = [n.value for n in ast.walk(fn) if isinstance(n, ast.Constant)
                 and isinstance(n.value, str) and n.value.endswith(CSV_SUFFIXES)]
        if len(names) != 1:
            return None
        files[split] = names[0]
        for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
            if isinstance(call.func, ast.Name) and call.func.id in p.functions:
                helpers.add(call.func.id)
            elif _callee(call) not in allowed:
                return None
    bodies = [p.functions[h] for h in helpers] or [p.functions["get_train_data"]]
    target, drop = None, []
    for body in bodies:
        calls = [n for n in ast.walk(body) if isinstance(n, ast.Call)]
        if any(_callee(c) not in allowed
               and not (isinstance(c.func, ast.Name) and c.func.id in p.functions)
               for c in calls):
            return None
        reads = [c for c in calls if (p.dotted(c.func) or "").endswith("read_csv")]
        if len(reads) != 1 or "'data'" not in ast.unparse(reads[0]) \
                or not _plain_read(p, reads[0], files.values()):
            return None
        for c in calls:
            if (p.dotted(c.func) or "").endswith(".drop") or (
                    isinstance(c.func, ast.Attribute) and c.func.attr == "drop"):
                arg = c.args[0] if c.args else next(
                    (k.value for k in c.keywords if k.arg in ("columns", "labels")), None)
                try:
                    cols = p.literal(arg) if arg is not None else None
                except ValueError:
                    return None
                cols = [cols] if isinstance(cols, str) else cols
                if not cols:
                    return None
                target, drop = cols[0], list(cols[1:])
    if target is None:
        return None
    data = {"train": f"data/{files['train']}", "test": f"data/{files['test']}"}
    if drop:
        data["drop"] = drop
    return data, target


def _plain_read(p: _Problem, call: ast.Call, files) -> bool:
    """A read_csv that YAML's reading (pandas' defaults, compression from the file's
    suffix) repeats: no separator, index, dtypes or parsing of its own."""
    for k in call.keywords:
        if k.arg == "low_memory":
            continue
        if k.arg != "compression":
            return False
        try:
            given = p.literal(k.value)
        except ValueError:
            return False
        inferred = {f.rsplit(".", 1)[-1] for f in files}
        if not (given == "infer" or (len(inferred) == 1 and COMPRESSIONS.get(
                inferred.pop()) == given)):
            return False
    return True


def _burn_in(p: _Problem) -> int:
    """RAMP's `_n_burn_in` of a time-series problem.py (0 when it has none)."""
    value = p.constants.get("_n_burn_in", 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RampImportError(f"{p.file}: _n_burn_in is {value!r}; expected a constant "
                              "integer >= 0")
    return value


def _combined_data(p: _Problem, prediction: dict[str, Any], data: tuple[dict, str]
                   ) -> tuple[tuple[dict, str], str]:
    """A combined kit's loaders drop the class column then the quantity column: the
    quantity is the second (when make_regression did not name it)."""
    spec, target = data
    drop = list(spec.get("drop", []))
    quantity = prediction.get("quantity") or (drop[0] if drop else None)
    if quantity is not None:
        prediction["quantity"] = quantity
        drop = [c for c in drop if c != quantity]
    spec = {k: v for k, v in spec.items() if k != "drop"} | ({"drop": drop} if drop else {})
    return (spec, target), target


def _target(p: _Problem) -> str | None:
    for name in ("_target_column_name", "_target_column", "_target", "target_column_name",
                 "_target_column_name_clf"):
        if isinstance(p.constants.get(name), str):
            return p.constants[name]
    return None


# ------------------------------------------------------------------ the new problem.py
def _hooks_source(p: _Problem, drop_functions: set[str], custom: dict[str, str],
                  labels: list, burn_in: int = 0) -> tuple[str | None, list[str]]:
    """problem.py without rampwf: its imports and RAMP declarations left out, its own
    score classes on the scorer's bases. None when nothing of it is still needed."""
    lines = p.source.splitlines(keepends=True)
    cut: list[tuple[int, int]] = []
    for node in p.tree.body:
        drop = False
        if isinstance(node, ast.Import | ast.ImportFrom):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""]
            drop = any(m.split(".")[0] == "rampwf" for m in mods)
            if drop and not all(m.split(".")[0] == "rampwf" for m in mods):
                raise RampImportError(f"{p.where(node)}: split this import: rampwf on a "
                                      "line of its own")
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            drop = node.targets[0].id in ("Predictions", "workflow", "score_types",
                                           "problem_title") or (
                isinstance(node.value, ast.Call) and _is_ramp(p.dotted(node.value.func)))
        elif isinstance(node, ast.FunctionDef):
            drop = node.name in drop_functions
        if drop:
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            cut.append((start - 1, node.end_lineno))
    keep = [i for i in range(len(lines)) if not any(a <= i < b for a, b in cut)]
    text = "".join(lines[i] for i in keep)
    # The kit's own score classes: rampwf's bases become the scorer's.
    bases = {"BaseScoreType": "RampScoreBase", "ClassifierBaseScoreType":
             "RampClassifierScoreBase"}
    tree = ast.parse(text)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for b in node.bases:
                d = p.dotted(b) or ""
                if _is_ramp(d):
                    short = d.rsplit(".", 1)[-1]
                    if short not in bases:
                        raise RampImportError(
                            f"{p.file}: class {node.name} derives from rampwf's {short}; "
                            "derive it from BaseScoreType or ClassifierBaseScoreType and "
                            "write its __call__, or use the built-in type in score_types")
                    edits.append((b, bases[short]))
    # RAMP's TimeSeries cv in a kept get_cv: the scorer's, on rows after the burn-in.
    series_cv = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and _is_ramp(p.dotted(n.func))
                 and (p.dotted(n.func) or "").endswith("cvs.TimeSeries")]
    edits += [(f, "_RampTimeSeries") for f in series_cv]
    for b, new in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        text = _replace_node(text, b, new)
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute) and _is_ramp(p.dotted(node)):
            raise RampImportError(
                f"{p.file}: `{ast.unparse(node)}` (line {node.lineno} once the RAMP "
                "declarations are left out) uses rampwf, which a gitramp kit does not "
                "install; write that part without it")
    meaningful = [n for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom)
                  and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    hooks = sorted(n.name for n in tree.body if isinstance(n, ast.FunctionDef)
                   and n.name in ("get_train_data", "get_test_data", "get_cv"))
    if not custom and not hooks:
        return None, []
    if not meaningful and not custom:
        return None, []
    header = ('"""Hooks of this kit, converted from its RAMP problem.py by '
              '`gitramp import-ramp` (see docs/from-ramp.md)."""\n')
    if custom:
        header += ("from scorer.score_types import RampClassifierScoreBase, RampScoreBase, "
                   "from_ramp\n")
    if series_cv:
        header += ("from functools import partial\n\n"
                   "from scorer.cv_time import RampTimeSeries\n\n"
                   f"_RampTimeSeries = partial(RampTimeSeries, burn_in={burn_in})\n")
    text = header + re.sub(r"\n{4,}", "\n\n\n", text).lstrip("\n")
    if custom:
        body = ",\n".join(f"    {stype!r}: from_ramp({src}, labels={labels!r})"
                          for stype, src in custom.items())
        text = text.rstrip("\n") + f"\n\n\nscore_types = {{\n{body},\n}}\n"
    return text, hooks + (["score_types"] if custom else [])


def _replace_node(text: str, node: ast.AST, new: str) -> str:
    lines = text.splitlines(keepends=True)
    line = lines[node.lineno - 1]
    end = node.end_col_offset if node.end_lineno == node.lineno else len(line)
    lines[node.lineno - 1] = line[:node.col_offset] + new + line[end:]
    return "".join(lines)


# ------------------------------------------------------------------ files
def _requirements(src: Path) -> tuple[list[str], list[str]]:
    file = src / "requirements.txt"
    if not file.is_file():
        return [], []
    kept, left = [], []
    for line in file.read_text().splitlines():
        req = line.split("#", 1)[0].strip()
        if not req or req.startswith("-"):
            continue
        name = re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].strip().lower()
        (left if name in NOT_REQUIRED or name.startswith("git+") else kept).append(req)
    return kept, left


def _copy_tree(src: Path, dst: Path) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).resolve() == src.resolve()
        out = {n for n in names if n in SKIPPED or n.endswith(".pyc")}
        if here:
            out |= {RAMP_PROBLEM, "README.md", "requirements.txt", "challenge.yml"}
        return out

    shutil.copytree(src, dst, ignore=ignore, dirs_exist_ok=True)
    for nb in dst.rglob("*.ipynb"):
        _clear_outputs(nb)


def _clear_outputs(nb: Path) -> None:
    try:
        doc = json.loads(nb.read_text())
    except (OSError, ValueError):
        return
    for cell in doc.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def _submission_sizes(src: Path) -> tuple[int, int]:
    files, size = 0, 0
    root = src / "submissions"
    for sub in (root.iterdir() if root.is_dir() else []):
        if sub.is_dir():
            own = [f for f in sub.rglob("*") if f.is_file() and not (
                set(f.relative_to(sub).parts) & SKIPPED) and f.suffix != ".pyc"]
            files = max(files, len(own))
            size = max(size, sum(f.stat().st_size for f in own))
    return files, size


README = """\
# {title}

Converted from a RAMP kit by `gitramp import-ramp`. Submissions are written as for
RAMP (`submissions/<name>/`, the same files); they are trained and scored with gitramp.

## Test a submission

```
pip install gitramp{extra}
gitramp test --kit . --submission starting_kit        # every fold, mean and bagged scores
gitramp test --kit . --submission starting_kit --quick-test   # a small slice, 2 folds
gitramp test --kit . --submission ALL                 # every submission
gitramp test --kit . --data PATH/TO/PRIVATE/DATA      # the full data, same layout
```

| RAMP | gitramp |
|---|---|
| `ramp-test --submission NAME` | `gitramp test --kit . --submission NAME` |
| `ramp-test --quick-test` | `gitramp test --kit . --quick-test` |
| `ramp-test --ramp-data-dir DIR` | `gitramp test --kit . --data DIR` |
| `ramp-test --save-output` | `gitramp test --kit . --save-output DIR` |

`challenge.yml` says what is predicted and how it is scored{hooks}.

"""


def _readme(src: Path, title: str, hooks: list[str], requirements: list[str]) -> str:
    extra = f" && pip install {' '.join(requirements)}" if requirements else ""
    text = README.format(title=title, extra=extra, hooks=(
        f"; `problem.py` keeps {', '.join(hooks)}" if hooks else ""))
    old = src / "README.md"
    if old.is_file():
        body = old.read_text()
        body = re.sub(r"ramp[-_]test(?:_submission)?", "gitramp test --kit .", body)
        body = re.sub(r"(?m)^#", "##", body)
        text += "## The original README\n\n" + body.strip() + "\n"
    return text


# ------------------------------------------------------------------ the entry point
def import_ramp(src: str | Path, out: str | Path, *, force: bool = False) -> Imported:
    """Convert the RAMP kit at `src` into a gitramp kit at `out`."""
    src, out = Path(src).resolve(), Path(out).resolve()
    problem_file = src / RAMP_PROBLEM
    if not problem_file.is_file():
        raise RampImportError(f"{src}: no {RAMP_PROBLEM}; a RAMP kit is a folder holding "
                              "problem.py, data/ and submissions/")
    if out.exists() and any(out.iterdir()) and not force:
        raise RampImportError(f"{out}: not empty; choose another --out or pass --force")
    if out == src or src in out.parents:
        raise RampImportError(f"{out}: inside the RAMP kit; write the gitramp kit elsewhere")
    p = _Problem(problem_file)
    prediction, labels = _prediction(p)
    workflow, extra_files = _workflow(p)
    for wf, ptype in (("object_detector", "detection"), ("drug_spectra", "combined"),
                      ("clusterer", "clustering")):
        if (workflow == wf) != (prediction["type"] == ptype):
            raise RampImportError(f"{p.file}: workflow {workflow} with a "
                                  f"{prediction['type']} prediction type")
    if workflow not in ("estimator", "object_detector", "drug_spectra", "clusterer"):
        wants = "regression" if workflow.endswith("regressor") else "classes"
        if (prediction["type"] == "regression") != (wants == "regression"):
            raise RampImportError(f"{p.file}: workflow {workflow} with a "
                                  f"{prediction['type']} prediction type")
    scores, custom, notes = _scores(p, labels)
    _scores_fit(p, scores, prediction["type"])
    series = workflow in SERIES_WORKFLOWS
    burn_in = _burn_in(p) if series else 0
    cv = _cv(p, burn_in)
    data = _data(p, series)
    target = data[1] if data else _target(p)
    if data and prediction["type"] == "combined":
        data, target = _combined_data(p, prediction, data)
    drop_functions = ({"get_cv"} if cv else set()) | (
        {"get_train_data", "get_test_data"} if data else set())
    hooks_text, hooks = _hooks_source(p, drop_functions, custom, labels, burn_in)
    if prediction["type"] == "combined" and "quantity" not in prediction:
        named = [v for k, v in p.constants.items() if k.startswith("_target_column")
                 and k.endswith("reg") and isinstance(v, str)]
        if len(named) == 1:
            prediction["quantity"] = named[0]
    if prediction["type"] == "combined" and "quantity" not in prediction:
        raise RampImportError(f"{p.file}: no column of the quantity found (label_names of "
                              "make_regression, _target_column_name_reg, or the second "
                              "column the loaders drop); "
                              "name it with make_regression(label_names=['<column>'])")
    if series:
        if not data:
            raise RampImportError(
                f"{p.file}: the data loaders of a time-series kit must read one CSV per "
                "split (one row per time step, the target a column) to be converted; a "
                "gitramp time-series kit gives the feature extractor that table")
        if not cv and "get_cv" not in hooks:
            cv = {"type": "time_series", "n_splits": 5, "burn_in": burn_in}
            notes.append("problem.py has no get_cv: the folds are time_series with "
                         "5 splits; change cv to choose")
        notes.append("the feature extractor receives a pandas DataFrame (one column per "
                     "variable, one row per time step; X_ds.attrs['n_burn_in'] as in RAMP), "
                     "not an xarray Dataset: X_ds['var'].values works in both, xarray-only "
                     "calls (.isel, .sel, X_ds.n_burn_in) need rewriting")
        if burn_in:
            notes.append(f"the first {burn_in} rows are the burn-in (_n_burn_in)")

    title = p.constants.get("problem_title") or src.name
    spec: dict[str, Any] = {"title": str(title), "workflow": workflow,
                            "target": target or "target", "prediction": prediction,
                            "scores": scores}
    if cv:
        spec["cv"] = cv
    elif "get_cv" not in hooks:
        notes.append("problem.py has no get_cv: the folds are KFold(5) without shuffling; "
                     "add a cv key to choose")
    if data:
        spec["data"] = data[0]
    else:
        notes.append("the data loaders stay in problem.py (get_train_data, get_test_data): "
                     "they do more than read a CSV and drop columns")
        if target is None:
            notes.append("no target column found (_target_column_name); `target` is a "
                         "placeholder that the loaders make unused")
    if "RAMP_TEST_MODE" in p.source:
        notes.append("problem.py reads RAMP_TEST_MODE: " + (
            "the data loaders stay hooks and gitramp test --quick-test sets it, as "
            "ramp-test --quick-test does" if not data else "its slice is left out with "
            "the loaders; gitramp test --quick-test takes its own (200 training and 100 "
            "test rows, 2 folds)"))
    if "save_submission" in p.functions:
        notes.append("save_submission is not used: gitramp test --save-output DIR writes "
                     "each fold's predictions")
    n_files, n_bytes = _submission_sizes(src)
    limits: dict[str, Any] = {}
    if n_files > 10:
        limits["max_files"] = n_files
    if n_bytes > 1_000_000:
        limits["max_bytes"] = int(n_bytes * 1.5)
        notes.append(f"max_bytes raised to {limits['max_bytes']} so that the largest "
                     f"submission ({n_bytes} bytes) is admitted")
    if limits:
        spec["limits"] = limits
    if extra_files:
        spec["extra_files"] = list(extra_files)
    requirements, left = _requirements(src)
    if requirements:
        spec["requirements"] = requirements
    if left:
        notes.append("requirements left out (rampwf, notebook-only, or in the scoring image "
                     "already): " + ", ".join(left))

    if force and out.exists():
        shutil.rmtree(out)
    _copy_tree(src, out)
    (out / SPEC_FILE).write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True,
                                                default_flow_style=None, width=100))
    if hooks_text:
        (out / RAMP_PROBLEM).write_text(hooks_text)
    (out / "README.md").write_text(_readme(src, str(title), hooks, requirements))
    kit = load_kit(out)  # what was written loads, with its problem.py
    check_one_cv(kit)
    notes.append("no phases: add them to challenge.yml before opening the challenge")
    return Imported(out, spec, hooks, notes)
