"""Attack: a pull request rewrites its own (unprivileged) workflow run so that the
artifact the privileged side takes in is huge, or holds a bundle that lists exactly the
PR's ref but carries megabytes of objects nothing references, to fill the runner's disk
or smuggle data into the trusted clone.

Guarantees, through the replayed scoring workflow and the local GitHub server:
- an artifact the API lists over its cap is refused without being downloaded;
- a bundle over its cap is refused before git reads it;
- a bundle whose pack carries any object the PR's ref does not reach is refused, and
  nothing of it reaches the trusted clone;
- an honest submission still goes through (the caps are not in its way)."""

from __future__ import annotations

import json

from tests.attacks.conftest import (
    HUB,
    git,
    has_object,
    logs,
    padded_bundle,
    submit,
    trusted_clone,
    workflow_run_event,
)

MB = 1 << 20


def pr_json(number: int, sha: str) -> bytes:
    return json.dumps({"number": number, "author": "mallory", "head_sha": sha}).encode()


def replace_artifact(hub, run_id, number, sha, bundle: bytes, **listing) -> None:
    """What mallory's rewritten workflow uploads instead of the honest artifact."""
    hub.publish_artifact(run_id, "gitramp-submission", head_sha=sha, **listing,
                         files={"pr.json": pr_json(number, sha), "submission.bundle": bundle})


def score(hub, run_id, sha, author="mallory"):
    trigger = workflow_run_event(hub, run_id, sha, author, "success")
    scoring_run, jobs = hub.run_workflow("scoring.yml", "workflow_run", trigger)
    return scoring_run, jobs


def refused(hub, scoring_run, jobs, number, sha, bundle) -> str:
    """The plan job failed before validation, nothing was scheduled on the runner, and
    neither the PR's ref nor any padding object is in the trusted clone; the head's
    status says why it was not scored."""
    assert jobs["plan"].result == "failure", logs(jobs)
    assert jobs["plan"].steps["intake"]["outcome"] == "failure"
    assert jobs["score"].result == "skipped"
    trusted = trusted_clone(hub, scoring_run, "plan")
    refs = git("-C", str(trusted), "for-each-ref", "--format=%(refname)").decode()
    assert f"refs/pull/{number}/head" not in refs
    assert not [o for o in bundle.padding if has_object(trusted, o)]
    # the participant is told, through the head's status
    status = hub.github.statuses_of(HUB, sha)[-1]
    assert status["state"] == "failure" and "not taken in" in status["description"]
    return logs(jobs)


def test_an_honest_submission_passes_the_bounds(hub):
    sha, run_id, jobs = submit(hub, "mallory", "mallory_ok", 20)
    assert jobs["validate"].result == "success", logs(jobs)
    scoring_run, jobs = score(hub, run_id, sha)
    assert jobs["plan"].result == "success", logs(jobs)
    trusted = trusted_clone(hub, scoring_run, "plan")
    assert git("-C", str(trusted), "rev-parse", "refs/pull/20/head").decode().strip() == sha
    # the archive came from its signed address, which never saw the token
    assert hub.github.blob_requests and all(auth is None
                                            for _, auth in hub.github.blob_requests)


def test_an_artifact_listed_over_its_cap_is_refused_without_being_downloaded(hub):
    hub.vars["GITRAMP_MAX_BUNDLE_BYTES"] = "1MB"  # the artifact's cap: 1 MB more
    sha, run_id, jobs = submit(hub, "mallory", "mallory_big", 21)
    bundle = padded_bundle(hub, 21, sha, 3 * MB)
    replace_artifact(hub, run_id, 21, sha, bundle.data)
    hub.github.blob_requests.clear()

    scoring_run, jobs = score(hub, run_id, sha)
    text = refused(hub, scoring_run, jobs, 21, sha, bundle)
    assert "over the cap of 2097152" in text and "without downloading" in text, text
    assert hub.github.blob_requests == []  # not one byte of it was fetched


def test_an_artifact_sending_more_than_listed_is_cut_off(hub):
    sha, run_id, jobs = submit(hub, "mallory", "mallory_liar", 22)
    hub.vars["GITRAMP_MAX_ARTIFACT_BYTES"] = "1MB"
    bundle = padded_bundle(hub, 22, sha, 2 * MB)
    replace_artifact(hub, run_id, 22, sha, bundle.data, size_in_bytes=1000)

    scoring_run, jobs = score(hub, run_id, sha)
    text = refused(hub, scoring_run, jobs, 22, sha, bundle)
    assert "sent more than its cap of 1048576 bytes" in text, text


def test_a_bundle_over_its_cap_is_refused_before_git_reads_it(hub):
    hub.vars.update(GITRAMP_MAX_BUNDLE_BYTES="1MB", GITRAMP_MAX_ARTIFACT_BYTES="8MB")
    sha, run_id, jobs = submit(hub, "mallory", "mallory_fat", 23)
    bundle = padded_bundle(hub, 23, sha, 3 * MB // 2)
    replace_artifact(hub, run_id, 23, sha, bundle.data)

    scoring_run, jobs = score(hub, run_id, sha)
    text = refused(hub, scoring_run, jobs, 23, sha, bundle)
    assert "over the cap of 1048576 (GITRAMP_MAX_BUNDLE_BYTES" in text, text


def test_a_bundle_carrying_objects_its_ref_does_not_reach_is_refused(hub):
    sha, run_id, jobs = submit(hub, "mallory", "mallory_smuggler", 24)
    bundle = padded_bundle(hub, 24, sha, 400_000)  # well within every cap
    # the bundle is well formed: git itself would take it, and it lists only the PR ref
    scratch = hub.tmp / "check"
    git("clone", "--quiet", "--bare", str(hub.origin), str(scratch))
    (hub.tmp / "padded.bundle").write_bytes(bundle.data)
    assert git("-C", str(scratch), "bundle", "list-heads",
               str(hub.tmp / "padded.bundle")).decode().split() == [sha, "refs/pull/24/head"]
    replace_artifact(hub, run_id, 24, sha, bundle.data)

    scoring_run, jobs = score(hub, run_id, sha)
    text = refused(hub, scoring_run, jobs, 24, sha, bundle)
    assert f"carries {len(bundle.padding)} object(s) that refs/pull/24/head does not " \
           "reach" in text, text
    assert hub.github.pulls[(HUB, 24)].labels == []  # never validated, never scored
