"""Honest verdicts, as a participant meets them with `gitramp test`: a submission whose
predictions are all written is scored even when something it started is still
running, and one that runs out of files is told which file limit it hit, not that it
ran out of memory or time. Local backend, then the runner's container."""

from __future__ import annotations

import re
import shutil

import pytest

from gitramp.main import main
from tests.conftest import ROOT

IRIS = ROOT / "kits" / "iris"
# The kit's limit: a fold held by a lingering thread would be reported as a timeout after
# it; generous, so that a loaded machine's slow container start never gets there.
TIMEOUT = 240

# A library-style background flusher: a non-daemon thread, and an exit handler that
# waits for it, as telemetry and logging libraries do. It never ends by itself.
LINGERING = """\
import atexit
import threading
import time

from sklearn.linear_model import LogisticRegression

_flusher = None


def _flush_forever():
    while True:
        time.sleep(0.1)


class Classifier:
    def fit(self, X, y):
        global _flusher
        if _flusher is None:
            _flusher = threading.Thread(target=_flush_forever, name="metrics-flusher")
            _flusher.start()
            atexit.register(_flusher.join)
        self.model = LogisticRegression(max_iter=500).fit(X, y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(X)
"""

# One small file per cached value, every file kept open (a naive feature cache).
OPEN_FILES = """\
import os
import tempfile

from sklearn.linear_model import LogisticRegression


class Classifier:
    def fit(self, X, y):
        cache, self.handles = tempfile.mkdtemp(prefix="cache-"), []
        for i in range(100_000):
            f = open(os.path.join(cache, f"{i}.txt"), "w")
            f.write("0")
            self.handles.append(f)
        self.model = LogisticRegression(max_iter=500).fit(X, y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(X)
"""

# One empty marker file per row and repetition, in the scratch space (closed at once).
SMALL_FILES = """\
import os
import tempfile

from sklearn.linear_model import LogisticRegression


class Classifier:
    def fit(self, X, y):
        cache = tempfile.mkdtemp(prefix="cache-")
        for i in range(5_000_000):
            with open(os.path.join(cache, f"{i}.done"), "w"):
                pass
        self.model = LogisticRegression(max_iter=500).fit(X, y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(X)
"""


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    d = tmp_path_factory.mktemp("verdicts") / "iris"
    shutil.copytree(IRIS, d, ignore=shutil.ignore_patterns("hidden"))
    spec = d / "challenge.yml"
    spec.write_text(re.sub(r"timeout: \d+", f"timeout: {TIMEOUT}", spec.read_text()))
    for name, code in {"lingering": LINGERING, "open_files": OPEN_FILES,
                       "small_files": SMALL_FILES}.items():
        (d / "submissions" / name).mkdir()
        (d / "submissions" / name / "classifier.py").write_text(code)
    return d


def _test(kit, name, capsys, *extra) -> tuple[int, str]:
    code = main(["test", "--kit", str(kit), "--submission", name, "--quick-test", *extra])
    return code, " ".join(capsys.readouterr().out.split())


def _lingering_is_scored(kit, capsys, *extra):
    code, out = _test(kit, "lingering", capsys, *extra)
    assert code == 0, out  # scored: held until the limit, it would be a timeout
    assert "bagged valid" in out and "timeout" not in out


def _open_files_named(kit, capsys, *extra):
    code, out = _test(kit, "open_files", capsys, *extra)
    assert code == 1
    assert "open_files: error" in out, out
    assert "hit a file limit while training (fit) in classifier.py, line 11" in out
    assert "Too many open files" in out and "at most 1024 at once" in out
    assert "close each file once written" in out
    assert "memory" not in out.split("That is not memory")[0]


def test_local_a_lingering_thread_does_not_hold_a_scored_fold(kit, capsys):
    _lingering_is_scored(kit, capsys)


def test_local_many_open_files_are_reported_as_the_file_limit(kit, capsys, tmp_path):
    _open_files_named(kit, capsys)


@pytest.mark.docker
def test_docker_a_lingering_thread_does_not_hold_a_scored_fold(kit, capsys, docker_engine):
    _lingering_is_scored(kit, capsys, "--backend", "docker")


@pytest.mark.docker
def test_docker_many_open_files_are_reported_as_the_file_limit(kit, capsys, docker_engine):
    _open_files_named(kit, capsys, "--backend", "docker")


@pytest.mark.docker
def test_docker_filling_scratch_with_small_files_is_not_memory(kit, capsys, docker_engine):
    code, out = _test(kit, "small_files", capsys, "--backend", "docker")
    assert code == 1
    assert "small_files: error" in out, out
    assert "oom" not in out.split("That is not memory")[0]
    assert "No space left on device" in out
    assert "has no free file (inode) left" in out
    assert "it filled its scratch space (on a runner, /tmp holds 256m, and at most one file " \
        "per 4 KB of that)" in out
