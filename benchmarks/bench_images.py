"""Image classification: the digits_images kit's data loading and training through
gitramp against the same training loop run bare in a Python process.

Both sides train the kit's starting kit (a small PyTorch network whose `fit` reads its
batches from the image files every epoch) on the hidden data (1257 training images,
540 test images), on the same three folds, and predict every training image and the
test images with each fold's model:

- gitramp: `score_submission` with the local backend (fold processes forked from its
  fork server, the loader of scorer/workflows/image_classifier.py over inputs/images),
  timed from the call to its return, scores included;
- bare: a fresh Python process that reads the tables, makes the same folds and runs
  the same `ImageClassifier` with a plain loader of its own (np.load of each file of a
  batch, one after the other), timed from its first line to its last.

Both use the kit's CPU limit (2 threads). Each side runs REPEATS times, alternating, and
the best time of each is compared (the machine's other load only adds). Goal: gitramp /
bare <= 1.1. When the kit's own image is built (`gitramp image build --kit
kits/digits_images`: the base image plus torch), the same run through the Docker backend
is timed once too and shown against the bare time (not part of the goal: the container
adds its fences, one user per fold). PyTorch (torch==2.13.0, the CPU build) is installed
into this environment on first use if it is absent (it needs PyPI once, about two
minutes).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT / "kits" / "digits_images"
TORCH = "torch==2.13.0"
REPEATS = 2
GOAL = 1.1

BARE = r'''
import os, sys, time
start = time.perf_counter()
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

data, submission, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
import torch
torch.set_num_threads(threads)
sys.path.insert(0, submission)
from image_classifier import ImageClassifier


class Loader:
    def __init__(self, ids, y, folder, n_classes, labels):
        self.ids, self.y, self.folder = list(ids), y, folder
        self.n_classes, self.labels = n_classes, labels

    def __len__(self):
        return len(self.ids)

    def _read(self, i):
        return np.load(os.path.join(self.folder, self.ids[i]), allow_pickle=False)

    def load(self, i):
        return self._read(i) if self.y is None else (self._read(i), self.y[i])

    def parallel_load(self, indexes):
        xs = [self._read(int(i)) for i in indexes]
        return xs if self.y is None else (xs, [self.y[int(i)] for i in indexes])

    def __iter__(self):
        return (self.load(i) for i in range(len(self)))


train = pd.read_csv(os.path.join(data, "train.csv"))
test = pd.read_csv(os.path.join(data, "test.csv"))
folder = os.path.join(data, "images")
labels = tuple(str(i) for i in range(10))
ids, y = train["id"].to_numpy(), train["digit"].to_numpy()
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=42)
for tr, va in cv.split(ids, y):
    clf = ImageClassifier()
    clf.fit(Loader(ids[tr], y[tr], folder, 10, labels))
    clf.predict_proba(Loader(ids, None, folder, 10, labels))
    clf.predict_proba(Loader(test["id"].to_numpy(), None, folder, 10, labels))
print(time.perf_counter() - start)
'''


def ensure_torch() -> None:
    if importlib.util.find_spec("torch") is not None:
        return
    print(f"installing {TORCH} (the CPU build) into {sys.prefix} ...", flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", TORCH], check=True)
    print(f"installed in {time.perf_counter() - start:.0f} s", flush=True)


def through_gitramp(kit, hidden: Path) -> tuple[float, float]:
    from scorer.backends.local import LocalBackend
    from scorer.scoring import score_submission

    start = time.perf_counter()
    run = score_submission(kit, KIT / "submissions" / "starting_kit", backend=LocalBackend(),
                           data_dir=hidden.parent)  # the runner's folder: data/ inside
    seconds = time.perf_counter() - start
    r = run.result
    if r.status != "scored":
        raise RuntimeError(f"gitramp run {r.status}: {r.reason}\n{r.log_tail}")
    return seconds, r.bagged["test"]["acc"]


def in_the_container(kit, hidden: Path) -> float | None:
    """The same run through the Docker backend in the kit's image; None without it."""
    from scorer.backends.docker import DockerBackend
    from scorer.backends.docker_image import image_tag, kit_requirements_hash
    from scorer.scoring import score_submission

    backend = DockerBackend(warm=False)
    try:
        backend.client.images.get(image_tag(kit_requirements_hash(kit.requirements)))
    except Exception as e:
        print(f"Docker: skipped ({type(e).__name__}: the kit image is not built, or no "
              "engine answers; gitramp image build --kit kits/digits_images)")
        return None
    start = time.perf_counter()
    r = score_submission(kit, KIT / "submissions" / "starting_kit", backend=backend,
                         data_dir=hidden.parent).result
    seconds = time.perf_counter() - start
    backend.close()
    if r.status != "scored":
        raise RuntimeError(f"Docker run {r.status}: {r.reason}\n{r.log_tail}")
    return seconds


def bare(hidden: Path, threads: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bare.py"
        script.write_text(BARE)
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        start = time.perf_counter()
        out = subprocess.run([sys.executable, str(script), str(hidden),
                              str(KIT / "submissions" / "starting_kit"), str(threads)],
                             capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"the bare run failed:\n{out.stderr[-3000:]}")
    return seconds


def main() -> None:
    ensure_torch()
    from challenge.kit import load_kit

    hidden = KIT / "hidden" / "data"
    if not (hidden / "train.csv").is_file():
        raise SystemExit("kits/digits_images/hidden/data is missing: run `make data`")
    kit = load_kit(KIT)
    threads = max(1, int(kit.limits.cpus))
    g_times, b_times, acc = [], [], None
    for i in range(REPEATS):
        seconds, acc = through_gitramp(kit, hidden)
        g_times.append(seconds)
        b_times.append(bare(hidden, threads))
        print(f"run {i + 1}: gitramp {g_times[-1]:.1f} s, bare {b_times[-1]:.1f} s", flush=True)
    ratio = min(g_times) / min(b_times)
    docker = in_the_container(kit, hidden)
    print(json.dumps({"gitramp_s": round(min(g_times), 2), "bare_s": round(min(b_times), 2),
                      "ratio": round(ratio, 3), "goal": GOAL, "bagged_test_acc": round(acc, 3),
                      "folds": 3, "threads": threads,
                      "docker_s": None if docker is None else round(docker, 2),
                      "docker_ratio": None if docker is None
                      else round(docker / min(b_times), 3)}))
    print(f"gitramp / bare: {ratio:.2f} (goal <= {GOAL}) "
          f"{'met' if ratio <= GOAL else 'NOT met'}")


if __name__ == "__main__":
    main()
