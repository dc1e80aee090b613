"""Throughput: `gitramp scan` scoring 40 pending submissions whose folds each take about
0.5 s of CPU, with the Docker backend and with the Slurm backend, against the floor.

Every submission is the same classifier in its own version: its `fit` spins on the
CPU for 0.5 s of process time (then learns the class priors), its `predict_proba` is
instant, so each fold costs 0.5 s of CPU by construction. The iris kit scores 5
folds, hence 40 x 5 x 0.5 s = 100 s of fold CPU. Figures, measured in this run:

- floor: the folds' fit and predict CPU time divided by the cores. Each fit spins for
  FOLD_CPU seconds of its own process time and predict is instant, so that is
  N x 5 x FOLD_CPU / cores by construction. The fit and predict times the ledger
  records are wall-clock times, which grow when the folds wait for a core; their
  sum over the cores is printed beside it ("ledger"), not used as the floor;
- `gitramp scan --backend docker --workers <cores>`: the command's wall time, from its
  start (interpreter and imports included) to its exit, on a fresh copy of the hub;
- `gitramp scan --backend slurm --workers <cores>` likewise, when a Slurm controller
  answers (`sinfo`); else the line says why it is skipped.

Goals, on two cores: Docker within 1.3x the floor, Slurm within 1.5x.
GITRAMP_THROUGHPUT_N and GITRAMP_THROUGHPUT_FOLD_CPU change the count and the folds' CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from challenge.hub import build_hub, commit_files
from challenge.ledger import Ledger
from challenge.phases import iso

N = int(os.environ.get("GITRAMP_THROUGHPUT_N", "40"))  # 40; fewer for a trial run
# 0.5 s; longer folds show how the per-submission cost fades (GITRAMP_THROUGHPUT_FOLD_CPU=2)
FOLD_CPU = float(os.environ.get("GITRAMP_THROUGHPUT_FOLD_CPU", "0.5"))
GOALS = {"docker": 1.3, "slurm": 1.5}
ROOT = Path(__file__).resolve().parents[1]
KITS = ROOT / "kits"
START = datetime(2026, 12, 1, tzinfo=UTC)
NOW = START + timedelta(hours=1)

SPIN = '''import time

import numpy as np


class Classifier:
    """Spins for {cpu} s of CPU in fit, then predicts the class priors."""

    def fit(self, X, y):
        start = time.process_time()
        while time.process_time() - start < {cpu}:
            pass
        self.classes_, counts = np.unique(y, return_counts=True)
        self.priors_ = counts / counts.sum()
        return self

    def predict_proba(self, X):
        return np.tile(self.priors_, (len(X), 1))
# version {version}
'''


def build(root: Path) -> Path:
    repo = build_hub(root / "hub", KITS, ["iris"], START, closed_per_day=N, min_interval=0)
    main = repo.references["refs/heads/main"].target
    for i in range(N):
        name = f"spin{i:02d}"
        commit_files(repo, f"refs/heads/submit/team{i:02d}/{name}",
                     {f"kits/iris/submissions/{name}/classifier.py":
                      SPIN.format(cpu=FOLD_CPU, version=i).encode()},
                     parent=main, message=name, author=f"team{i:02d}",
                     when=START + timedelta(minutes=i))
    return root / "hub"


def slurm_reason() -> str | None:
    """Why the Slurm line is skipped, or None when a controller answers."""
    if shutil.which("sinfo") is None:
        return "no Slurm client here (sinfo not found)"
    proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    if proc.returncode != 0:
        return ("no Slurm controller answers (" + (proc.stderr.strip().splitlines() or
                                                     ["sinfo failed"])[-1]
                + "); start one with runners/slurm/start_test_cluster.sh")
    if not any(s.strip().rstrip("*") in ("idle", "mixed", "allocated")
               for s in proc.stdout.split()):
        return f"the Slurm node is not up ({proc.stdout.strip() or 'no node'})"
    return None


def docker_reason() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command here"
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return "the Docker engine does not answer"
    return None


def run_scan(hub: Path, backend: str, workers: int) -> tuple[float, list]:
    gitramp = str(Path(sys.executable).with_name("gitramp"))
    argv = [gitramp, "scan", "--repo", str(hub), "--backend", backend,
            "--workers", str(workers), "--now", iso(NOW), "--runner", f"bench-{backend}",
            "--data-dir", str(KITS / "{challenge}" / "hidden")]
    t = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - t
    records = [r for r in Ledger(hub).records("iris") if r.status != "rejected"]
    if proc.returncode != 0 or len(records) != N:
        raise RuntimeError(f"scan with {backend} exited {proc.returncode} with "
                           f"{len(records)} of {N} records: {proc.stderr[-2000:]}")
    return wall, records


def fold_seconds(records: list) -> float:
    """The folds' fit and predict times, as the scorer measured and recorded them."""
    return sum(f.fit_time + f.predict_time for r in records for f in r.folds)


def main() -> None:
    cores = os.cpu_count() or 1
    nominal = N * 5 * FOLD_CPU / cores
    load = os.getloadavg()[0]
    print(f"{N} submissions x 5 folds x {FOLD_CPU} s of CPU on {cores} core(s); "
          f"floor {nominal:.1f} s; load average at start {load:.1f}")
    if load > cores * 1.5:
        print(f"note: the machine is busy (load {load:.1f} on {cores} cores): wall times "
              "are inflated by other work")
    rows = []
    for backend in ("docker", "slurm"):
        why = docker_reason() if backend == "docker" else slurm_reason()
        if why:
            print(f"{backend:<8} skipped: {why}")
            continue
        with tempfile.TemporaryDirectory(prefix=f"gitramp-bench-tp-{backend}-") as tmp:
            hub = build(Path(tmp))
            wall, records = run_scan(hub, backend, cores)
            rows.append((backend, wall, fold_seconds(records) / cores))
    if not rows:
        return
    print(f"{'backend':<8}{'wall s':>9}{'floor s':>9}{'x floor':>9}{'goal':>7}  "
          f"{'ledger s':>9}")
    for backend, wall, ledger in rows:
        ratio = wall / nominal
        goal = GOALS[backend]
        print(f"{backend:<8}{wall:>9.1f}{nominal:>9.1f}{ratio:>9.2f}{goal:>7.1f}  "
              f"{ledger:>9.1f}  {'met' if ratio <= goal else 'MISSED'}")


if __name__ == "__main__":
    main()
