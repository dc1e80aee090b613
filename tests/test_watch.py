"""`gitramp test --watch` as a participant uses it: start it, save an edit of the
submission, read the new scores beside the previous ones, save a broken edit and read
why it failed, fix it, then Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import ROOT

IRIS = ROOT / "kits" / "iris"
WAIT = 120  # seconds: generous for a loaded machine; a rescore takes a fraction of one


class Session:
    """`gitramp test --watch` in its own process, its output read line by line."""

    def __init__(self, kit):
        env = dict(os.environ, COLUMNS="200", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gitramp.main", "test", "--kit", str(kit), "--watch",
             "--quick-test"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=env, cwd=ROOT)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def until(self, pattern: str) -> list[str]:
        """The lines printed up to the first matching `pattern`."""
        deadline, got = time.monotonic() + WAIT, []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, "\n".join(self.seen)
                continue
            self.seen.append(line)
            got.append(line)
            if re.search(pattern, line):
                return got
        raise AssertionError(f"no line matching {pattern!r}:\n" + "\n".join(self.seen))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def kit(tmp_path):
    d = tmp_path / "iris"
    shutil.copytree(IRIS, d, ignore=shutil.ignore_patterns("hidden"))
    return d


def _save(path, text: str) -> None:
    """As an editor does: a new file renamed over the old one."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_watch_scores_each_save_beside_the_previous_scores(kit):
    code = kit / "submissions" / "starting_kit" / "classifier.py"
    original = code.read_text()
    assert "C=1.0" in original
    session = Session(kit)
    try:
        session.until(r"^watching .*starting_kit for saved files \(Ctrl-C stops\)")
        _save(code, original.replace("C=1.0", "C=0.01"))
        session.until(r"^starting_kit: classifier.py saved; scored again in \d+\.\d\d s")
        table = session.until(r"bagged test .* f1 ")
        rows = {tuple(re.split(r"\s*│\s*", line.strip("│ "))[:2]): line for line in table
                if "│" in line}
        valid_acc = re.split(r"\s*│\s*", rows[("bagged valid", "acc")].strip("│ "))
        previous, now, change = (float(v) for v in valid_acc[2:5])
        assert previous != now and change == pytest.approx(now - previous, abs=0.002)
        assert ("bagged test", "nll") in rows

        _save(code, original.replace("class Classifier", "class Clasifier"))
        failed = " ".join(session.until(r"fix it and run it again"))
        assert "starting_kit: error (stage: load)" in failed
        assert "classifier.py" in failed and "did you mean" in failed.lower()

        _save(code, original)  # fixed: compared with the last scored run (C=0.01)
        session.until(r"starting_kit: classifier.py saved; scored again")
        session.until(r"bagged valid .* acc ")
    finally:
        if session.proc.poll() is None:
            session.proc.send_signal(signal.SIGINT)
        try:
            code_out = session.proc.wait(30)
        finally:
            session.close()
    rest = []
    while not session.lines.empty():
        rest.append(session.lines.get())
    assert code_out == 0, "\n".join(session.seen + rest)
    assert "stopped watching" in rest
    assert not any("Traceback" in line for line in rest)
