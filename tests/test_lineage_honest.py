"""Honest lineage, as participants meet it on a hub: closed-phase submissions are scored,
`phase open` merges them, and new branches started from main are scored in the open
phase. Only code kept from another submission's own lines (or a declared parent the
code confirms) makes a parent; the starting kit's lines count for no one."""

from __future__ import annotations

import re
import shutil
import textwrap

import pygit2
import pytest

from challenge import lineage
from challenge.hub import commit_files
from challenge.ledger import Ledger
from challenge.pipeline import Options
from challenge.scan import scan
from gitramp.main import main as cli
from tests.gitramp_hubs import CLOSED_NOW, KITS, OPEN_NOW, ROOT, example, make_hub, submit

# bob's submission: twenty lines of its own beyond the starting kit's
BOOSTED = b'''import numpy as np
from sklearn.ensemble import GradientBoostingClassifier


def add_features(X):
    """Areas and ratios of the measurements, and their logarithms."""
    X = X.copy()
    X["petal_area"] = X["petal_length"] * X["petal_width"]
    X["sepal_area"] = X["sepal_length"] * X["sepal_width"]
    X["petal_ratio"] = X["petal_length"] / (X["petal_width"] + 1e-3)
    X["sepal_ratio"] = X["sepal_length"] / (X["sepal_width"] + 1e-3)
    X["log_petal_area"] = np.log1p(X["petal_area"])
    X["log_sepal_area"] = np.log1p(X["sepal_area"])
    X["length_ratio"] = X["petal_length"] / X["sepal_length"]
    X["width_ratio"] = X["petal_width"] / X["sepal_width"]
    X["petal_sum"] = X["petal_length"] + X["petal_width"]
    return X


class Classifier:
    def __init__(self):
        self.model = GradientBoostingClassifier(
            n_estimators=60, learning_rate=0.1, max_depth=2, subsample=0.9,
            random_state=0)

    def fit(self, X, y):
        self.model.fit(add_features(X), y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(add_features(X))
'''

def readme_example() -> bytes:
    """The classifier of the README's participant steps, verbatim."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"^( *)```python\n\1# submissions/my_forest/classifier.py\n(.*?)\n\1```",
                      text, re.S | re.M)
    assert block, "the README's RandomForest example moved; update this test"
    return textwrap.dedent(block.group(2)).encode() + b"\n"


def two_lines_changed(code: bytes) -> bytes:
    out = code.replace(b"n_estimators=60", b"n_estimators=80")
    out = out.replace(b'(X["petal_width"] + 1e-3)', b'(X["petal_width"] + 1e-2)')
    assert out.count(b"\n") == code.count(b"\n") and out != code
    return out


def renamed(code: bytes) -> bytes:
    """The helper renamed throughout: its definition and both calls change."""
    return code.replace(b"add_features", b"make_features")


def reformatted(code: bytes) -> bytes:
    """Two-space indentation, no spaces around operators, trailing blanks."""
    lines = []
    for ln in code.decode().splitlines():
        body = ln.lstrip(" ")
        depth = (len(ln) - len(body)) // 4
        body = body.replace(" = ", "=").replace(" * ", "*").replace(" / ", "/")
        lines.append("  " * depth + body + ("  " if body else ""))
    return ("\n".join(lines) + "\n").encode()


def partly_kept(code: bytes) -> bytes:
    """Bob's feature helper kept in part (7 of his 20 lines), a new model around it."""
    head = code.split(b"class Classifier:")[0].splitlines(keepends=True)
    kept = head[0] + b"".join(head[2:9]) + b"    return X\n\n\n"
    return kept + b'''class Classifier:
    def __init__(self):
        from sklearn.svm import SVC
        self.model = SVC(C=3.0, probability=True, random_state=0)

    def fit(self, X, y):
        self.model.fit(add_features(X)[["petal_area", "sepal_area"]], y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(add_features(X)[["petal_area", "sepal_area"]])
'''


def branch_from_main(repo, team: str, name: str, files: dict[str, bytes],
                     message: str = "") -> None:
    main = repo.references["refs/heads/main"].target
    commit_files(repo, f"refs/heads/submit/{team}/{name}",
                 {f"kits/iris/submissions/{name}/{f}": d for f, d in files.items()},
                 parent=main, message=message or f"{name} by {team}", author=team)


@pytest.fixture(scope="module")
def season(tmp_path_factory):
    """alice's two forests and bob's boosting scored in the closed phase, the code opened,
    and six branches from main scored in the open phase."""
    tmp = tmp_path_factory.mktemp("honest")
    hub = make_hub(tmp)
    rf = example("iris", "random_forest")
    submit(hub, "alice", "random_forest", rf)
    submit(hub, "alice", "random_forest_again",
           {"classifier.py": rf["classifier.py"] + b"\n# second try\n"})
    submit(hub, "bob", "boosted", {"classifier.py": BOOSTED})
    options = Options(now=CLOSED_NOW, quick=True, runner="test-runner",
                      data_dir=str(KITS / "{challenge}" / "hidden"))
    # alice's second try is sent within min_interval of her first: scored in a later scan
    scan(tmp / "hub", options, workers=2)
    options.now = CLOSED_NOW.replace(hour=CLOSED_NOW.hour + 1)
    scan(tmp / "hub", options, workers=2)
    assert cli(["phase", "open", "--repo", str(tmp / "hub"), "--force"]) == 0

    branch_from_main(hub, "carol", "my_forest", {"classifier.py": readme_example()})
    branch_from_main(hub, "dave", "boosted_plus",
                     {"classifier.py": two_lines_changed(BOOSTED)})
    branch_from_main(hub, "erin", "renamed", {"classifier.py": renamed(BOOSTED)})
    branch_from_main(hub, "frank", "reformatted", {"classifier.py": reformatted(BOOSTED)})
    branch_from_main(hub, "gina", "svc_on_areas", {"classifier.py": partly_kept(BOOSTED)},
                     "SVC on bob's areas\n\nThe feature helper comes from bob.\n\n"
                     "Derived-from: bob/boosted\n")
    branch_from_main(hub, "gina", "svc_undeclared",
                     {"classifier.py": partly_kept(BOOSTED).replace(b"C=3.0", b"C=2.0")})
    branch_from_main(hub, "hank", "forest_claims_boosted",
                     {"classifier.py": readme_example()},
                     "a forest\n\nDerived-from: bob/boosted\n")
    options.now = OPEN_NOW
    scan(tmp / "hub", options, workers=2)
    records = {r.submission: r for r in Ledger(tmp / "hub").records("iris")}
    return tmp, records


def test_bobs_submission_has_twenty_lines_of_its_own():
    kit = lineage.boilerplate_of_files(example("iris", "starting_kit"))
    assert sum(lineage.own_lines({"c.py": BOOSTED.decode().splitlines()}, kit).values()) == 20
    # the README example shares one line with alice's forests beyond the starting kit
    mine = lineage.own_lines({"c.py": readme_example().decode().splitlines()}, kit)
    rf = lineage.own_lines({"c.py": example("iris", "random_forest")["classifier.py"]
                            .decode().splitlines()}, kit)
    assert sum((mine & rf).values()) == 1


def parent_of(records, name: str) -> str | None:
    p = records[name].lineage.get("parent")
    return p.split("@")[0] if p else None


def test_the_readme_example_written_from_scratch_has_no_parent(season):
    _, records = season
    assert records["random_forest_again"].status == "scored"  # shares the import line
    mine = records["my_forest"]
    assert mine.status == "scored", mine.reason
    assert mine.lineage["parent"] is None and mine.lineage["ancestors"] == []
    assert mine.lineage["inherited_share"] == 0 and "basis" not in mine.lineage


def test_a_copy_with_two_lines_changed_derives_from_it(season):
    _, records = season
    lin = records["boosted_plus"].lineage
    assert parent_of(records, "boosted_plus") == "boosted"
    assert lin["parent_team"] == "bob" and lin["basis"] == "code"
    assert lin["inherited_share"] >= 0.9 and lin["kept_share"] >= 0.9


def test_a_renamed_copy_derives_from_it_by_the_lines_the_rename_left(season):
    _, records = season
    lin = records["renamed"].lineage
    assert parent_of(records, "renamed") == "boosted" and lin["basis"] == "code"
    assert lin["inherited_share"] == pytest.approx(17 / 20)  # 3 lines name the helper


def test_a_reformatted_copy_is_a_copy(season):
    _, records = season
    lin = records["reformatted"].lineage
    assert parent_of(records, "reformatted") == "boosted"
    assert lin["inherited_share"] == 1.0 and lin["kept_share"] == 1.0


def test_a_declared_parent_is_taken_when_the_code_confirms_it(season):
    _, records = season
    lin = records["svc_on_areas"].lineage
    assert lin["declared"] == "bob/boosted" and lin["basis"] == "declared"
    assert parent_of(records, "svc_on_areas") == "boosted"
    assert lin["kept_share"] == pytest.approx(7 / 20)
    assert lin["inherited_share"] == pytest.approx(7 / 11, abs=1e-4)
    # the same code without the trailer keeps too little to derive by code alone
    assert records["svc_undeclared"].lineage["parent"] is None


def test_a_declared_parent_that_shares_nothing_is_noted_and_not_counted(season):
    _, records = season
    lin = records["forest_claims_boosted"].lineage
    assert lin["parent"] is None and lin["declared"] == "bob/boosted"
    assert "not counted" in lin["note"]


def test_recompute_is_a_dry_run_unless_applied(season, tmp_path, capsys):
    """Records made under the old rule change only through `gitramp lineage recompute`."""
    tmp, records = season
    hub_path = tmp_path / "hub"
    shutil.copytree(tmp / "hub", hub_path, symlinks=True)
    ledger = Ledger(hub_path)
    # what the old rule recorded for the README example: a parent through one shared line
    old = records["my_forest"]
    old.lineage = {"parent": lineage.version_label("random_forest_again",
                                                   records["random_forest_again"].tree),
                   "parent_team": "alice", "ancestors": [], "inherited_share": 0.8889}
    ledger.record(old)
    head = ledger.head().id
    assert cli(["lineage", "recompute", "--repo", str(hub_path)]) == 0
    out = capsys.readouterr().out
    assert "my_forest" in out and "random_forest_again" in out and "dry run" in out
    assert ledger.head().id == head  # nothing written
    assert cli(["lineage", "recompute", "--repo", str(hub_path), "--apply"]) == 0
    assert "1 record(s)" in capsys.readouterr().out
    again = {r.submission: r for r in ledger.records("iris")}
    assert again["my_forest"].lineage["parent"] is None
    assert again["boosted_plus"].lineage == records["boosted_plus"].lineage  # unmoved
    repo = pygit2.Repository(str(hub_path))
    assert "lineage" in repo[ledger.head().id].message
    assert cli(["lineage", "recompute", "--repo", str(hub_path)]) == 0
    assert "nothing moved" in capsys.readouterr().out
