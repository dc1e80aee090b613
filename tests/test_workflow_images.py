"""The image classification workflow (RAMP's `image_classifier`: `ImageClassifier` with
`fit(img_loader)` and `predict_proba(img_loader)`) on the digits_images kit, whose images
are files read lazily by the loader.

What a fold's process can reach is asserted from inside: a spying submission checks
that its loaders hold only the ids they should (the fold's training images with their
labels for fit, the images to predict and no label for predict), and, in the container,
that no table of labels is anywhere it can read (the images folder holds images only,
the other folds' label files and the test labels are out of reach). GPUs: a kit asking
for one is refused by an engine that has none, or runs on the CPU when the kit allows
it, and its result says so. The starting kit (a small PyTorch network) trains on the
CPU (its run in the kit's own image, whose build takes minutes, is in
benchmarks/bench_images.py). Predictions are read
back as the classifier's are, so the scores are the classification scores whose
equality with rampwf's tests/test_ramp_parity.py asserts.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from challenge.kit import load_kit
from scorer.backends.docker import DockerBackend
from scorer.data import load_data
from scorer.errors import GitrampError, KitError
from scorer.images import ImageDataError, image_set, write_images
from scorer.scoring import score_submission
from scorer.workflows.image_classifier import ImageLoader, ImageSet
from tests.conftest import ROOT, need

KIT = ROOT / "kits" / "digits_images"
STARTING_KIT = KIT / "submissions" / "starting_kit"

# numpy only: runs in the base image and in any venv
NEAREST_MEAN = '''
import numpy as np


class ImageClassifier:
    def fit(self, img_loader):
        sums, counts = {}, {}
        for start in range(0, len(img_loader), 64):
            images, labels = img_loader.parallel_load(range(start, min(start + 64,
                                                                       len(img_loader))))
            for x, y in zip(images, labels):
                sums[str(y)] = sums.get(str(y), 0) + x.astype(float)
                counts[str(y)] = counts.get(str(y), 0) + 1
        self.means = np.stack([sums[c] / counts[c] if c in sums else np.zeros((16, 16))
                               for c in img_loader.labels])
        return self

    def predict_proba(self, img_loader):
        X = np.stack([x.astype(float) for x in img_loader])
        d = ((X[:, None] - self.means[None]) ** 2).sum(axis=(2, 3))
        e = np.exp(-(d - d.min(axis=1, keepdims=True)) / 2e4)
        return e / e.sum(axis=1, keepdims=True)
'''

# What a fold's process can reach: it raises, naming what it found, on any breach.
SPY = '''
import glob
import os

import numpy as np

FOUND = []


def _tables_within(root):
    """Files under root that hold a table naming the target (a label file)."""
    hits = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if os.path.join(d, x) not in ("/proc", "/sys", "/dev")]
        for f in files:
            path = os.path.join(d, f)
            if not f.endswith((".csv", ".npy", ".json", ".pkl")) or "site-packages" in path:
                continue
            try:
                with open(path, "rb") as fh:
                    head = fh.read(64)
            except OSError:
                continue
            if b"digit" in head or f.startswith("fold_"):
                hits.append(path)
    return hits


class ImageClassifier:
    def fit(self, img_loader):
        assert img_loader.y_array is not None and len(img_loader.y_array) == len(img_loader)
        assert len(set(img_loader.X_array)) == len(img_loader), "repeated ids"
        self.fit_ids = set(img_loader.X_array)
        inputs = os.path.dirname(img_loader.folder)
        print("inputs:", sorted(os.listdir(inputs)), flush=True)
        names = os.listdir(img_loader.folder)
        assert all(n.endswith(".npy") for n in names), names[:5]
        assert all(np.load(os.path.join(img_loader.folder, n)).shape == (16, 16)
                   for n in names[:50])
        if os.path.isdir("/start"):  # in the container: nothing of the labels in reach
            for path in glob.glob("/start/labels/*") + ["/start/labels/fold_0.npy",
                                                        "/start/labels/fold_1.npy"]:
                try:
                    open(path, "rb").close()
                    FOUND.append(path)
                except OSError:
                    pass
            FOUND.extend(_tables_within("/"))
            print("probed the labels and the whole file system", flush=True)
        if FOUND:
            raise RuntimeError(f"labels within reach: {FOUND[:10]}")
        return self

    def predict_proba(self, img_loader):
        assert img_loader.y_array is None, "labels given to predict"
        try:
            img_loader.load(0)[1]
        except IndexError:
            pass
        p = np.full((len(img_loader), img_loader.n_classes), 1.0 / img_loader.n_classes)
        # every row in its fit set gets class 0: the scorer sees which rows it trained on
        seen = np.array([i in self.fit_ids for i in img_loader.X_array])
        p[seen] = 0.0
        p[seen, 0] = 1.0
        return p
'''


def _need_data() -> None:
    if not (KIT / "data" / "train.csv").is_file():
        need("kits/digits_images/data is missing: run `make data` (python -m kits.make_data)")


def submission(folder: Path, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "image_classifier.py").write_text(code)
    return folder


def kit_copy(tmp_path: Path, requirements: bool = False, **changes):
    """The digits_images kit with its data, without its requirements (the base image)
    unless asked, and with `changes` to its limits."""
    _need_data()
    raw = yaml.safe_load((KIT / "challenge.yml").read_text())
    if not requirements:
        raw.pop("requirements", None)
    raw["limits"] = {**raw["limits"], "timeout": 120, **changes}
    folder = tmp_path / "digits_images"
    folder.mkdir(parents=True)
    (folder / "challenge.yml").write_text(yaml.safe_dump(raw, sort_keys=False))
    (folder / "data").symlink_to(KIT / "data")
    return load_kit(folder)


# ------------------------------------------------------------------ the kit spec
def _spec(tmp_path: Path, **changes) -> Path:
    raw = yaml.safe_load((KIT / "challenge.yml").read_text())
    for key, value in changes.items():
        raw[key] = value
    folder = tmp_path / "k"
    folder.mkdir(exist_ok=True)
    (folder / "challenge.yml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder


def test_kit_spec_ties_the_images_folder_to_the_workflow(tmp_path):
    assert load_kit(KIT).data.images == "data/images"
    with pytest.raises(KitError, match="data.images, the folder of the image files"):
        load_kit(_spec(tmp_path, data={"train": "data/train.csv", "test": "data/test.csv"}))
    with pytest.raises(KitError, match="data.images only with workflow image_classifier"):
        load_kit(_spec(tmp_path, workflow="classifier"))
    with pytest.raises(KitError, match="relative path"):
        load_kit(_spec(tmp_path, data={"train": "data/train.csv", "test": "data/test.csv",
                                       "images": "../elsewhere"}))
    with pytest.raises(KitError, match="true or false"):
        load_kit(_spec(tmp_path, limits={"gpus": 1, "gpus_optional": "maybe"}))
    assert load_kit(_spec(tmp_path, limits={"gpus": 1, "gpus_optional": True})) \
        .limits.gpus_optional is True


# ------------------------------------------------------------------ the files
def _images(folder: Path, names, mode: int = 0o644) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        np.save(folder / name, np.full((16, 16), i, dtype=np.uint8), allow_pickle=False)
        (folder / name).chmod(mode)


@pytest.mark.parametrize("table, expected", [
    (pd.DataFrame({"name": ["a.npy"]}), "no column 'id'"),
    (pd.DataFrame({"id": ["a.npy"], "leak": [1]}), r"columns \['leak'\] besides id"),
    (pd.DataFrame({"id": ["../a.npy"]}), "row 1: id '../a.npy' is not the relative name"),
    (pd.DataFrame({"id": ["a.npy", "/etc/passwd"]}), "row 2: id '/etc/passwd'"),
    (pd.DataFrame({"id": ["a.npy", ".hidden"]}), "row 2"),
    (pd.DataFrame({"id": ["a.npy", 7]}), "row 2: id 7"),
    (pd.DataFrame({"id": ["a.npy", "gone.npy"]}), r"1 images are not files .* \['gone.npy'\]"),
])
def test_a_table_of_images_is_checked_naming_the_file_and_row(tmp_path, table, expected):
    _images(tmp_path / "images", ["a.npy"])
    with pytest.raises(ImageDataError, match=expected) as e:
        image_set(table, tmp_path / "images", "data/train.csv")
    assert "data/train.csv" in str(e.value) or "no column" not in expected


def test_the_inputs_hold_the_named_images_only_linked_or_copied(tmp_path):
    source = tmp_path / "data" / "images"
    _images(source, ["a.npy", "b.npy", "c.npy", "unlisted.npy"])
    (source / "b.npy").chmod(0o600)  # others may not read it: copied, not linked
    (source / "labels.csv").write_text("id,digit\na.npy,0\n")  # an organizer's file beside
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    X_train, X_test = write_images(ImageSet(["a.npy", "b.npy"], source),
                                   ImageSet(["c.npy", "a.npy"], source), inputs)
    assert sorted(os.listdir(inputs / "images")) == ["a.npy", "b.npy", "c.npy"]
    assert (inputs / "images" / "a.npy").stat().st_ino == (source / "a.npy").stat().st_ino
    copied = (inputs / "images" / "b.npy").stat()
    assert copied.st_ino != (source / "b.npy").stat().st_ino and copied.st_mode & 0o777 == 0o444
    assert (source / "b.npy").stat().st_mode & 0o777 == 0o600  # the kit's file unchanged
    assert X_train.folder is None and list(X_test.ids) == ["c.npy", "a.npy"]


def test_the_loader_reads_lazily_with_labels_for_fit_only(tmp_path):
    _images(tmp_path, ["a.npy", "b.npy", "c.npy"])
    fit = ImageLoader(["c.npy", "a.npy"], np.array([1, 0]), str(tmp_path), 2, ("0", "1"))
    x, y = fit.load(0)
    assert x.shape == (16, 16) and x[0, 0] == 2 and y == 1
    xs, ys = fit.parallel_load([1, 0])
    assert [int(v[0, 0]) for v in xs] == [0, 2] and ys == [0, 1]
    assert len(fit) == fit.nb_examples == 2 and [int(y) for _, y in fit] == [1, 0]
    with pytest.raises(IndexError, match="out of range: this loader has 2 images"):
        fit.load(2)
    with pytest.raises(IndexError):
        fit.parallel_load([0, -1])
    test = ImageLoader(["b.npy"], None, str(tmp_path), 2)
    assert test.load(0)[0, 0] == 1 and len(test.parallel_load([0])) == 1
    (tmp_path / "d.png").write_bytes(b"\x89PNG")
    with pytest.raises((ValueError, OSError)):
        ImageLoader(["d.png"], None, str(tmp_path), 2).load(0)


# ------------------------------------------------------------------ local runs
def test_the_kit_loads_ids_and_scores_a_numpy_submission_locally(tmp_path):
    kit = kit_copy(tmp_path)
    ds = load_data(kit)
    assert isinstance(ds.X_train, ImageSet) and len(ds.X_train) == len(ds.y_train)
    run = score_submission(kit, submission(tmp_path / "nm", NEAREST_MEAN), quick=True)
    r = run.result
    assert r.status == "scored", (r.reason, r.log_tail)
    assert len(r.folds) == 2 and r.bagged["test"]["acc"] > 0.8
    # the predictions are class probabilities, read back as the classifier's are
    assert run.predictions[0].test_pred.shape == (100, 10)


def test_a_fold_holds_only_its_training_images_labels_and_no_label_at_predict(tmp_path):
    kit = kit_copy(tmp_path)
    run = score_submission(kit, submission(tmp_path / "spy", SPY), quick=True)
    r = run.result
    assert r.status == "scored", (r.reason, r.log_tail)
    # the local backend isolates nothing (a participant's own code): the container does
    assert "inputs: ['X_test.pkl', 'X_train.pkl', 'fold_labels', 'folds.npz', 'images', " \
           "'labels.json']" in r.log_tail
    for p in run.predictions:  # the rows a fold trained on: exactly its training rows
        assert (p.valid_pred[:, 0] < 1).all()  # a held-out row was not in its fit set
        assert np.allclose(p.test_pred, 0.1)  # nor a test image


def test_a_malformed_prediction_is_the_submissions_error_at_predict(tmp_path):
    kit = kit_copy(tmp_path)
    bad = NEAREST_MEAN.replace("return e / e.sum(axis=1, keepdims=True)",
                               "return (e / e.sum(axis=1, keepdims=True))[:-1]")
    r = score_submission(kit, submission(tmp_path / "bad", bad), quick=True).result
    assert r.status == "error" and r.stage == "predict"
    assert "expected" in r.reason and "one row of class probabilities per image" in r.reason


def test_the_starting_kit_trains_its_small_network_on_the_cpu(tmp_path):
    """PyTorch (the kit's requirement, the `images` extra: .ci/run installs it) trains
    the starting kit's network on two folds of a subset in seconds."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        need("PyTorch is not installed: pip install -e '.[images]' (torch==2.13.0, CPU)")
    kit = kit_copy(tmp_path, requirements=True)
    r = score_submission(kit, STARTING_KIT, quick=True).result
    assert r.status == "scored", (r.reason, r.log_tail)
    assert len(r.folds) == 2 and r.bagged["test"]["acc"] > 0.7


# ------------------------------------------------------------------ in the container
@pytest.mark.docker
def test_in_the_container_no_label_is_within_reach_of_a_fold(docker_engine, tmp_path):
    kit = kit_copy(tmp_path)
    run = score_submission(kit, submission(tmp_path / "spy", SPY), backend=DockerBackend(),
                           quick=True)
    r = run.result
    assert r.status == "scored", (r.reason, r.log_tail)
    assert "probed the labels and the whole file system" in r.log_tail
    assert "'images'" in r.log_tail and "fold_labels" not in r.log_tail
    for p in run.predictions:
        assert (p.valid_pred[:, 0] < 1).all() and np.allclose(p.test_pred, 0.1)


@pytest.mark.docker
def test_docker_scores_like_the_local_backend(docker_engine, tmp_path):
    kit = kit_copy(tmp_path)
    sub = submission(tmp_path / "nm", NEAREST_MEAN)
    local = score_submission(kit, sub, quick=True).result
    docker = score_submission(kit, sub, backend=DockerBackend(), quick=True).result
    assert docker.status == "scored", (docker.reason, docker.log_tail)
    assert [f.scores for f in docker.folds] == [f.scores for f in local.folds]
    assert docker.reason is None


@pytest.mark.docker
def test_a_gpu_request_is_refused_without_gpus_or_runs_on_the_cpu_when_optional(
        docker_engine, tmp_path):
    if any("nvidia" in r for r in docker_engine.info().get("Runtimes", {})):
        pytest.skip("this engine has the NVIDIA runtime: GPUs may be there to give")
    sub = submission(tmp_path / "nm", NEAREST_MEAN)
    backend = DockerBackend(warm=False)
    with pytest.raises(GitrampError, match=r"asks for 1 GPU \(limits.gpus of challenge.yml\) "
                                           r"and the docker engine of this runner has none"):
        score_submission(kit_copy(tmp_path / "a", gpus=1), sub, backend=backend, quick=True)
    r = score_submission(kit_copy(tmp_path / "b", gpus=2, gpus_optional=True), sub,
                         backend=backend, quick=True).result
    assert r.status == "scored", (r.reason, r.log_tail)
    assert r.reason == ("ran on the CPU: the kit asks for 2 GPUs and this runner has none "
                        "(limits.gpus_optional: true)")
