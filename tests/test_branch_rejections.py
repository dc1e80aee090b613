"""A submission branch that touches another team's folder is rejected and the rejection
recorded, once per commit, so its participant sees why on the site's failed page and in
`gitramp leaderboard`; a fixed commit is validated afresh and scored."""

from __future__ import annotations

import json

import pygit2

from challenge.hub import commit_files
from challenge.ledger import Ledger
from challenge.pipeline import Options
from challenge.publish import open_code
from challenge.repo import find_kits
from challenge.scan import scan
from gitramp.main import main as cli
from site_generator import build
from tests.gitramp_hubs import CLOSED_NOW, KITS, OPEN_NOW, example, make_hub, submit

RF = example("iris", "random_forest")


def test_branch_rejections_are_recorded_once_and_shown(tmp_path, capsys):
    hub = make_hub(tmp_path)
    path = tmp_path / "hub"
    options = Options(now=CLOSED_NOW, quick=True, runner="test-runner",
                      data_dir=str(KITS / "{challenge}" / "hidden"))
    submit(hub, "bob", "forest", RF)
    assert [o.status for o in scan(path, options)] == ["scored"]
    ledger = Ledger(path)
    open_code(ledger, find_kits(hub, ledger.head().tree)[0], OPEN_NOW)
    options.now = OPEN_NOW

    # dave's branch changes his folder and bob's; erin's changes bob's folder only
    mine = {"kits/iris/submissions/mine/classifier.py": RF["classifier.py"],
            "kits/iris/submissions/forest/classifier.py": RF["classifier.py"] + b"# mine\n"}
    main = hub.references["refs/heads/main"].target
    dave = commit_files(hub, "refs/heads/submit/dave/mine", mine, parent=main,
                        message="mine", author="dave")
    commit_files(hub, "refs/heads/submit/erin/tuned",
                 {"kits/iris/submissions/forest/classifier.py": b"# erin\n"}, parent=main,
                 message="tuned", author="erin")
    outcomes = {o.submission.name if o.submission else None: o for o in scan(path, options)}
    assert outcomes["mine"].status == "rejected" and "forest" in outcomes["mine"].message
    assert outcomes["tuned"].status == "rejected"
    assert outcomes["mine"].path.startswith("leaderboard_data/iris/_rejected/dave/mine/")
    assert outcomes["tuned"].path.startswith("leaderboard_data/iris/_rejected/erin/tuned/")
    recorded = {r.submission: r for r in ledger.records("iris") if r.status == "rejected"}
    assert recorded["mine"].team == "dave" and recorded["mine"].commit == str(dave)
    assert recorded["mine"].stage == "scope" and "several submissions" in recorded["mine"].reason
    assert recorded["tuned"].team == "erin"

    # scanned again, the same commits are not recorded again
    head = ledger.head().id
    again = scan(path, options)
    assert ledger.head().id == head
    assert sorted(o.status for o in again) == ["skipped", "skipped"]
    assert all("rejected earlier" in o.message for o in again)

    # the participant sees it: in the leaderboard and on the site's failed page
    assert cli(["leaderboard", "--repo", str(path), "--json"]) == 0
    rows = {r["submission"]: r for r in json.loads(capsys.readouterr().out)["iris"]}
    assert rows["mine"]["status"] == "rejected" and rows["mine"]["team"] == "dave"
    assert "several submissions" in rows["mine"]["reason"]
    assert cli(["leaderboard", "--repo", str(path)]) == 0
    table = capsys.readouterr().out
    assert "rejected: dave/mine: scope: the change touches several submissions" in table
    hub.checkout_head(strategy=pygit2.enums.CheckoutStrategy.FORCE)  # the site reads files
    build(path, tmp_path / "site")
    failed = (tmp_path / "site" / "iris" / "failed.html").read_text()
    assert "mine" in failed and "dave" in failed and "tuned" in failed

    # dave puts bob's folder back: the new commit is validated afresh, and scored
    commit_files(hub, "refs/heads/submit/dave/mine",
                 {"kits/iris/submissions/forest/classifier.py": RF["classifier.py"]},
                 parent=dave, message="leave bob's folder alone", author="dave")
    fixed = [o for o in scan(path, options) if o.submission and o.submission.name == "mine"]
    assert [o.status for o in fixed] == ["scored"]


def test_a_branch_name_is_printed_inert(tmp_path, capfd):
    """A branch's name is the participant's: a right-to-left override in it (git allows
    one) is printed neither on a rejection's line nor on the line that says it was
    rejected earlier (a runner's log is public)."""
    hub = make_hub(tmp_path)
    path = tmp_path / "hub"
    name = "evil\u202ecod"  # would show as "evildoc" reversed in a terminal
    commit_files(hub, f"refs/heads/submit/mallory/{name}",
                 {"kits/iris/submissions/other/classifier.py": RF["classifier.py"],
                  "kits/iris/submissions/more/classifier.py": RF["classifier.py"]},
                 parent=hub.references["refs/heads/main"].target, message="m",
                 author="mallory")
    args = ["scan", "--repo", str(path), "--backend", "local", "--now", CLOSED_NOW.isoformat()]
    for _ in range(2):  # recorded, then skipped as rejected earlier
        cli(args)
        out = capfd.readouterr().err  # the scan's lines go to standard error
        assert "mallory" in out and "\u202e" not in out, out
    assert "rejected earlier" in out
