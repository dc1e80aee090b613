"""Provenance: the keyed data fingerprint, the environment manifest, old records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from challenge.kit import load_kit
from challenge.ledger import Ledger, dump_record
from scorer import fingerprint as fp
from scorer.result import SCHEMA_VERSION, Result

ROOT = Path(__file__).resolve().parent.parent
IRIS = ROOT / "kits" / "iris"
MANIFEST = ROOT / "runners" / "manifest.py"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(fp.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(fp.KEY_ENV, raising=False)
    monkeypatch.setenv(fp.KEY_FILE_ENV, str(tmp_path / "no-key"))
    return tmp_path / "cache"


def data_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "hidden"
    (folder / "data").mkdir(parents=True)
    for name in ("train.csv", "test.csv"):
        (folder / "data" / name).write_bytes((IRIS / "hidden" / "data" / name).read_bytes())
    return folder


def test_the_data_fingerprint_is_keyed_per_file_and_names_no_data(cache, tmp_path):
    kit, data = load_kit(IRIS), data_copy(tmp_path)
    a = fp.data_fingerprint(kit, data, b"key one")
    b = fp.data_fingerprint(kit, data, b"key two")
    assert set(a["files"]) == {"data/train.csv", "data/test.csv"}
    assert a["key"] == fp.key_id(b"key one") != b["key"]
    assert a["digest"] != b["digest"] and a["files"]["data/test.csv"] != \
        b["files"]["data/test.csv"]
    text = json.dumps(a)
    assert "setosa" not in text and "key one" not in text  # neither data nor key
    # a plain hash of the file is not what is recorded
    import hashlib
    plain = hashlib.sha256((data / "data" / "test.csv").read_bytes()).hexdigest()
    assert plain not in text


def test_the_fingerprint_is_cached_per_file_version_and_follows_a_change(cache, tmp_path):
    kit, data = load_kit(IRIS), data_copy(tmp_path)
    first = fp.data_fingerprint(kit, data, b"k")
    stored = json.loads((cache / "fingerprints.json").read_text())[fp.key_id(b"k")]
    assert sorted(stored.values()) == sorted(first["files"].values())
    assert (cache / "fingerprints.json").stat().st_mode & 0o077 == 0
    assert fp.data_fingerprint(kit, data, b"k") == first
    test = data / "data" / "test.csv"
    test.write_bytes(test.read_bytes().replace(b"setosa", b"virginica", 1))
    again = fp.data_fingerprint(kit, data, b"k")
    assert again["files"]["data/train.csv"] == first["files"]["data/train.csv"]
    assert again["files"]["data/test.csv"] != first["files"]["data/test.csv"]
    test.unlink()
    assert fp.data_fingerprint(kit, data, b"k")["files"]["data/test.csv"] == "missing"


def test_no_key_no_fingerprint_and_the_key_comes_from_the_environment_or_a_file(
        cache, tmp_path, monkeypatch):
    kit, data = load_kit(IRIS), data_copy(tmp_path)
    assert fp.fingerprint_key() is None and fp.data_fingerprint(kit, data) is None
    (tmp_path / "key").write_text("from a file\n")
    monkeypatch.setenv(fp.KEY_FILE_ENV, str(tmp_path / "key"))
    assert fp.fingerprint_key() == b"from a file"
    monkeypatch.setenv(fp.KEY_ENV, "from the environment")
    assert fp.data_fingerprint(kit, data)["key"] == fp.key_id(b"from the environment")


def fake_root(tmp_path: Path, version: str) -> Path:
    """A root with dpkg's database naming one package and its one file."""
    root = tmp_path / f"root-{version}"
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc/os-release").write_text('PRETTY_NAME="Test OS 1"\n')
    (root / "var/lib/dpkg/status").write_text(
        f"Package: libdemo\nStatus: install ok installed\nArchitecture: amd64\n"
        f"Version: {version}\n\nPackage: gone\nStatus: deinstall ok config-files\n"
        "Version: 1\n")
    (root / "var/lib/dpkg/info/libdemo:amd64.list").write_text("/usr\n/usr/lib/demo.so\n")
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/demo.so").write_bytes(b"demo " + version.encode())
    return root


def test_the_image_manifest_lists_packages_with_versions_and_file_hashes(tmp_path):
    """runners/manifest.py, run as build_image.sh runs it (a script given a root)."""
    root = fake_root(tmp_path, "1.0")
    out = subprocess.run([sys.executable, str(MANIFEST), str(root)], capture_output=True,
                         text=True, check=True, timeout=120)
    manifest = json.loads(out.stdout)
    assert manifest["os"] == "Test OS 1"
    assert list(manifest["os_packages"]) == ["libdemo"]
    assert manifest["os_packages"]["libdemo"]["version"] == "1.0"
    assert manifest["python_packages"]["numpy"]["version"]
    m = fp.manifest_module()
    same = m.build(str(root), only={"numpy"})
    assert same["os_packages"] == manifest["os_packages"]
    assert m.digest(m.build(str(root), only={"numpy"})) == m.digest(same)  # nothing
    # depends on when it was built
    manifest = same
    (root / "usr/lib/demo.so").write_bytes(b"other content")
    changed = m.build(str(root), only={"numpy"})
    assert fp.manifest_differences(manifest, changed) == [
        "OS package libdemo 1.0: same version, other files"]
    newer = m.build(str(fake_root(tmp_path, "2.0")), only={"numpy"})
    assert fp.manifest_differences(manifest, newer) == ["OS package libdemo: 1.0 -> 2.0"]


def test_a_record_of_the_old_schema_still_reads(tmp_path):
    old = {"schema": 1, "challenge": "iris", "submission": "old", "team": "alice",
           "status": "scored", "score_names": ["acc"], "precision": {"acc": 3},
           "folds": [{"scores": {"valid": {"acc": 0.9}}, "fit_time": 0.1,
                      "predict_time": 0.1}], "bagged": {"valid": {"acc": 0.9}},
           "tree": "a" * 40, "scoring_hash": "b" * 16, "image": "gitramp-scorer:x@sha256:1"}
    r = Result.from_dict(old)
    assert r.schema == 1 and r.provenance == {} and r.image.endswith("@sha256:1")
    assert Result.from_dict(r.to_dict()).schema == 1  # read as what it is
    ledger = Ledger(tmp_path / "repo", create=True)
    path = "leaderboard_data/iris/old/aaaaaaaaaaaaaaaa-bbbbbbbb.yml"
    ledger.write({path: dump_record(old, path)}, "an old record")
    [read] = ledger.records("iris")
    assert read.submission == "old" and read.provenance == {} and not ledger.skipped
    new = Result(challenge="iris", submission="new", status="scored",
                 provenance={"data": None})
    assert new.to_dict()["schema"] == SCHEMA_VERSION == 2
    assert new.public_dict()["provenance"] == {"data": None}
    assert "provenance" not in new.private_dict()


def test_the_scorer_seeds_are_named_and_the_submission_is_not_seeded():
    kit = load_kit(IRIS)
    assert fp.scorer_seeds(kit, quick=False) == {
        "cv": {"splitter": "StratifiedShuffleSplit", "random_state": 42}, "quick": None,
        "submission": None}
    quick = fp.scorer_seeds(kit, quick=True)["quick"]
    assert quick == {"seed": 0, "n_train": 200, "n_test": 100, "folds": 2}
    assert fp.machine()["cpus"] >= 1 and fp.machine()["cpu"]


@pytest.mark.docker
def test_a_container_record_names_the_image_by_its_manifest(docker_engine, cache):
    """The Docker backend's environment is the scoring image's own manifest, read from a
    container that never starts; it names the scoring libraries and is kept by digest,
    so a later verify can name the package that changed."""
    from challenge.provenance import backend_environment
    from scorer.backends.docker import DockerBackend
    from scorer.backends.docker_image import image_tag

    image = docker_engine.images.get(image_tag())
    backend = DockerBackend()
    try:
        manifest, env = backend_environment(backend, f"{image_tag()}@{image.id}")
    finally:
        backend.close()
    assert env["source"] == "image" and env["python"].startswith("3.11")
    assert set(env["packages"]) >= {"numpy", "scipy", "pandas", "scikit-learn"}
    assert manifest["os_packages"] and "scikit-learn" in manifest["python_packages"]
    assert env["manifest"] == fp.manifest_digest(manifest)
    assert fp.kept_manifest(env["manifest"]) == json.loads(json.dumps(manifest))
