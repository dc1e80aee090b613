"""What a participant meets with `gitramp test` on a kit: the runner's folder rules are
checked before scoring (warnings, or errors with --strict), sizes read in the kit's
units, a misspelt file gets a "did you mean", a missing class is a load error of that
file, and no message sends the participant to the command they are running."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pygit2
import pytest

from challenge.kit import load_kit
from challenge.validate import check_local_folder, folder_files
from gitramp.main import main
from tests.conftest import ROOT

IRIS = ROOT / "kits" / "iris"
GOOD = (IRIS / "submissions" / "starting_kit" / "classifier.py").read_text()


@pytest.fixture()
def kit_dir(tmp_path):
    d = tmp_path / "iris"
    shutil.copytree(IRIS, d, ignore=shutil.ignore_patterns("hidden"))
    return d


def _submission(kit_dir: Path, name: str, files: dict[str, str | bytes]) -> Path:
    folder = kit_dir / "submissions" / name
    folder.mkdir()
    for path, content in files.items():
        target = folder / path
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return folder


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_big_extra_file_and_a_notebook_warn_before_scoring(kit_dir, capsys):
    folder = _submission(kit_dir, "heavy", {"classifier.py": GOOD,
                                            "explore.ipynb": '{"cells": []}\n'})
    with open(folder / "weights.txt", "w") as f:  # 47.7 MB of text, over 100KB
        f.write("0" * 50_000_457)
    code = main(["test", "--kit", str(kit_dir), "--submission", "heavy", "--quick-test"])
    out = _flat(capsys.readouterr().out)
    assert code == 0  # a warning by default: it still scores
    assert "warning: heavy: files:" in out and "unexpected explore.ipynb, weights.txt" in out
    assert "47.7 MB in all, over the limit of 100 KB" in out
    assert "A runner would reject this submission" in out
    assert out.index("warning:") < out.index("acc")  # reported before the scores


def test_strict_refuses_and_scores_nothing(kit_dir, capsys):
    _submission(kit_dir, "notebook", {"classifier.py": GOOD,
                                      "explore.ipynb": '{"cells": []}\n'})
    code = main(["test", "--kit", str(kit_dir), "--submission", "notebook", "--strict"])
    out = _flat(capsys.readouterr().out)
    assert code == 1
    assert "error: notebook: files: unexpected explore.ipynb" in out
    assert "Nothing was scored (--strict)" in out
    assert "fold" not in out.lower() and "acc" not in out


def test_a_clean_submission_passes_strict_without_warning(kit_dir, capsys):
    code = main(["test", "--kit", str(kit_dir), "--submission", "starting_kit", "--strict",
                 "--quick-test"])
    out = capsys.readouterr().out
    assert code == 0
    assert "warning" not in out and "error" not in out


def test_binary_link_and_executable_on_disk_are_the_runners_types_rule(kit_dir):
    folder = _submission(kit_dir, "odd", {"classifier.py": GOOD, "blob.bin": b"\x00\x01\x02"})
    os.symlink("/etc/passwd", folder / "link.py")
    (folder / "run.sh").write_text("echo hi\n")
    (folder / "run.sh").chmod(0o755)
    kit = load_kit(kit_dir)
    reasons = {r.rule: r.message for r in check_local_folder(kit, folder)}
    assert "blob.bin is binary" in reasons["types"]
    assert "link.py is a symbolic link" in reasons["types"]
    assert "run.sh is executable" in reasons["types"]


def test_files_git_ignores_and_python_caches_are_not_counted(kit_dir):
    repo = pygit2.init_repository(str(kit_dir))
    (kit_dir / ".gitignore").write_text("*.log\n")
    folder = _submission(kit_dir, "cached", {"classifier.py": GOOD, "train.log": "x\n"})
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "classifier.cpython-312.pyc").write_bytes(b"\x00\x01")
    assert repo.path_is_ignored("submissions/cached/train.log")
    assert [f.path for f in folder_files(folder)] == ["classifier.py"]
    assert check_local_folder(load_kit(kit_dir), folder) == []


def test_a_misspelt_file_gets_did_you_mean_in_the_rules_and_the_load_error(kit_dir, capsys):
    _submission(kit_dir, "typo", {"clasifier.py": GOOD})
    code = main(["test", "--kit", str(kit_dir), "--submission", "typo"])
    out = _flat(capsys.readouterr().out)
    assert code == 1
    assert "missing classifier.py (did you mean clasifier.py? rename it to classifier.py)" in out
    assert "the submission has no classifier.py (did you mean clasifier.py?)" in out


def test_a_missing_class_is_a_load_error_of_its_file(kit_dir, capsys):
    _submission(kit_dir, "noclass", {"classifier.py": GOOD.replace("class Classifier",
                                                                   "class Classifer")})
    code = main(["test", "--kit", str(kit_dir), "--submission", "noclass"])
    out = _flat(capsys.readouterr().out)
    assert code == 1
    assert "stage: load" in out
    assert "failed while importing its files in classifier.py:" in out
    assert "classifier.py must define Classifier; did you mean Classifer?" in out
    assert "workflows/__init__.py" not in out.split("Traceback")[0]


def test_gitramp_test_never_tells_the_user_to_run_gitramp_test(kit_dir, capsys):
    _submission(kit_dir, "broken", {"classifier.py": "raise ValueError('nope')\n"})
    code = main(["test", "--kit", str(kit_dir), "--submission", "broken"])
    out = _flat(capsys.readouterr().out)
    assert code == 1
    assert "ValueError: nope" in out
    assert "gitramp test" not in out


def test_the_runner_reason_still_points_to_gitramp_test():
    from scorer.backends.base import IngestOutcome
    from scorer.reasons import explain
    from scorer.task import Limits

    outcome = IngestOutcome(status="error", outputs={}, log="", image=None)
    error = {"stage": "fit", "file": "classifier.py", "line": 3, "message": "boom"}
    assert "`gitramp test`" in explain(outcome, error, Limits())
    assert "gitramp test" not in explain(outcome, error, Limits(), local=True)

