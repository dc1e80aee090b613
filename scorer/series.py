"""Time-series workflows: each fold's code receives the series cut at that fold's end.

A fold of a time-series kit (scorer/cv_time.py) trains on rows up to a cut-off and is
validated on the block after it. The scorer, not the submission, makes sure that no
fold can read a row after its validation block:

- `write_series_inputs` (in the scorer) writes no public copy of the features. Next to
  each fold's labels, in the private folder only root reads in the container
  (inputs/fold_labels/), it writes `fold_<i>_X.pkl`: the training series from its
  first row to the end of fold i's validation block, and `series.pkl`: the whole
  series, training rows then test rows.
- `supervise_series` (the supervisor, which never loads any of them) runs two processes
  per fold, each a fold process of scorer/ingest.py (`fork_fold`, `fold_process`: the
  fold's fence, its limits, the grace after its predictions are written), and every
  fold's first one before any second:
  1. *valid*: reads its labels and `fold_<i>_X.pkl`, then (the fence entered) fits on
     the fold's training rows and predicts every row of its piece of the series: the
     rows after the burn-in up to the end of the validation block; the rows after
     that are written as 0 (the scorer reads no prediction of them).
  2. *test*: reads its labels and `series.pkl`, fits again on the same rows and
     predicts the test rows, which follow the training rows in time.
  A process of the first kind holds nothing after its cut-off, in memory or readable
  on disk (under the Docker fence); a submission that looks further finds nothing.
  The test block is predicted with the whole series in hand, as RAMP does; within a
  block the workflow's look-ahead check (RAMP's perturbation check, at several points
  of the block: its `check_points`) is the second line.

Outputs are those of every workflow: fold_<i>_train.npy (by the valid process),
fold_<i>_test.npy (by the test process) and fold_<i>.json (by the supervisor: fit time
of the valid process, predict times of both, wall and CPU time of both).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from scorer.workflows import WorkflowTask, get_workflow

META = "series.json"  # {"n_train", "n_test"}: public, no data
SERIES = "series.pkl"


def cut_file(folder: Path, fold: int) -> Path:
    return Path(folder) / f"fold_{fold}_X.pkl"


# ------------------------------------------------------------------ the supervisor
def supervise_series(ingest, workflow: str, submission: Path, inputs: Path, out: Path,
                     folds: list[int] | None = None, fence=None) -> int:
    submission, inputs, out = Path(submission).resolve(), Path(inputs), Path(out)
    fence = fence or ingest.Fence(inputs)
    get_workflow(workflow)
    meta = json.loads((inputs / META).read_text())
    all_folds, task = ingest.load_folds(inputs)
    shared = (workflow, submission, all_folds, task, meta)  # ingest: scorer.ingest itself
    mine = list(range(len(all_folds))) if folds is None else list(folds)
    runs: dict[int, list[tuple[dict, float, float]]] = {i: [] for i in mine}
    for part in ("valid", "test"):  # every fold's cut piece before any whole series
        for i in mine:
            code, split, wall, cpu = ingest.fork_fold(
                i, out, fence, _part_body(ingest, i, part, shared, fence))
            if code != 0:
                return code
            runs[i].append((split, wall, cpu))
            if part == "test":
                (out / f"fold_{i}.json").write_text(json.dumps(_fold_times(ingest, runs[i])))
                print(ingest.FOLD_DONE.format(i), flush=True)
    return 0


def _fold_times(ingest, runs: list[tuple[dict, float, float]]) -> dict[str, float]:
    (v_split, v_wall, v_cpu), (t_split, t_wall, t_cpu) = runs
    valid, test = ingest._times(v_split, v_wall, v_cpu), ingest._times(t_split, t_wall, t_cpu)
    return {"fit_time": valid["fit_time"],
            "predict_time": valid["predict_time"] + test["predict_time"],
            "wall_time": v_wall + t_wall, "cpu_time": v_cpu + t_cpu}


def _part_body(ingest, i: int, part: str, shared: tuple, fence):
    """What the part's process runs (ingest.fork_fold forks it): ingest's fold process,
    reading the fold's labels and its piece of the series before the fence."""
    workflow, submission, all_folds, task, meta = shared

    def read(labels: Path) -> tuple[np.ndarray, pd.DataFrame]:
        return (np.load(ingest.fold_label_file(labels, i), allow_pickle=False),
                pd.read_pickle(cut_file(labels, i) if part == "valid" else labels / SERIES))

    def body(work: Path, split_fd: int) -> None:
        argv = [__file__, "--workflow", workflow, "--submission", str(submission),
                "--fold", str(i), "--part", part]
        ingest.fold_process(i, fence, split_fd, argv, read,
                            lambda held, report: run_part(ingest, workflow, submission,
                                                          held[1], held[0], all_folds[i],
                                                          part, task, meta, work, i, report))
    return body


def run_part(ingest, workflow: str, submission: Path, X: pd.DataFrame, y_fold: np.ndarray,
             fold: tuple[np.ndarray, np.ndarray], part: str, task: WorkflowTask,
             meta: dict, out: Path, i: int, report=None) -> int:
    """Fit on the fold's training rows (X: the series from its first row), predict the
    part's rows, write them; 0 when done, 1 when the submission failed."""
    wf = get_workflow(workflow)
    train_idx, valid_idx = fold
    burn, train_end = int(train_idx[0]), int(train_idx[-1]) + 1
    try:
        try:
            modules = ingest.load_elements(Path(submission), wf.ELEMENTS)
        except BaseException as e:
            raise ingest.SubmissionFailed("load", e) from e
        t0 = time.perf_counter()
        try:
            model = wf.fit(modules, X.iloc[:train_end], y_fold, task, burn)
        except BaseException as e:
            raise ingest.SubmissionFailed("fit", e) from e
        t1 = time.perf_counter()
        try:
            if part == "valid":
                rows = np.arange(burn, len(X))
                pred = ingest._numeric(wf.predict(model, X, rows, task, burn,
                                                  check_block=valid_idx, seed=i),
                                       "training rows")
                full = np.zeros(meta["n_train"])
                full[rows] = _rows(pred, len(rows))
                name = f"fold_{i}_train.npy"
            else:
                n_train = meta["n_train"]
                rows = np.arange(n_train, n_train + meta["n_test"])
                full = _rows(ingest._numeric(wf.predict(model, X, rows, task, burn,
                                                        check_block=rows, seed=1000 + i),
                                             "test rows"), len(rows))
                name = f"fold_{i}_test.npy"
        except BaseException as e:
            raise ingest.SubmissionFailed("predict", e) from e
        t2 = time.perf_counter()
        np.save(Path(out) / name, full, allow_pickle=False)
        if report is not None:
            report({"fit_time": t1 - t0, "predict_time": t2 - t1})
    except ingest.SubmissionFailed as f:
        if isinstance(f.error, KeyboardInterrupt):
            raise
        ingest._write_error(Path(out), f.stage, f.error, Path(submission))
        return 1
    return 0


def _rows(pred: np.ndarray, n: int) -> np.ndarray:
    pred = pred.reshape(-1) if pred.ndim == 2 and pred.shape[1:] == (1,) else pred
    if pred.shape != (n,):
        raise ValueError(f"Regressor.predict returned shape {pred.shape}; expected ({n},)")
    return pred
