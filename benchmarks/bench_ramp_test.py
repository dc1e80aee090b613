"""`gitramp test` against RAMP's `ramp-test` (ramp-workflow 0.7.0): wall time, same work.

For each case the benchmark writes an equivalent RAMP kit in a temporary folder
(`problem.py` with the same target, labels, CV splitter and score types, a copy of
the same `data/train.csv` and `data/test.csv`, and the same submission files),
then times both commands as a participant runs them, from interpreter start to
exit, alternating and repeated:

    .venv-bench/bin/ramp-test --submission NAME             (in the RAMP kit)
    .venv/bin/gitramp test --kit KIT --submission NAME --jobs N

Before timing, one untimed run of each with `--save-output` checks that both did the
same work: every score the two share (train, valid and test of each fold, bagged
valid and bagged test) must be equal at the kit's printed precision, else the
benchmark fails. Both commands get OMP_NUM_THREADS=1 (and the other BLAS thread
variables), so ramp-test cannot use the second core through BLAS or OpenMP while
gitramp runs one single-threaded process per fold.

ramp-workflow and the numpy/pandas/scikit-learn it runs on are pinned in
`benchmarks/ramp-requirements.txt` and installed into `.venv-bench` on first use
(PyPI once); `make clean` removes it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".venv-bench"
REQUIREMENTS = Path(__file__).with_name("ramp-requirements.txt")
# bench_blend.py recreates .venv-bench unless this stamp says ramp-workflow 0.7.0.
STAMP_TEXT = "ramp-workflow==0.7.0"
SINGLE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                  "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                                  "NUMEXPR_NUM_THREADS")}
# gitramp score type -> RAMP score class; scores RAMP lacks (f1, r2, mae) are not compared.
RAMP_SCORES = {"accuracy": "Accuracy", "balanced_accuracy": "BalancedAccuracy",
               "log_loss": "NegativeLogLikelihood", "roc_auc": "ROCAUC", "rmse": "RMSE"}
RAMP_WORKFLOWS = {"classifier": "Classifier", "regressor": "Regressor",
                  "feature_extractor_classifier": "FeatureExtractorClassifier",
                  "feature_extractor_regressor": "FeatureExtractorRegressor"}
# A GradientBoostingClassifier on digits: about 1.5 s per fold on one core.
HEAVY_FOLDS, HEAVY_TREES = 6, 50


@dataclass
class Case:
    label: str
    kit: Path  # the gitramp kit
    submission: str
    jobs: int
    goal: float  # gitramp time / ramp-test time
    repeats: int
    ramp_s: list[float] = field(default_factory=list)
    gitramp_s: list[float] = field(default_factory=list)
    compared: int = 0  # scores found equal

    @property
    def ratio(self) -> float:
        # Best of the repeats: other processes on the machine only ever add time.
        return min(self.gitramp_s) / min(self.ramp_s)


# ----------------------------------------------------------------- environments
def ensure_bench_venv() -> Path:
    """`.venv-bench` with the pinned ramp-workflow stack, created or fixed on first use."""
    python = BENCH_VENV / "bin" / "python"
    pins = read_pins(REQUIREMENTS)
    if not python.exists():
        print(f"creating {BENCH_VENV} (needs PyPI once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    if installed_versions(python, list(pins)) != pins:
        print(f"installing {REQUIREMENTS.name} into {BENCH_VENV} ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "-r", str(REQUIREMENTS)], check=True)
    stamp = BENCH_VENV / ".installed"
    if not stamp.exists():
        stamp.write_text(STAMP_TEXT + "\n")
    return python


def read_pins(file: Path) -> dict[str, str]:
    pins = {}
    for line in file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def installed_versions(python: Path, names: list[str]) -> dict[str, str]:
    code = ("import sys, importlib.metadata as m\n"
            "for n in sys.argv[1:]:\n"
            "    try: print(n, m.version(n))\n"
            "    except m.PackageNotFoundError: print(n, '-')\n")
    out = subprocess.run([str(python), "-c", code, *names], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split() for line in out.splitlines())


def ensure_kit_data() -> None:
    if not all((ROOT / "kits" / k / "data" / "train.csv").exists()
               for k in ("iris", "diabetes", "cancer")):
        subprocess.run([sys.executable, "-m", "kits.make_data"], cwd=ROOT, check=True)


# ----------------------------------------------------------------- kits
def write_heavy_kit(where: Path) -> Path:
    """A gitramp kit on scikit-learn's digits with a slow single-threaded model."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    df = pd.DataFrame(X, columns=[f"p{i}" for i in range(X.shape[1])])
    df["digit"] = [f"d{v}" for v in y]
    order = np.random.default_rng(0).permutation(len(df))
    n_train = 1300
    (where / "data").mkdir(parents=True)
    df.iloc[order[:n_train]].to_csv(where / "data" / "train.csv", index=False)
    df.iloc[order[n_train:]].to_csv(where / "data" / "test.csv", index=False)
    labels = ", ".join(f"d{v}" for v in range(10))
    (where / "challenge.yml").write_text(textwrap.dedent(f"""\
        title: Handwritten digits (benchmark)
        description: Tell the ten digits apart from 8x8 grey-level images.
        workflow: classifier
        target: digit
        prediction: {{type: multiclass, labels: [{labels}]}}
        scores:
          - {{name: acc, type: accuracy, precision: 3}}
          - {{name: nll, type: log_loss, precision: 3}}
        cv: {{type: StratifiedKFold, n_splits: {HEAVY_FOLDS}, shuffle: true, random_state: 0}}
        data: {{train: data/train.csv, test: data/test.csv}}
        limits: {{timeout: 900, cpus: 2}}
        """))
    sub = where / "submissions" / "boosted_trees"
    sub.mkdir(parents=True)
    (sub / "classifier.py").write_text(textwrap.dedent(f"""\
        from sklearn.ensemble import GradientBoostingClassifier


        class Classifier:
            def __init__(self):
                self.model = GradientBoostingClassifier(n_estimators={HEAVY_TREES}, max_depth=3,
                                                        random_state=0)

            def fit(self, X, y):
                self.model.fit(X, y)
                self.classes_ = self.model.classes_

            def predict_proba(self, X):
                return self.model.predict_proba(X)
        """))
    return where


RAMP_PROBLEM = """\
import os

import pandas as pd
import rampwf as rw
import sklearn.model_selection

problem_title = {title!r}
_target = {target!r}
Predictions = {predictions}
workflow = rw.workflows.{workflow}()
score_types = [
{score_types}
]


def get_cv(X, y):
    return sklearn.model_selection.{cv_type}(**{cv_params!r}).split(X, y)


def _read(path, f_name):
    df = pd.read_csv(os.path.join(path, 'data', f_name))
    X = df.drop(columns=[_target])
    y = df[_target].to_numpy()
    return ({x_expr}, y)


def get_train_data(path='.'):
    return _read(path, 'train.csv')


def get_test_data(path='.'):
    return _read(path, 'test.csv')
"""


def write_ramp_kit(kit_dir: Path, submission: str, where: Path) -> dict[str, int]:
    """An equivalent RAMP kit; returns the scores both compute: name -> precision."""
    from challenge.kit import load_kit

    kit = load_kit(kit_dir)
    if kit.cv.groups is not None or kit.problem() is not None:
        raise ValueError(f"{kit_dir}: only plain CSV kits with a splitter are translated")
    shared, lines = {}, []
    for s in kit.scores:
        if s.type in RAMP_SCORES:
            shared[s.name] = s.precision
            lines.append(f"    rw.score_types.{RAMP_SCORES[s.type]}"
                         f"(name={s.name!r}, precision={s.precision}),")
    if kit.is_classification:
        # RAMP takes predict_proba's columns in label order: scikit-learn's sorted classes_.
        predictions = f"rw.prediction_types.make_multiclass(label_names={sorted(kit.labels)!r})"
    else:
        predictions = "rw.prediction_types.make_regression()"
    # RAMP's plain workflows index X with row arrays (X[train_is]): it wants an array.
    x_expr = "X" if kit.workflow.startswith("feature_extractor") else "X.to_numpy()"
    (where / "data").mkdir(parents=True)
    for split in ("train", "test"):
        shutil.copyfile(kit.path / kit.data[split], where / "data" / f"{split}.csv")
    shutil.copytree(kit.submission_dir(submission), where / "submissions" / submission,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (where / "problem.py").write_text(RAMP_PROBLEM.format(
        title=kit.title, target=kit.target, predictions=predictions,
        workflow=RAMP_WORKFLOWS[kit.workflow], score_types="\n".join(lines),
        cv_type=kit.cv.type, cv_params=dict(kit.cv.params), x_expr=x_expr))
    return shared


# ----------------------------------------------------------------- running
def ramp_cmd(submission: str, save: bool = False) -> list[str]:
    return [str(BENCH_VENV / "bin" / "ramp-test"), "--submission", submission] + (
        ["--save-output"] if save else [])


def gitramp_cmd(case: Case, save_to: Path | None = None) -> list[str]:
    cmd = [str(Path(sys.executable).parent / "gitramp"), "test", "--kit", str(case.kit),
           "--submission", case.submission, "--jobs", str(case.jobs)]
    return cmd + (["--save-output", str(save_to)] if save_to else [])


def timed(cmd: list[str], cwd: Path, log: Path) -> float:
    env = dict(os.environ, **SINGLE_THREAD)
    start = time.perf_counter()
    with open(log, "w") as fh:
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {done.returncode}); its output:\n"
                           + log.read_text()[-3000:])
    return elapsed


def check_same_scores(case: Case, ramp_kit: Path, shared: dict[str, int], work: Path) -> int:
    """One untimed run of each with --save-output; every shared score must print the same."""
    timed(ramp_cmd(case.submission, save=True), ramp_kit, work / "ramp-save.log")
    timed(gitramp_cmd(case, work / "gitramp-out"), ROOT, work / "gitramp-save.log")
    ours = yaml.safe_load((work / "gitramp-out" / case.submission / "result.yml").read_text())
    out = ramp_kit / "submissions" / case.submission / "training_output"
    pairs = []
    for i, fold in enumerate(ours["folds"]):
        theirs = pd.read_csv(out / f"fold_{i}" / "scores.csv", index_col=0)
        for step in ("train", "valid", "test"):
            pairs += [(f"fold {i} {step} {n}", fold["scores"][step][n], theirs.loc[step, n])
                      for n in shared]
    bagged = pd.read_csv(out / "bagged_scores.csv")
    for step in ("valid", "test"):
        rows = bagged[bagged["step"] == step]
        last = rows[rows["n_bag"] == rows["n_bag"].max()].iloc[0]
        pairs += [(f"bagged {step} {n}", ours["bagged"][step][n], last[n]) for n in shared]
    if len(ours["folds"]) != len(list(out.glob("fold_*"))):
        raise AssertionError(f"{case.label}: gitramp ran {len(ours['folds'])} folds, "
                             f"ramp-test {len(list(out.glob('fold_*')))}")
    diffs = [(what, a, b) for what, a, b in pairs
             if not same_printed(a, b, shared[what.rsplit(' ', 1)[1]])]
    if diffs:
        raise AssertionError(f"{case.label}: gitramp and ramp-test disagree, so they did not do "
                             "the same work:\n" + "\n".join(
                                 f"  {w}: gitramp {a!r}, ramp-test {b!r}" for w, a, b in diffs))
    return len(pairs)


def same_printed(a: float, b: float, precision: int) -> bool:
    # Equal once rounded as printed; the 1e-9 covers a value lying on a rounding edge.
    return round(float(a), precision) == round(float(b), precision) or abs(a - b) < 1e-9


def run_case(case: Case, work: Path) -> None:
    ramp_kit = work / "ramp_kit"
    shared = write_ramp_kit(case.kit, case.submission, ramp_kit)
    case.compared = check_same_scores(case, ramp_kit, shared, work)
    for r in range(case.repeats):  # alternate which goes first
        order = ("ramp", "gitramp") if r % 2 == 0 else ("gitramp", "ramp")
        for who in order:
            if who == "ramp":
                case.ramp_s.append(timed(ramp_cmd(case.submission), ramp_kit,
                                         work / "ramp.log"))
            else:
                case.gitramp_s.append(timed(gitramp_cmd(case), ROOT, work / "gitramp.log"))


def cases(work: Path) -> list[Case]:
    kits = ROOT / "kits"
    heavy = write_heavy_kit(work / "digits")
    return [
        Case("iris classifier", kits / "iris", "starting_kit", 1, 1.0, 5),
        Case("diabetes regressor", kits / "diabetes", "starting_kit", 1, 1.0, 5),
        Case("cancer feature_extractor_classifier", kits / "cancer", "starting_kit", 1, 1.0, 5),
        Case(f"digits GBC {HEAVY_FOLDS} folds", heavy, "boosted_trees", 2, 0.6, 3),
    ]


# ----------------------------------------------------------------- the machine
CALIBRATE = """\
import sys, time
from sklearn.datasets import load_digits
from sklearn.ensemble import GradientBoostingClassifier
X, y = load_digits(return_X_y=True)
start = time.perf_counter()
GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
print(time.perf_counter() - start)
"""


def parallel_speedup() -> tuple[float, float]:
    """One single-threaded fit alone, then two at once: (seconds alone, speedup of the
    pair: 2.0 when two cores are really free). Other load on the machine shows here."""
    env = dict(os.environ, **SINGLE_THREAD)

    def fits(n: int) -> list[float]:
        procs = [subprocess.Popen([sys.executable, "-c", CALIBRATE], env=env, text=True,
                                  stdout=subprocess.PIPE) for _ in range(n)]
        return [float(p.communicate()[0]) for p in procs]

    alone = min(fits(1) + fits(1))
    pair = max(fits(2))
    return alone, 2 * alone / pair


# ----------------------------------------------------------------- report
def main() -> None:
    ramp_python = ensure_bench_venv()
    ensure_kit_data()
    ours = installed_versions(Path(sys.executable), ["numpy", "pandas", "scikit-learn"])
    theirs = installed_versions(ramp_python, ["ramp-workflow", "numpy", "pandas",
                                              "scikit-learn"])
    print("gitramp test vs ramp-test, whole commands (interpreter start to exit), "
          f"on {os.cpu_count()} CPUs, {' '.join(f'{k}={v}' for k, v in SINGLE_THREAD.items())}")
    print("  .venv:       " + ", ".join(f"{k} {v}" for k, v in ours.items()))
    print("  .venv-bench: " + ", ".join(f"{k} {v}" for k, v in theirs.items()))
    alone, speedup = parallel_speedup()
    print(f"  two cores: two single-threaded fits at once run {speedup:.2f}x as fast as one "
          f"after the other ({alone:.2f} s each alone; 2.00 = two free cores); the --jobs 2 "
          "goal assumes about 2", flush=True)
    with tempfile.TemporaryDirectory(prefix="gitramp-bench-ramp-") as tmp:
        all_cases = cases(Path(tmp))
        for i, case in enumerate(all_cases):
            work = Path(tmp) / f"case_{i}"
            work.mkdir()
            run_case(case, work)
            print(f"  {case.label}: {case.compared} scores equal at printed precision; "
                  f"ramp-test {_times(case.ramp_s)}; gitramp {_times(case.gitramp_s)}",
                  flush=True)
    print(f"{'case':<38} {'jobs':>4} {'ramp-test s':>11} {'gitramp s':>10} {'ratio':>6} "
          f"{'goal':>6} {'':>4} {'median ratio':>13}")
    for c in all_cases:
        median = statistics.median(c.gitramp_s) / statistics.median(c.ramp_s)
        verdict = "pass" if c.ratio <= c.goal else "FAIL"
        print(f"{c.label:<38} {c.jobs:>4} {min(c.ramp_s):>11.2f} {min(c.gitramp_s):>10.2f} "
              f"{c.ratio:>6.2f} {'<= ' + str(c.goal):>6} {verdict:>4} {median:>13.2f}")
    print("seconds: best of the repeats (runs alternate which command goes first); "
          "ratio = gitramp / ramp-test, judged on the best; the last column is the ratio of "
          "the medians")
    missed = [c.label for c in all_cases if c.ratio > c.goal]
    print("goals: " + ("all met" if not missed else "NOT met for " + ", ".join(missed)))
    if speedup < 1.7:
        print(f"note: this machine ran two processes at once only {speedup:.2f}x as fast as one "
              "(other load?), so a --jobs 2 ratio here says little; rerun on an idle machine")


def _times(seconds: list[float]) -> str:
    return "[" + " ".join(f"{s:.2f}" for s in seconds) + "] s"


if __name__ == "__main__":
    main()
