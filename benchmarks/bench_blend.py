"""Blending: gitramp against RAMP's `ramp-blend` (ramp-workflow 0.7.0) on the same predictions.

For N = 50 and N = 200 synthetic submissions (3 classes, 5 folds), the fold
predictions are written twice: into gitramp's predictions store (git repositories,
public and private), and as a RAMP kit (`problem.py`, `data/`,
`submissions/<name>/training_output/fold_<i>/y_pred_{train,test}.npz`). Both blend
on the negative log-likelihood with RAMP's defaults (cap 80 members, threshold 0),
each in a process of its own from start to exit, and the results are compared:

- selected members: per fold, each submission's share of the ensemble must be equal
  (tolerance 1e-12: both count members, so the shares are the same small fractions
  up to the rounding of RAMP's division by the number of folds);
- contributivity in percent (tolerance 1e-9, same reason), and RAMP's rounded integers;
- combined bagged valid and test scores (relative tolerance 1e-9: the two sides
  average and sum in different orders, which moves the last bits).

Then it prints gitramp's time over ramp-blend's (whole processes, one run each).
ramp-workflow is installed in `.venv-bench` at the repository root with the versions
pinned in `benchmarks/ramp-requirements.txt`, on first use (it needs PyPI once);
`make clean` removes it.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".venv-bench"
RAMP_REQUIREMENT = "ramp-workflow==0.7.0"
REQUIREMENTS = Path(__file__).with_name("ramp-requirements.txt")
SIZES = (50, 200)
N_TRAIN, N_TEST, N_CLASSES, N_FOLDS = 1000, 500, 3, 5
VALID_FRACTION = 0.2
GOAL = 0.1  # gitramp time / ramp-blend time at N = 200


# ----------------------------------------------------------------- synthetic data
def make_problem(n_submissions: int, seed: int = 0) -> dict:
    """Labels, folds, and per submission and fold: predictions on all training rows
    and on the test rows (class probabilities of varied quality and correlation)."""
    rng = np.random.default_rng(seed)
    y_train = rng.integers(0, N_CLASSES, N_TRAIN)
    y_test = rng.integers(0, N_CLASSES, N_TEST)
    n_valid = int(VALID_FRACTION * N_TRAIN)
    folds = []
    for _ in range(N_FOLDS):
        perm = rng.permutation(N_TRAIN)
        folds.append((np.sort(perm[n_valid:]), np.sort(perm[:n_valid])))
    # Submissions come in families sharing part of their noise, as forks do.
    n_families = max(2, n_submissions // 5)
    family = rng.integers(0, n_families, n_submissions)
    quality = rng.uniform(0.3, 2.0, n_submissions)
    preds = []
    for s in range(n_submissions):
        per_fold = []
        for _ in range(N_FOLDS):
            shared = np.random.default_rng([seed, int(family[s])])
            train = _proba(rng, shared, y_train, quality[s])
            test = _proba(rng, shared, y_test, quality[s])
            per_fold.append((train, test))
        preds.append(per_fold)
    return {"y_train": y_train, "y_test": y_test, "folds": folds, "preds": preds}


def _proba(rng, shared, y, quality):
    logits = quality * np.eye(N_CLASSES)[y] + rng.normal(0, 1, (len(y), N_CLASSES))
    logits += shared.normal(0, 1, (len(y), N_CLASSES))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def names(n: int) -> list[str]:
    return [f"sub_{i:03d}" for i in range(n)]


# ----------------------------------------------------------------- gitramp side
def write_gitramp(problem: dict, where: Path) -> tuple[Path, Path, list[str]]:
    import pygit2

    from challenge import predictions_store as store
    from scorer.scoring import FoldPredictions

    hub, private = where / "hub", where / "private"
    pygit2.init_repository(str(hub))
    pygit2.init_repository(str(private))
    keys = []
    for i, name in enumerate(names(len(problem["preds"]))):
        key = store.record_key("bench", name, f"{i:040x}", "be" * 20)
        folds = [FoldPredictions(tr, va, train[va], test)
                 for (tr, va), (train, test) in zip(problem["folds"], problem["preds"][i],
                                                    strict=True)]
        store.save(private, key, folds, problem["y_train"], y_test=problem["y_test"],
                   public_repo=hub)
        keys.append(key)
    return hub, private, keys


def run_gitramp(hub: Path, private: Path, keys: list[str]) -> dict:
    """What `gitramp blend` does with stored predictions: load, blend, report."""
    from challenge import predictions_store as store
    from scorer.blend import FoldInputs, batch_score_for, blend
    from scorer.score_types import BUILTIN

    BUILTIN["nll"].fn(np.array([0, 1]), np.eye(2))  # import scikit-learn before timing

    start = time.perf_counter()
    stored = store.load_many(private, keys)
    labels = store.load_labels(private, keys[0])
    subs = [stored[k] for k in keys]
    folds = [FoldInputs(subs[0].valid_idx[f], np.stack([s.valid_preds[f] for s in subs]),
                        np.stack([s.test_preds[f] for s in subs]))
             for f in range(subs[0].n_folds)]
    out = blend(folds, labels.y_train, BUILTIN["nll"].fn, True, y_test=labels.y_test,
                batch_score=batch_score_for("nll"))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "members": float(np.mean([len(fb.order) for fb in out.folds])),
            "fold_shares": [fb.weights.tolist() for fb in out.folds],
            "contributivity": out.contributivity.tolist(),
            "bagged_valid": out.bagged_valid, "bagged_test": out.bagged_test}


# ----------------------------------------------------------------- RAMP side
PROBLEM_PY = """\
import numpy as np
import rampwf as rw

problem_title = "gitramp blending benchmark"
Predictions = rw.prediction_types.make_multiclass(label_names={labels})
workflow = rw.workflows.Classifier()
score_types = [rw.score_types.NegativeLogLikelihood(name="nll")]


def _load(path, part):
    data = np.load(f"{{path}}/data/{{part}}.npz")
    return data["X"], data["y"]


def get_train_data(path="."):
    return _load(path, "train")


def get_test_data(path="."):
    return _load(path, "test")


def get_cv(X, y):
    folds = np.load("data/folds.npz")
    return [(folds[f"train_{{i}}"], folds[f"valid_{{i}}"]) for i in range({n_folds})]
"""


# Runs in .venv-bench: times ramp-workflow's own blending function after its imports,
# to set against gitramp's blending after its imports.
RAMP_TIMER = """\
import json, sys, time, warnings
from rampwf.utils.testing import blend_submissions
warnings.simplefilter("ignore")
start = time.perf_counter()
blend_submissions(submissions=json.loads(sys.argv[1]), ramp_kit_dir=".", ramp_data_dir=".",
                  ramp_submission_dir="submissions", save_output=True, min_improvement=0.0)
print("SECONDS", time.perf_counter() - start)
"""


def write_ramp_kit(problem: dict, kit: Path) -> None:
    (kit / "data").mkdir(parents=True)
    (kit / "problem.py").write_text(PROBLEM_PY.format(labels=list(range(N_CLASSES)),
                                                      n_folds=N_FOLDS))
    np.savez(kit / "data" / "train.npz", X=np.zeros((N_TRAIN, 1)), y=problem["y_train"])
    np.savez(kit / "data" / "test.npz", X=np.zeros((N_TEST, 1)), y=problem["y_test"])
    np.savez(kit / "data" / "folds.npz",
             **{f"{part}_{i}": idx for i, fold in enumerate(problem["folds"])
                for part, idx in zip(("train", "valid"), fold, strict=True)})
    for name, per_fold in zip(names(len(problem["preds"])), problem["preds"], strict=True):
        for i, (train, test) in enumerate(per_fold):
            out = kit / "submissions" / name / "training_output" / f"fold_{i}"
            out.mkdir(parents=True)
            np.savez(out / "y_pred_train.npz", y_pred=train)
            np.savez(out / "y_pred_test.npz", y_pred=test)


def read_ramp(kit: Path, n: int) -> dict:
    out_dir = kit / "submissions" / "training_output"
    with open(out_dir / "contributivities.csv") as fh:
        rows = {r["submission"]: r for r in csv.DictReader(fh)}
    shares = [[float(rows[s][f"fold_{f}"]) * N_FOLDS for s in names(n)] for f in range(N_FOLDS)]
    with open(out_dir / "bagged_scores_combined.csv") as fh:
        bagged = [r for r in csv.DictReader(fh)]
    last = max(int(r["n_bag"]) for r in bagged)
    final = {r["step"]: float(r["nll"]) for r in bagged if int(r["n_bag"]) == last}
    return {"fold_shares": shares,
            "contributivity": [100 * sum(float(rows[s][f"fold_{f}"]) for f in range(N_FOLDS))
                               for s in names(n)],
            "rounded": [int(rows[s]["contributivity"]) for s in names(n)],
            "bagged_valid": final["valid"], "bagged_test": final["test"]}


def ensure_bench_venv() -> Path:
    """`.venv-bench` with ramp-workflow 0.7.0 and the versions pinned in
    `benchmarks/ramp-requirements.txt` (shared with bench_ramp_test.py), made on first use."""
    python = BENCH_VENV / "bin" / "python"
    stamp = BENCH_VENV / ".installed"
    if not python.exists():
        print(f"creating {BENCH_VENV} (needs PyPI once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    if not (BENCH_VENV / "bin" / "ramp-blend").exists() or not stamp.exists() \
            or stamp.read_text().strip() != RAMP_REQUIREMENT:
        print(f"installing {REQUIREMENTS.name} into {BENCH_VENV} ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "-r", str(REQUIREMENTS)], check=True)
        stamp.write_text(RAMP_REQUIREMENT + "\n")
    return python


def _timed(cmd: list[str], cwd: Path, log: Path) -> float:
    start = time.perf_counter()
    with open(log, "w") as fh:
        done = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {done.returncode}); see {log}:\n"
                           + log.read_text()[-3000:])
    return elapsed


# ----------------------------------------------------------------- comparison
def compare(ours: dict, ramp: dict) -> dict:
    shares_ok = np.allclose(ours["fold_shares"], ramp["fold_shares"], rtol=0, atol=1e-12)
    same_members = all(
        (np.asarray(a) > 0).tolist() == (np.asarray(b) > 0).tolist()
        for a, b in zip(ours["fold_shares"], ramp["fold_shares"], strict=True))
    contrib_diff = float(np.max(np.abs(np.subtract(ours["contributivity"],
                                                   ramp["contributivity"]))))
    rounded_ok = np.array_equal(np.round(ours["contributivity"]).astype(int), ramp["rounded"])
    score_diff = max(abs(ours[k] - ramp[k]) / abs(ramp[k]) for k in ("bagged_valid",
                                                                     "bagged_test"))
    return {"same_members": same_members, "same_shares": shares_ok,
            "max_contributivity_diff": contrib_diff, "rounded_equal": rounded_ok,
            "max_score_rel_diff": score_diff,
            "agree": shares_ok and same_members and contrib_diff <= 1e-9 and rounded_ok
            and score_diff <= 1e-9}


def bench_size(n: int, ramp_python: Path, work: Path) -> dict:
    problem = make_problem(n, seed=n)
    hub, private, keys = write_gitramp(problem, work / "gitramp")
    kit = work / "ramp_kit"
    write_ramp_kit(problem, kit)
    ours_out = work / "gitramp.json"
    t_ours = _timed([sys.executable, "-m", "benchmarks.bench_blend", "--gitramp-run",
                     json.dumps([str(hub), str(private), keys]), str(ours_out)],
                    ROOT, work / "gitramp.log")
    ours = json.loads(ours_out.read_text())
    # The submissions in gitramp's order, so both break ties towards the same one.
    t_ramp = _timed([str(ramp_python.parent / "ramp-blend"), "--save-output",
                     "--ignore-warning", "--submissions", repr(names(n))], kit,
                    work / "ramp.log")
    ramp = read_ramp(kit, n)
    (kit / "timer.py").write_text(RAMP_TIMER)
    _timed([str(ramp_python), "timer.py", json.dumps(names(n))], kit, work / "timer.log")
    seconds = [ln for ln in (work / "timer.log").read_text().splitlines()
               if ln.startswith("SECONDS ")]
    return {"n": n, "members": ours["members"], "process_gitramp": t_ours,
            "process_ramp": t_ramp, "blend_gitramp": ours["seconds"],
            "blend_ramp": float(seconds[-1].split()[1]), **compare(ours, ramp)}


def main() -> None:
    ramp_python = ensure_bench_venv()
    print(f"blending: gitramp vs ramp-blend ({RAMP_REQUIREMENT}); {N_FOLDS} folds, "
          f"{N_TRAIN} train rows ({int(VALID_FRACTION * N_TRAIN)} valid per fold), "
          f"{N_TEST} test rows, {N_CLASSES} classes, nll, cap 80, threshold 0")
    print("blend s: loading the stored predictions, blending every fold, combined scores "
          "(after imports); process s: the whole command, interpreter start to exit")
    print(f"{'N':>4} {'members':>8} {'agree':>6} {'|dContrib|%':>12} {'rel dScore':>11} "
          f"{'blend s':>17} {'ratio':>7} {'process s':>17} {'ratio':>7}")
    results = []
    for n in SIZES:
        with tempfile.TemporaryDirectory(prefix=f"gitramp-bench-blend-{n}-") as tmp:
            r = bench_size(n, ramp_python, Path(tmp))
        results.append(r)
        print(f"{n:>4} {r['members']:>8.1f} {_yes(r['agree']):>6} "
              f"{r['max_contributivity_diff']:>12.1e} {r['max_score_rel_diff']:>11.1e} "
              f"{r['blend_gitramp']:>7.3f} / {r['blend_ramp']:>7.2f} "
              f"{r['blend_gitramp'] / r['blend_ramp']:>7.4f} "
              f"{r['process_gitramp']:>7.2f} / {r['process_ramp']:>7.2f} "
              f"{r['process_gitramp'] / r['process_ramp']:>7.3f}", flush=True)
        if not r["agree"]:
            print(f"     disagreement at N = {n}: {r}")
    last = results[-1]
    ratio = last["blend_gitramp"] / last["blend_ramp"]
    print("members: mean ensemble size per fold; agree: same members and shares on every "
          "fold (1e-12), contributivities (1e-9 %), combined scores (1e-9 relative)")
    print(f"agreement: {'yes' if all(r['agree'] for r in results) else 'NO'} at every N; "
          f"blend time ratio gitramp / ramp-blend at N = {last['n']}: {ratio:.4f} "
          f"(goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'})")


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--gitramp-run":
        hub_, private_, keys_ = json.loads(sys.argv[2])
        result = run_gitramp(Path(hub_), Path(private_), keys_)
        Path(sys.argv[3]).write_text(json.dumps(result))
    else:
        main()
