"""Scores one submission: data and folds in, a ScoringRun (its Result, and the fold
predictions for blending) out.

Everything here runs in the scorer's own process and never imports submission
code: a backend runs that code and returns raw files, which are parsed strictly,
and every score is computed here against labels the submission never saw.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorer import clustering, combined, detection, reasons
from scorer.backends.base import Backend, IngestJob, IngestOutcome
from scorer.backends.docker_image import kit_requirements_hash
from scorer.backends.local import LocalBackend
from scorer.cv import make_folds
from scorer.cv_time import is_series
from scorer.data import Dataset, label_codes, load_data, subsample
from scorer.inputs import write_inputs
from scorer.outputs import FoldOutput, InvalidOutput, parse_error, parse_outputs
from scorer.result import INGEST_STAGES, INVALID_OUTPUT, SCORED, FoldScores, Result
from scorer.score_types import BoundScore, bind_scores, combinable
from scorer.score_types import preload as preload_metrics
from scorer.series_inputs import write_series_inputs
from scorer.task import Task
from scorer.untrusted import clean_text

QUICK_FOLDS = 2
LOG_TAIL_CHARS = 4000


@dataclass
class FoldPredictions:
    """One fold model's predictions on the rows it held out and on the test rows."""

    train_idx: np.ndarray
    valid_idx: np.ndarray
    valid_pred: np.ndarray
    test_pred: np.ndarray


@dataclass
class ScoringRun:
    """Everything one scoring run produced: the ledger record and, for blending, the
    fold predictions and the labels they are scored against."""

    result: Result
    predictions: list[FoldPredictions]  # empty unless scored
    y_train: np.ndarray  # encoded: class indices in the kit's label order, or floats
    y_test: np.ndarray
    error: dict | None = None  # the submission's own failure record (stage, file, traceback)


def score_submission(kit: Task, submission_dir: Path, *, backend: Backend | None = None,
                     data_dir: Path | None = None, quick: bool = False, jobs: int = 1,
                     progress: Callable[[int], None] | None = None,
                     name: str | None = None, dataset: Dataset | None = None,
                     local: bool = False) -> ScoringRun:
    """Train and score `submission_dir` on every fold of the kit.

    `local`: the caller is `gitramp test` on the participant's machine, so a failure's
    reason does not tell them to run it locally.

    `dataset` lets a caller scoring many submissions load the data once.
    """
    if backend is None:
        backend = LocalBackend()
    scores = bind_scores(kit)
    ds = dataset or load_data(kit, data_dir, quick=quick)
    if quick:
        ds = subsample(ds, kit)
    folds = make_folds(kit, ds.X_train, ds.y_train)
    if quick:
        folds = folds[:QUICK_FOLDS]
    y_train, y_test = encode(kit, ds.y_train), encode(kit, ds.y_test)
    base = Result(challenge=kit.name, submission=name or Path(submission_dir).name,
                  status=SCORED, score_names=[s.name for s in scores],
                  lower_is_better={s.name: s.lower_is_better for s in scores},
                  precision={s.name: s.precision for s in scores}, backend=backend.name)

    with tempfile.TemporaryDirectory(prefix="gitramp-in-") as tmp:
        write = write_series_inputs if is_series(kit.workflow) else write_inputs  # cut in time
        inputs = write(ds, folds, kit.labels, Path(tmp) / "inputs")
        job = IngestJob(kit.workflow, Path(submission_dir).resolve(), inputs, len(folds),
                        kit.limits, jobs=jobs,
                        requirements_hash=kit_requirements_hash(kit.requirements),
                        kit_dir=kit.path)
        preload_metrics()
        outcome = backend.run(job, progress)
        Path(tmp, "inputs").chmod(0o755)  # let the temporary folder be removed
    base.image = outcome.image
    if outcome.status == "ok" and outcome.message:  # e.g. it ran on the CPU, no GPU present
        base.reason = outcome.message
    error = parse_error(outcome.outputs)
    if outcome.status != "ok":
        return ScoringRun(_failed(base, outcome, error, kit, local), [], y_train, y_test,
                          error)
    detects = kit.prediction_type == "detection"
    try:
        if detects:
            fold_outputs = detection.parse_outputs(outcome.outputs, len(folds), len(y_train),
                                                   len(y_test))
        elif kit.prediction_type == "combined":  # class probabilities, then the quantity
            fold_outputs = combined.parse_outputs(outcome.outputs, len(folds), len(y_train),
                                                  len(y_test), len(kit.labels))
        elif kit.prediction_type == "clustering":  # a cluster id per point
            fold_outputs = clustering.parse_outputs(outcome.outputs, len(folds), len(y_train),
                                                    len(y_test))
        else:
            fold_outputs = parse_outputs(outcome.outputs, len(folds), len(y_train),
                                         len(y_test), len(kit.labels))
    except InvalidOutput as e:
        base.status, base.stage = INVALID_OUTPUT, "validate"
        base.reason = reasons.invalid_output(str(e), kit.prediction_type)
        base.log_tail = _tail(outcome.log)
        return ScoringRun(base, [], y_train, y_test)

    base.folds, preds = [], []
    for (tr, va), out in zip(folds, fold_outputs, strict=True):
        base.folds.append(_fold_scores(scores, y_train, y_test, tr, va, out))
        preds.append(FoldPredictions(tr, va, out.train[va], out.test))
    base.bagged = (detection.bagged_scores if detects else bagged_scores)(
        scores, preds, y_train, y_test,
        **({"combine": combined.combine} if kit.prediction_type == "combined" else {}))
    base.log_tail = _tail(outcome.log)
    # Detections are not kept for blending (scorer/blend.py averages arrays of numbers),
    # nor cluster ids (arbitrary labels: the mean of two submissions' ids means nothing).
    # Combined predictions are: a blend averages every column, as their bagging does.
    keep = not detects and kit.prediction_type != "clustering"
    return ScoringRun(base, preds if keep else [], y_train, y_test)


def encode(kit: Task, y: np.ndarray) -> np.ndarray:
    if kit.prediction_type == "detection":
        return y  # per image, an array of (x, y, radius) rows (scorer.detection.truth)
    if kit.prediction_type == "combined":
        return combined.encode(kit, y, label_codes)  # (n, 2): class index, quantity
    if kit.prediction_type == "clustering":
        return np.asarray(y)  # (n, 2) integers: event, cluster (scorer.clustering.truth)
    if not kit.is_classification:
        return np.asarray(y, dtype=float)
    return label_codes(kit.labels, y)  # by value: y keeps the data's type


def _fold_scores(scores: list[BoundScore], y_train, y_test, tr, va,
                 out: FoldOutput) -> FoldScores:
    return FoldScores(
        scores={"train": _all(scores, y_train[tr], out.train[tr]),
                "valid": _all(scores, y_train[va], out.train[va]),
                "test": _all(scores, y_test, out.test)},
        fit_time=out.fit_time, predict_time=out.predict_time)


def bagged_scores(scores: list[BoundScore], preds: list[FoldPredictions], y_train: np.ndarray,
                  y_test: np.ndarray, combine=combinable) -> dict[str, dict[str, float]]:
    """Bagged valid: each training row's held-out predictions averaged over the folds
    that held it out (rows never held out are left out); bagged test: the fold
    models' test predictions averaged, each made `combine`-able first."""
    total = np.zeros((len(y_train),) + preds[0].valid_pred.shape[1:])
    count = np.zeros(len(y_train))
    for p in preds:
        total[p.valid_idx] += combine(p.valid_pred)  # as RAMP bags: clipped, renormalised
        count[p.valid_idx] += 1
    seen = count > 0
    shape = (-1,) + (1,) * (total.ndim - 1)
    valid = total[seen] / count[seen].reshape(shape)
    test = np.mean([combine(p.test_pred) for p in preds], axis=0)
    return {"valid": _all(scores, y_train[seen], valid), "test": _all(scores, y_test, test)}


def _all(scores: list[BoundScore], y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {s.name: s(y_true, y_pred) for s in scores}


def _failed(base: Result, outcome: IngestOutcome, error: dict | None, kit: Task,
            local: bool = False) -> Result:
    base.status = outcome.status
    # only a stage of the scorer's vocabulary: error.json is the submission's word
    stage = (error or {}).get("stage")
    base.stage = stage if stage in INGEST_STAGES else None
    base.reason = reasons.explain(outcome, error, kit.limits, local=local,
                                  prediction=kit.prediction_type)
    tail = outcome.log
    if error and error.get("traceback"):
        tail = f"{tail}\n{error['traceback']}"
    base.log_tail = _tail(tail, truncated=outcome.log_truncated)
    return base


def _tail(text: str, truncated: bool = False) -> str:
    """The end of a run's log, cleaned (scorer.untrusted) and bounded: it is the
    submission's output. It goes to the private record only (Result.public_dict)."""
    text = clean_text(text, 4 * LOG_TAIL_CHARS, lines=True, tail=True)
    # Progress markers say nothing to a participant; a section left empty goes too.
    text = re.sub(r"(?m)^ingest: fold \d+ done\n?", "", text)
    text = re.sub(r"(?m)^--- worker_\d+ ---\n(?=\s*(--- worker_|\Z))", "", text).strip()
    if len(text) > LOG_TAIL_CHARS or truncated:
        return "[... log truncated ...]\n" + text[-LOG_TAIL_CHARS:]
    return text
