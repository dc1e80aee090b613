"""Attack: read the hidden data back through what the runner publishes. A submission
prints the hidden test features it is given (inputs/X_test.pkl) and scores normally:
its log went into the public ledger's `log_tail`, the site and the PR comment. Another
fails with the hidden rows in its exception message. And the public
`refs/gitramp/predictions` held the hidden training labels and the raw predictions on
hidden rows for anyone to fetch.

Guarantees: nothing that leaves a runner for a public place (the public repository,
every ref and object of it, the site, PR comments, statuses, the scoring job's log)
carries raw hidden data or anything computed row by row from it. Logs of runs on hidden
data, hidden labels and raw predictions go to the private ledger only, where blending
still finds them. A participant gets the outcome, the scores and, for a failure, one
line of reason of which at most MESSAGE_CHARS characters are the submission's own."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from challenge import predictions_store as store
from challenge.hub import build_hub
from challenge.ledger import Ledger
from scorer.result import SCORED
from scorer.untrusted import MESSAGE_CHARS, REASON_CHARS
from tests.attacks.conftest import example, logs, submit, workflow_run_event
from tests.github_server import GitHubServer
from tests.test_workflows_replay import HUB, KITS, SITE_URL, Replay, comments, git

READ_INPUTS = b'''import os
import sys

import pandas as pd

INPUTS = sys.argv[sys.argv.index("--inputs") + 1]
X_TEST = pd.read_pickle(os.path.join(INPUTS, "X_test.pkl"))
'''

PRINTER = READ_INPUTS + b'''
for i, row in enumerate(X_TEST.itertuples(index=False)):
    print("LEAK" "ROW", i, *row, flush=True)  # the marker is not in the source
''' + example("starting_kit")["classifier.py"]

RAISER = READ_INPUTS + b'''

class Classifier:
    def fit(self, X, y):
        rows = " ".join(f"{i}:{list(r)}" for i, r in enumerate(X_TEST.itertuples(index=False)))
        raise ValueError("LEAK" "MSG " + rows)

    def predict_proba(self, X):
        raise ValueError("never reached")
'''


@pytest.fixture(scope="module")
def scored(tmp_path_factory, docker_engine):
    """A hub on "GitHub" where two fork PRs were scored by the replayed workflows, and
    the site built: alice's prints the hidden test rows then scores; bob's fails with
    them in its message."""
    tmp = tmp_path_factory.mktemp("confidential")
    start = datetime.now(UTC) - timedelta(hours=1)
    work = build_hub(tmp / "setup", KITS, ["iris"], start)
    origin = tmp / "origin.git"
    git("clone", "--quiet", "--bare", str(work.workdir or work.path), str(origin))
    (tmp / "home").mkdir()
    with GitHubServer() as github:
        github.add_repo(HUB)
        hub = Replay(tmp, origin, github,
                     runner_env={"GITRAMP_DATA_DIR": str(KITS / "{challenge}" / "hidden"),
                                 "GITRAMP_PRIVATE_LEDGER": str(tmp / "private")},
                     vars={"GITRAMP_SITE_URL": SITE_URL})
        runs = {}
        for number, (author, name, code) in enumerate(
                [("alice", "alice_printer", PRINTER), ("bob", "bob_raiser", RAISER)], 61):
            files = {**example("starting_kit"), "classifier.py": code}
            sha, run_id, jobs = submit(hub, author, name, number, files=files)
            assert jobs["validate"].result == "success", logs(jobs)
            trigger = workflow_run_event(hub, run_id, sha, author, "success")
            _, scoring = hub.run_workflow("scoring.yml", "workflow_run", trigger)
            assert scoring["score"].result == "success", logs(scoring)
            runs[name] = (number, sha, scoring)
        trigger = workflow_run_event(hub, 1, sha, "bob", "success", name="gitramp scoring")
        site_run, site = hub.run_workflow("site.yml", "workflow_run", trigger)
        assert site["build"].result == "success", logs(site)
        yield hub, runs, tmp / "artifacts" / str(site_run) / "github-pages"


def public_bytes(origin: Path) -> bytes:
    """Every object the public repository holds, whatever ref (or none) reaches it."""
    return subprocess.run(["git", "-C", str(origin), "cat-file", "--batch-all-objects",
                           "--batch"], check=True, capture_output=True).stdout


def site_bytes(site: Path) -> bytes:
    return b"".join(f.read_bytes() for f in sorted(site.rglob("*")) if f.is_file())


@pytest.mark.docker
@pytest.mark.slow
def test_the_printed_hidden_rows_reach_no_public_place(scored):
    hub, runs, site = scored
    number, sha, scoring = runs["alice_printer"]
    record = next(r for r in Ledger(hub.origin).records("iris")
                  if r.submission == "alice_printer")
    assert record.status == SCORED and record.log_tail == ""
    # the channel was real: the private ledger on the runner holds the log
    private = Ledger(hub.tmp / "private").records("iris")
    assert any("LEAKROW" in (r.log_tail or "") for r in private)

    assert b"LEAKROW" not in public_bytes(hub.origin)
    assert b"LEAKROW" not in site_bytes(site)
    assert not any("LEAKROW" in body for body in comments(hub, number))
    assert not any("LEAKROW" in (s.get("description") or "")
                   for s in hub.github.statuses_of(HUB, sha))
    assert "LEAKROW" not in logs(scoring)


@pytest.mark.docker
@pytest.mark.slow
def test_a_failure_returns_one_bounded_line(scored):
    hub, runs, site = scored
    number, sha, scoring = runs["bob_raiser"]
    record = next(r for r in Ledger(hub.origin).records("iris")
                  if r.submission == "bob_raiser")
    assert record.status == "error" and record.log_tail == ""
    reason = record.reason
    assert "\n" not in reason and len(reason) <= REASON_CHARS
    own = reason[reason.index("ValueError: LEAKMSG"):]
    own = own[:own.index(". Run `gitramp test`")]
    assert len(own) <= MESSAGE_CHARS, own
    # everything public carries that line at most: never the rows past the bound
    last_row = "29:"  # the hidden test set has more rows than fit in the bound
    for text in [*comments(hub, number),
                 *(s.get("description") or "" for s in hub.github.statuses_of(HUB, sha)),
                 logs(scoring), site_bytes(site).decode("utf-8", "replace")]:
        assert f" {last_row}[" not in text
    assert f" {last_row}[".encode() not in public_bytes(hub.origin)
    (body,) = comments(hub, number)
    assert "gitramp test" in body and "LEAKMSG" in body


@pytest.mark.docker
@pytest.mark.slow
def test_labels_and_raw_predictions_stay_in_the_private_ledger(scored):
    hub, runs, _ = scored
    refs = subprocess.run(["git", "-C", str(hub.origin), "for-each-ref",
                           "--format=%(refname)"], check=True, capture_output=True,
                          text=True).stdout.split()
    assert not [r for r in refs if r.startswith("refs/gitramp/")], refs
    paths = subprocess.run(["git", "-C", str(hub.origin), "rev-list", "--objects", "--all"],
                           check=True, capture_output=True, text=True).stdout
    assert ".labels" not in paths and ".npz" not in paths
    assert b"valid_pred" not in public_bytes(hub.origin)
    # the runner kept them, so blending still works where the private ledger is
    kept = store.keys(hub.tmp / "private", "iris")
    assert any("/alice_printer/" in k for k in kept)
    (key,) = [k for k in kept if "/alice_printer/" in k]
    assert store.load_labels(hub.tmp / "private", key).y_train is not None
    record = next(r for r in Ledger(hub.origin).records("iris")
                  if r.submission == "alice_printer")
    assert record.contributivity  # blended on the runner, credit recorded publicly


def test_reveal_publishes_the_private_scores_never_the_log(tmp_path):
    """The private record keeps the run's log; revealing the private leaderboard
    publishes its scores, not its log."""
    from challenge.hub import commit_files, init_repo
    from challenge.publish import reveal
    from scorer.result import FoldScores, Result

    public = init_repo(tmp_path / "hub")
    commit_files(public, "refs/heads/main", {"README.md": b"hub"}, message="hub")
    private = Ledger(tmp_path / "private", create=True)
    r = Result(challenge="iris", submission="s", status=SCORED, team="t",
               score_names=["acc"], folds=[FoldScores({"valid": {"acc": 0.5},
                                                       "test": {"acc": 0.625}}, 1.0, 0.1)],
               bagged={"valid": {"acc": 0.5}, "test": {"acc": 0.625}},
               log_tail="LEAK" "ROW 0 5.1 3.5 1.4 0.2", tree="a" * 40, commit="b" * 40,
               scoring_hash="c" * 40)
    private.record(r, private=True)
    Ledger(tmp_path / "hub").record(r)
    assert any("LEAKROW" in x.log_tail for x in private.records("iris"))
    reveal(Ledger(tmp_path / "hub"), private, "iris", datetime.now(UTC))
    blobs = public_bytes(tmp_path / "hub")
    assert b"0.625" in blobs  # revealed
    assert b"LEAKROW" not in blobs
