"""What a score was computed with, as a re-run needs it: the data, the environment, the
machine and the scorer's own seeds. Never the data itself.

- **Data**: a keyed fingerprint of the data files the scorer read: an HMAC-SHA256 of
  each file under the runner's secret key, and one over them all. A plain hash of a
  small label file could be brute-forced back into the labels; a keyed one cannot
  without the key. The key comes from `GITRAMP_FINGERPRINT_KEY` (text), else the file
  `GITRAMP_FINGERPRINT_KEY_FILE` names, else `~/.config/gitramp/fingerprint.key`
  (`$XDG_CONFIG_HOME`); without one, no fingerprint is made. Runners that must compare
  fingerprints share one key. The key is named in a record by a short id (an HMAC of a
  constant), never itself. A file's fingerprint is computed once per version of the file
  (its size, mtime and inode) and cached in `~/.cache/gitramp/fingerprints.json`
  (`$GITRAMP_CACHE_DIR`, `$XDG_CACHE_HOME`).
- **Environment**: the manifest of the scoring image (`/etc/gitramp/manifest.json`,
  written at build time by the recipe's `manifest.py`, read from the image without
  running it), or of this interpreter for the local backend (the scoring libraries
  only). Manifests are kept by digest in the cache, so that a later comparison on this
  machine can name each package that changed.
- **Machine**: the CPU model and count, the GPUs `nvidia-smi` lists.
- **Seeds**: those the scorer itself uses (the CV splitter's, the quick subsample's).
  The submission's own randomness is not seeded: that is its author's to fix.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import importlib.util
import inspect
import io
import json
import os
import platform
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from scorer.backends.docker_image import RECIPE_DIR
from scorer.task import Task

KEY_ENV = "GITRAMP_FINGERPRINT_KEY"
KEY_FILE_ENV = "GITRAMP_FINGERPRINT_KEY_FILE"
CACHE_ENV = "GITRAMP_CACHE_DIR"
MANIFEST_PATH = "/etc/gitramp/manifest.json"
# The libraries a score depends on (the recipe's requirements.txt names these and their
# dependencies); the local backend's manifest lists them.
SCORING_LIBRARIES = ("numpy", "scipy", "pandas", "scikit-learn", "joblib", "threadpoolctl")
CHUNK = 1 << 20

_lock = threading.Lock()
_memo: dict[tuple, str] = {}  # (key id, path, size, mtime, inode) -> hex
_images: dict[str, dict | None] = {}  # image id -> manifest


# ---------------------------------------------------------------------------- the key
def config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "gitramp"


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gitramp"


def default_key_file() -> Path:
    return config_dir() / "fingerprint.key"


def fingerprint_key() -> bytes | None:
    """The runner's secret fingerprint key, or None when none is configured."""
    text = os.environ.get(KEY_ENV)
    if text:
        return text.strip().encode()
    file = os.environ.get(KEY_FILE_ENV)
    path = Path(file) if file else default_key_file()
    with contextlib.suppress(OSError):
        data = path.read_bytes().strip()
        if data:
            return data
    return None


def key_id(key: bytes) -> str:
    """A short name of a key that tells keys apart without revealing them."""
    return hmac.new(key, b"gitramp fingerprint key id", hashlib.sha256).hexdigest()[:12]


# ---------------------------------------------------------------------------- the data
def data_files(kit: Task, root: Path) -> list[Path]:
    """The files the scorer reads from a data folder: the kit's two CSV files (and the
    files of its images folder), or, when its problem.py reads the data itself, every
    file of the folder."""
    problem = kit.problem()
    if problem is not None and (hasattr(problem, "get_train_data") or
                                hasattr(problem, "get_test_data")):
        return sorted(p for p in Path(root).rglob("*") if p.is_file())
    images = kit.data.images
    return [Path(root) / kit.data.train, Path(root) / kit.data.test] + (
        sorted(p for p in (Path(root) / images).rglob("*") if p.is_file()) if images else [])


def data_fingerprint(kit: Task, root: Path, key: bytes | None = None) -> dict[str, Any] | None:
    """{key, digest, files: {relative path: HMAC}} of the data the kit reads from `root`;
    None without a key. A file that is missing is named with the digest `missing`."""
    key = key if key is not None else fingerprint_key()
    if key is None:
        return None
    kid = key_id(key)
    root = Path(root)
    files = {}
    cache = _load_cache(kid)
    dirty = False
    for path in data_files(kit, root):
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        try:
            st = path.stat()
        except OSError:
            files[rel] = "missing"
            continue
        ident = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
        digest = cache.get(ident)
        if digest is None:
            digest = _hmac_file(key, path)
            cache[ident] = digest
            dirty = True
        files[rel] = digest
    if dirty:
        _save_cache(kid, cache)
    whole = hmac.new(key, "".join(f"{p}\0{d}\n" for p, d in sorted(files.items())).encode(),
                     hashlib.sha256).hexdigest()
    return {"key": kid, "digest": f"hmac-sha256:{whole}", "files": dict(sorted(files.items()))}


def _hmac_file(key: bytes, path: Path) -> str:
    h = hmac.new(key, digestmod=hashlib.sha256)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _cache_file() -> Path:
    return cache_dir() / "fingerprints.json"


def _load_cache(kid: str) -> dict[str, str]:
    with _lock:
        try:
            data = json.loads(_cache_file().read_text())
        except (OSError, ValueError):
            data = {}
    return dict(data.get(kid, {})) if isinstance(data, dict) else {}


def _save_cache(kid: str, entries: dict[str, str]) -> None:
    """Best effort: a cache that cannot be written only costs a recomputation."""
    file = _cache_file()
    with _lock, contextlib.suppress(OSError, ValueError):
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        data[kid] = dict(list(entries.items())[-10000:])
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(json.dumps(data))
        tmp.chmod(0o600)  # keyed digests, yet nobody else's business
        tmp.replace(file)


# ------------------------------------------------------------------------ environment
@functools.cache
def manifest_module() -> ModuleType:
    """The recipe's manifest.py, the one code that describes an environment."""
    spec = importlib.util.spec_from_file_location("gitramp_image_manifest",
                                                  RECIPE_DIR / "manifest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifest_digest(manifest: dict) -> str:
    return manifest_module().digest(manifest)


@functools.cache
def local_manifest() -> dict:
    """This interpreter's manifest: OS, Python and the scoring libraries with their file
    hashes (computed once per process)."""
    m = manifest_module()
    manifest = m.build("/", only={m.normalise(n) for n in SCORING_LIBRARIES}, debian=False)
    keep_manifest(manifest)
    return manifest


def image_manifest(client, image_id: str) -> dict | None:
    """The manifest an image holds, read from a container created (never started) from
    it; None when the image has none (built before images carried one)."""
    with _lock:
        if image_id in _images:
            return _images[image_id]
    import docker

    from scorer.backends.docker_spec import LABEL

    container = client.containers.create(image_id, command=["true"], network_disabled=True,
                                         labels={LABEL: "1"})
    manifest = None
    try:
        stream, _ = container.get_archive(MANIFEST_PATH)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile(tar.getmembers()[0])
            manifest = json.loads(member.read()) if member is not None else None
    except (docker.errors.NotFound, tarfile.TarError, ValueError, IndexError):
        manifest = None
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
    if manifest is not None:
        keep_manifest(manifest)
    with _lock:
        _images[image_id] = manifest
    return manifest


def keep_manifest(manifest: dict) -> None:
    """Keep a manifest in the cache under its digest, for later comparisons."""
    path = cache_dir() / "manifests" / f"{manifest_digest(manifest).split(':')[-1]}.json"
    with contextlib.suppress(OSError):
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(manifest, sort_keys=True))


def kept_manifest(digest: str) -> dict | None:
    """A manifest kept earlier on this machine, by its digest."""
    path = cache_dir() / "manifests" / f"{str(digest).split(':')[-1]}.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return manifest if manifest_digest(manifest) == digest else None


def environment(manifest: dict | None, source: str) -> dict[str, Any]:
    """What a record keeps of a manifest: its digest, OS, Python, and the scoring
    libraries' versions (the whole manifest stays in the image, or in the cache)."""
    if manifest is None:
        return {"source": source, "manifest": None}
    packages = manifest.get("python_packages", {})
    m = manifest_module()
    libraries = {n: packages[m.normalise(n)]["version"] for n in SCORING_LIBRARIES
                 if m.normalise(n) in packages}
    return {"source": source, "manifest": manifest_digest(manifest),
            "os": manifest.get("os"), "python": manifest.get("python"),
            "packages": libraries}


def manifest_differences(old: dict, new: dict) -> list[str]:
    """Each difference between two manifests, one line each."""
    out = []
    for key in ("os", "machine", "python"):
        if old.get(key) != new.get(key):
            out.append(f"{key}: {old.get(key)} -> {new.get(key)}")
    for section, what in (("os_packages", "OS package"), ("python_packages", "Python package")):
        a, b = old.get(section, {}), new.get(section, {})
        for name in sorted(set(a) | set(b)):
            if name not in b:
                out.append(f"{what} {name} {a[name]['version']}: not in the new environment")
            elif name not in a:
                out.append(f"{what} {name} {b[name]['version']}: not in the recorded one")
            elif a[name]["version"] != b[name]["version"]:
                out.append(f"{what} {name}: {a[name]['version']} -> {b[name]['version']}")
            elif a[name]["sha256"] != b[name]["sha256"]:
                out.append(f"{what} {name} {a[name]['version']}: same version, other files")
    return out


def environment_differences(recorded: dict, manifest: dict | None, current: dict) -> list[str]:
    """Why the environment a record names is not the current one (none when the
    manifests are the same): each package that changed when the recorded manifest is
    kept on this machine, else what the record itself holds."""
    if recorded.get("manifest") == current.get("manifest"):
        return []
    if not current.get("manifest"):
        return ["the current environment has no manifest (an image built before images "
                "carried one: rebuild it with `gitramp image build`)"]
    old = kept_manifest(recorded["manifest"])
    if old is not None and manifest is not None:
        found = manifest_differences(old, manifest)
        if found:
            return found
    found = [f"{key}: {recorded.get(key)} -> {current.get(key)}" for key in ("os", "python")
             if recorded.get(key) != current.get(key)]
    a, b = recorded.get("packages") or {}, current.get("packages") or {}
    found += [f"Python package {n}: {a.get(n, 'absent')} -> {b.get(n, 'absent')}"
              for n in sorted(set(a) | set(b)) if a.get(n) != b.get(n)]
    found.append(f"image manifest {recorded['manifest']} -> {current['manifest']}"
                 + ("" if found else " (the packages that differ are not named: the "
                    "recorded manifest is not kept on this machine)"))
    return found


# ---------------------------------------------------------------------------- machine
@functools.cache
def machine() -> dict[str, Any]:
    """The CPU model and count, and the GPUs nvidia-smi lists (none without it)."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    gpus: list[str] = []
    if shutil.which("nvidia-smi"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                                   "--format=csv,noheader"], capture_output=True, text=True,
                                  timeout=20, check=False)
            if done.returncode == 0:
                gpus = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return {"cpu": cpu, "cpus": os.cpu_count() or 0, "gpus": gpus}


# ----------------------------------------------------------------------------- seeds
def scorer_seeds(kit: Task, quick: bool) -> dict[str, Any]:
    """The randomness the scorer itself fixes: the CV splitter's seed (or the kit's
    get_cv, which seeds itself), and the subsample of a quick run."""
    from scorer.data import subsample
    from scorer.scoring import QUICK_FOLDS

    problem = kit.problem()
    if problem is not None and hasattr(problem, "get_cv"):
        cv: dict[str, Any] = {"splitter": "problem.py:get_cv", "random_state": None}
    else:
        cv = {"splitter": kit.cv.type, "random_state": kit.cv.params.get("random_state")}
    sub = None
    if quick:
        defaults = {k: p.default for k, p in inspect.signature(subsample).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        sub = {"seed": defaults["seed"], "n_train": defaults["n_train"],
               "n_test": defaults["n_test"], "folds": QUICK_FOLDS}
    return {"cv": cv, "quick": sub, "submission": None}
