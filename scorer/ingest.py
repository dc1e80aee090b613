"""The ingestion entry point: trains a submission and writes its predictions.

    python -m scorer.ingest --workflow W --submission DIR --inputs DIR --out DIR [--folds 0,2]

This runs in the submission's own process: a child of the local backend or the
only process of a Docker container. It imports numpy, pandas, scikit-learn and
`scorer.workflows`, nothing else of gitramp, and it never sees test labels.

`inputs/` (written by the trusted scorer, see scorer/inputs.py):
    X_train.pkl  y_train.npy  X_test.pkl  folds.npz (train_<i>, valid_<i>)  labels.json
`out/`, for each fold i (read back strictly by scorer/outputs.py):
    fold_<i>_train.npy  predictions on every training row
    fold_<i>_test.npy   predictions on the test rows
    fold_<i>.json       {"fit_time": s, "predict_time": s}
    error.json          on failure: {"stage", "file", "line", "message", "traceback"}
Exit status: 0 when every fold was written, 1 when the submission failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from scorer.workflows import WorkflowTask, get_workflow

FOLD_DONE = "ingest: fold {} done"


class SubmissionFailed(Exception):
    def __init__(self, stage: str, error: BaseException):
        super().__init__(stage)
        self.stage, self.error = stage, error


def load_inputs(inputs: Path):
    # These pickles were written by the scorer itself (trusted) and are only read
    # here; nothing the submission writes is ever unpickled by the scorer.
    X_train = pd.read_pickle(inputs / "X_train.pkl")
    X_test = pd.read_pickle(inputs / "X_test.pkl")
    y_train = np.load(inputs / "y_train.npy", allow_pickle=False)
    with np.load(inputs / "folds.npz", allow_pickle=False) as z:
        n = len([k for k in z.files if k.startswith("train_")])
        folds = [(z[f"train_{i}"], z[f"valid_{i}"]) for i in range(n)]
    labels = json.loads((inputs / "labels.json").read_text())
    return X_train, y_train, X_test, folds, WorkflowTask(tuple(labels))


def load_elements(submission: Path, names: tuple[str, ...]) -> dict:
    sys.path.insert(0, str(submission))  # so a submission may import its own helper files
    modules = {}
    for file in names:
        path = submission / file
        if not path.is_file():
            raise FileNotFoundError(f"the submission has no {file}; this workflow needs "
                                    + ", ".join(names))
        spec = importlib.util.spec_from_file_location(Path(file).stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules[file] = module
    return modules


def run(workflow: str, submission: Path, inputs: Path, out: Path,
        folds: list[int] | None = None) -> int:
    submission, out = Path(submission).resolve(), Path(out)
    wf = get_workflow(workflow)
    X_train, y_train, X_test, all_folds, task = load_inputs(Path(inputs))
    try:
        try:
            modules = load_elements(submission, wf.ELEMENTS)
        except BaseException as e:
            raise SubmissionFailed("load", e) from e
        for i in (range(len(all_folds)) if folds is None else folds):
            train_idx, _ = all_folds[i]
            t0 = time.perf_counter()
            try:
                model = wf.fit(modules, X_train.iloc[train_idx], y_train[train_idx], task)
            except BaseException as e:
                raise SubmissionFailed("fit", e) from e
            t1 = time.perf_counter()
            try:
                pred_train = _numeric(wf.predict(model, X_train, task), "training rows")
                pred_test = _numeric(wf.predict(model, X_test, task), "test rows")
            except BaseException as e:
                raise SubmissionFailed("predict", e) from e
            t2 = time.perf_counter()
            np.save(out / f"fold_{i}_train.npy", pred_train, allow_pickle=False)
            np.save(out / f"fold_{i}_test.npy", pred_test, allow_pickle=False)
            (out / f"fold_{i}.json").write_text(
                json.dumps({"fit_time": t1 - t0, "predict_time": t2 - t1}))
            print(FOLD_DONE.format(i), flush=True)
    except SubmissionFailed as f:
        if isinstance(f.error, KeyboardInterrupt):
            raise
        _write_error(out, f.stage, f.error, submission)
        return 1
    return 0


def _numeric(pred, what: str) -> np.ndarray:
    arr = np.asarray(pred)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"predictions on the {what} are of dtype {arr.dtype}; "
                        "expected numbers")
    return arr.astype(np.float64, copy=False)


def _write_error(out: Path, stage: str, error: BaseException, submission: Path) -> None:
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if Path(f.filename).resolve().is_relative_to(submission)]
    where = own[-1] if own else (frames[-1] if frames else None)
    if isinstance(error, SyntaxError) and error.filename:
        file, line = error.filename, error.lineno
    else:
        file, line = (where.filename, where.lineno) if where else (None, None)
    if file and Path(file).resolve().is_relative_to(submission):
        file = str(Path(file).resolve().relative_to(submission))
    tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    msg = f"{type(error).__name__}: {error}"
    (out / "error.json").write_text(json.dumps(
        {"stage": stage, "file": file, "line": line, "message": msg[:2000],
         "traceback": tb[-8000:]}))
    print(f"ingest: {stage} failed: {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scorer.ingest")
    p.add_argument("--workflow", required=True)
    p.add_argument("--submission", required=True, type=Path)
    p.add_argument("--inputs", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--folds", default=None, help="comma-separated fold numbers (default: all)")
    a = p.parse_args(argv)
    folds = [int(x) for x in a.folds.split(",")] if a.folds else None
    return run(a.workflow, a.submission, a.inputs, a.out, folds)


if __name__ == "__main__":
    sys.exit(main())
