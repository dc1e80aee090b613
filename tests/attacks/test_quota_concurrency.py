"""Attack: get more scored submissions than the quota allows by having two of them
scored at once on two runners; each run reads the ledger before the other has recorded
its result, so each sees the quota unspent.

Guarantee (workflow side): the score jobs of one team share one concurrency group that
never cancels a running job, so GitHub runs them one after the other and the second
checks out a ledger that holds the first's result; other teams are not held up, and two
runs of one pull request (a new push) share the workflow's group. The atomic claim in
the ledger is the other half of this, for runs started outside these workflows."""

from __future__ import annotations

import pytest

from tests.attacks.conftest import HUB, logs, submit, workflow_run_event
from tests.test_workflows_replay import interpolate


def planned(hub, author, name, number):
    sha, run_id, jobs = submit(hub, author, name, number)
    assert jobs["validate"].result == "success", logs(jobs)
    trigger = workflow_run_event(hub, run_id, sha, author, "success")
    _, jobs = hub.run_workflow("scoring.yml", "workflow_run", trigger, approve=False)
    assert jobs["plan"].result == "success", logs(jobs)
    return trigger, jobs


def score_group(hub, trigger, jobs) -> tuple[str, bool]:
    """The concurrency group GitHub puts this run's score job in, and whether a newer
    run would cancel it while it runs."""
    wf = hub.workflow("scoring.yml")
    ctx = {"github": {"event": trigger}, "vars": hub.vars, "_status": "success",
           "needs": {"plan": {"result": "success", "outputs": jobs["plan"].outputs}}}
    for where in (wf["jobs"]["score"], wf):  # a job's own group, else the workflow's
        if "concurrency" in where:
            c = where["concurrency"]
            c = {"group": c} if isinstance(c, str) else c
            return (str(interpolate(c["group"].strip(), ctx)),
                    bool(interpolate(c.get("cancel-in-progress", False), ctx)))
    pytest.fail("the score job is in no concurrency group")


@pytest.mark.slow
def test_one_teams_submissions_are_scored_one_after_the_other(hub):
    first = planned(hub, "alice", "alice_a", 31)
    second = planned(hub, "alice", "alice_b", 32)
    other = planned(hub, "bob", "bob_a", 33)

    group_1, cancels_1 = score_group(hub, *first)
    group_2, cancels_2 = score_group(hub, *second)
    group_3, _ = score_group(hub, *other)
    assert group_1 == group_2, "two PRs of one team may be scored at the same time"
    assert not cancels_1 and not cancels_2  # the running one is never cut short
    assert group_3 != group_1  # other teams are not held up


def test_two_pushes_to_one_pull_request_share_the_workflows_group(hub):
    wf = hub.workflow("scoring.yml")
    group = wf["concurrency"]["group"].strip()
    ctx = {"github": {}, "vars": {}, "_status": "success"}
    for fork in ("alice/iris-hub", "bob/iris-hub"):
        hub.github.add_repo(fork, fork_of=HUB)
    runs = []
    for sha in ("1" * 40, "2" * 40):
        event = workflow_run_event(hub, 9100, sha, "alice", "success")
        runs.append(interpolate(group, {**ctx, "github": {"event": event}}))
    assert runs[0] == runs[1]
    assert wf["concurrency"]["cancel-in-progress"] is False
    bob = workflow_run_event(hub, 9100, "1" * 40, "bob", "success")
    assert interpolate(group, {**ctx, "github": {"event": bob}}) != runs[0]
