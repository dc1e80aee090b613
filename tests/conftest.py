"""Shared fixtures. Tests that need Docker, Podman or Chromium skip with a reason locally
and fail under CI=true, where .ci/run has installed them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The suite scores its own example code: the local backend is its choice, which `gitramp
# score` and `scan` never make alone (gitramp/config.py); tests of that refusal unset it.
os.environ.setdefault("GITRAMP_BACKEND", "local")


@pytest.fixture(autouse=True)
def _gitramp_environment():
    """Each test gets the GITRAMP_* variables as they were before it. A command run in
    the test's process (`main([...])`) exports its settings as the variables the
    backends read, as a command of its own process may: `gitramp test --engine podman`
    left GITRAMP_ENGINE set, and every later Docker test reached Podman."""
    before = {k: v for k, v in os.environ.items() if k.startswith("GITRAMP_")}
    yield
    for key in [k for k in os.environ if k.startswith("GITRAMP_") and k not in before]:
        del os.environ[key]
    os.environ.update(before)


def need(reason: str):
    """Skip with `reason`, or fail when running in CI, where nothing may be missing."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}; .ci/run should have provided it")
    pytest.skip(reason)


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def docker_engine():
    if not docker_available():
        need("no Docker engine answers `docker info` (install docker.io and start dockerd)")
    import docker

    return docker.from_env()


@pytest.fixture(scope="session")
def podman_engine():
    """A Docker SDK client on root Podman's Docker-compatible socket (started, and fed
    the scoring image, by runners/podman/start_service.sh), in the backend's dialect."""
    from scorer.backends.docker_image import image_tag
    from scorer.backends.engine import Engine, podman_socket
    from scorer.errors import GitrampError

    engine = Engine("podman", podman_socket())
    try:
        client = engine.connect(timeout=60)
    except GitrampError as e:
        need(f"no Podman service answers on {engine.url} ({e}); run "
             "runners/podman/start_service.sh as root")
    tag = image_tag()
    if not any(t.endswith(tag) for i in client.images.list() for t in i.tags):
        need(f"Podman lacks the scoring image {tag}: run runners/podman/start_service.sh "
             "(it loads it with `docker save | podman load`)")
    return client


# Container engines the sandbox suites run on: both under CI=true (.ci/run starts
# each), each skipped with its reason elsewhere.
ENGINES = ["docker", pytest.param("podman", marks=pytest.mark.podman)]


@pytest.fixture(scope="module", params=ENGINES)
def container_engine(request):
    """(the engine, a client of it) for a module's sandbox runs, once per engine: give
    the engine to DockerBackend(engine=...)."""
    from scorer.backends.engine import Engine, podman_socket

    client = request.getfixturevalue(f"{request.param}_engine")
    url = podman_socket() if request.param == "podman" else None
    return Engine(request.param, url), client


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if path is None:
        need("no Chromium binary on PATH (apt-get install chromium chromium-driver)")
    return path


@pytest.fixture(scope="session")
def test_output() -> Path:
    """Where tests leave artefacts worth a look (screenshots, logs)."""
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    return out
