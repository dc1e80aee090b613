"""What a fold starts ends with the fold, on the local backend too: a submission that
leaves a process running (a subprocess, a forked child that leaves the process group
in a session of its own, a double-forked daemon) is scored, and none of those
processes is left once `gitramp test` has printed its scores, while the process that
ran the folds is still there to be asked."""

from __future__ import annotations

import shutil
from pathlib import Path

from gitramp.main import main
from tests.conftest import ROOT

IRIS = ROOT / "kits" / "iris"

# Each fit leaves three sleepers behind and writes their process ids to PIDS.
FORKER = """\
import os
import subprocess

from sklearn.linear_model import LogisticRegression

PIDS = {pids!r}


def _note(pid):
    with open(PIDS, "a") as f:
        f.write(f"{{pid}}\\n")


def _sleep_forever():
    os.execvp("sleep", ["sleep", "300"])


class Classifier:
    def fit(self, X, y):
        # a subprocess, in the fold's own process group
        _note(subprocess.Popen(["sleep", "300"], start_new_session=False).pid)
        # a forked child in a session of its own: out of the fold's group
        child = os.fork()
        if child == 0:
            os.setsid()
            _sleep_forever()
        _note(child)
        # a daemon: forked twice, its parent gone at once, so it belongs to nobody
        read, write = os.pipe()
        middle = os.fork()
        if middle == 0:
            os.setsid()
            daemon = os.fork()
            if daemon == 0:
                _sleep_forever()
            os.write(write, f"{{daemon}}\\n".encode())
            os._exit(0)
        os.waitpid(middle, 0)
        _note(int(os.read(read, 64)))
        self.model = LogisticRegression(max_iter=500).fit(X, y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(X)
"""


def _running(pid: int) -> bool:
    """Whether process `pid` exists and has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_processes_a_fold_leaves_are_killed_when_it_ends(tmp_path, capsys):
    from scorer.backends.forkserver import get_server

    kit = tmp_path / "iris"
    shutil.copytree(IRIS, kit, ignore=shutil.ignore_patterns("hidden"))
    pids_file = tmp_path / "pids.txt"
    (kit / "submissions" / "forker").mkdir()
    (kit / "submissions" / "forker" / "classifier.py").write_text(
        FORKER.format(pids=str(pids_file)))

    code = main(["test", "--kit", str(kit), "--submission", "forker", "--quick-test",
                 "--backend", "local"])
    out = " ".join(capsys.readouterr().out.split())
    assert code == 0, out
    assert "bagged valid" in out
    pids = [int(line) for line in pids_file.read_text().split()]
    assert len(pids) == 3 * 2  # three per fold, two folds (--quick-test)
    assert get_server().proc.poll() is None  # the fork server lives on: the fence did it
    left = [pid for pid in pids if _running(pid)]
    assert not left, f"processes left running after scoring: {left}"


# The fit starts a sleeper in a session of its own, notes it, then never ends.
STUCK = """\
import os
import time

PIDS = {pids!r}


class Classifier:
    def fit(self, X, y):
        child = os.fork()
        if child == 0:
            os.setsid()
            os.execvp("sleep", ["sleep", "300"])
        with open(PIDS, "a") as f:
            f.write(f"{{child}}\\n")
        time.sleep(300)

    def predict_proba(self, X):
        raise AssertionError("never reached")
"""


def test_processes_of_a_fold_stopped_at_the_time_limit_are_killed(tmp_path, capsys):
    import re
    import time

    kit = tmp_path / "iris"
    shutil.copytree(IRIS, kit, ignore=shutil.ignore_patterns("hidden"))
    spec = kit / "challenge.yml"
    spec.write_text(re.sub(r"timeout: \d+", "timeout: 3", spec.read_text()))
    pids_file = tmp_path / "pids.txt"
    (kit / "submissions" / "stuck").mkdir()
    (kit / "submissions" / "stuck" / "classifier.py").write_text(
        STUCK.format(pids=str(pids_file)))

    code = main(["test", "--kit", str(kit), "--submission", "stuck", "--quick-test",
                 "--backend", "local"])
    out = " ".join(capsys.readouterr().out.split())
    assert code == 1 and "timeout" in out, out
    pids = [int(line) for line in pids_file.read_text().split()]
    assert pids
    deadline = time.monotonic() + 10  # killed as the fork server reaps the stopped worker
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _running(pid)]
