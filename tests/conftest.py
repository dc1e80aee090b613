"""Shared fixtures. Tests that need Docker or Chromium skip with a reason locally and
fail under CI=true, where .ci/run has installed both."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


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
