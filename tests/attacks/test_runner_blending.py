"""Attack (or plain accident): runners score each submission in a fresh checkout, which
holds branches and tags but not `refs/gitramp/predictions`, so each blend sees only the
submission just scored and credits it with all the contributivity; the leaderboard's
credit then says whatever the last runner saw.

Guarantee: after two pull requests are scored by the replayed workflow, the
contributivity recorded in the ledger equals what `gitramp blend` computes from scratch
on the same ledgers and stored predictions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from challenge.ledger import Ledger
from scorer.result import SCORED
from tests.attacks.conftest import git, logs, submit, workflow_run_event


def scored(hub, author, name, number, source):
    sha, run_id, jobs = submit(hub, author, name, number, source=source)
    assert jobs["validate"].result == "success", logs(jobs)
    trigger = workflow_run_event(hub, run_id, sha, author, "success")
    _, jobs = hub.run_workflow("scoring.yml", "workflow_run", trigger)
    assert jobs["score"].result == "success", logs(jobs)


def contributivity(repo) -> dict[tuple[str, str], dict]:
    ledger = Ledger(repo)
    return {(r["submission"], r["tree"]): r.get("contributivity")
            for r in (ledger.read(p) for p in ledger.entries("iris"))
            if r.get("status") == SCORED}


@pytest.mark.docker
@pytest.mark.slow
def test_recorded_contributivity_equals_a_blend_from_scratch(hub, docker_engine):
    scored(hub, "alice", "alice_rf", 51, "random_forest")
    scored(hub, "bob", "bob_kit", 52, "starting_kit")

    recorded = contributivity(hub.origin)
    assert len(recorded) == 2 and all(recorded.values()), recorded

    # from scratch: a clone with the predictions ref, the runner's private ledger
    scratch = hub.tmp / "scratch"
    git("clone", "--quiet", str(hub.origin), str(scratch))
    git("-C", str(scratch), "fetch", "--quiet", "origin",
        "+refs/gitramp/*:refs/gitramp/*")
    subprocess.run([str(Path(sys.executable).with_name("gitramp")), "blend", "--repo",
                    str(scratch), "--kit", "iris", "--private-ledger",
                    str(hub.tmp / "private")], check=True, capture_output=True)
    fresh = contributivity(scratch)
    assert fresh == recorded
    shares = [c["blend"] for c in recorded.values()]
    # one blend shared out (in percent or as a fraction), not everything to each
    assert sum(shares) in (pytest.approx(1.0), pytest.approx(100.0))
