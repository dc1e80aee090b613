"""Attack: read what a failing run prints on the hidden data (its log and traceback can
carry hidden rows or labels), or have the submission's own code tamper with what the
privileged side takes in.

Guarantees: the runners publish a one-line reason only; the whole log and traceback a
participant needs comes from a separate, unprivileged job of the submission workflow
that runs the code on the public data. That job holds a read-only token and no secret,
uploads nothing, and the job that makes the artifact never runs the code."""

from __future__ import annotations

import pytest

from tests.attacks.conftest import example, logs, submit

FAILING = b'''from sklearn.ensemble import RandomForestClassifier


class Classifier:
    def fit(self, X, y):
        return self.helper_that_breaks(X)

    def helper_that_breaks(self, X):
        raise ValueError(f"cannot fit on {X.shape[1]} columns: I expected three")

    def predict_proba(self, X):
        return RandomForestClassifier().predict_proba(X)
'''


def steps_text(job: dict) -> str:
    return "\n".join(str(s.get("run", "")) + str(s.get("uses", "")) for s in job["steps"])


@pytest.mark.slow
def test_a_failing_submission_gets_its_traceback_from_the_public_run(hub):
    files = {**example("starting_kit"), "classifier.py": FAILING}
    sha, run_id, jobs = submit(hub, "carol", "carol_broken", 41, files=files)

    assert jobs["validate"].result == "success", logs(jobs)  # valid, so it is run
    public = jobs["public-run"]
    assert public.result == "failure"
    text = "\n".join(public.log)
    assert "Traceback (most recent call last)" in text, text
    assert "in helper_that_breaks" in text and \
        "ValueError: cannot fit on 4 columns: I expected three" in text, text
    assert "classifier.py" in text
    # the validating job never ran the code: nothing of the traceback is in its log
    assert "helper_that_breaks" not in "\n".join(jobs["validate"].log)
    # and what it uploaded for scoring is there, made before any code ran
    assert (hub.tmp / "artifacts" / str(run_id) / "gitramp-submission" /
            "submission.bundle").is_file()


def test_the_code_runs_apart_from_the_artifact_and_with_no_privilege(hub):
    wf = hub.workflow("submission.yml")
    runs_code = {n: j for n, j in wf["jobs"].items() if "gitramp test" in steps_text(j)}
    uploads = {n: j for n, j in wf["jobs"].items()
               if "actions/upload-artifact" in steps_text(j)}
    assert runs_code and uploads
    assert not set(runs_code) & set(uploads)
    for job in runs_code.values():
        assert job["permissions"] == {"contents": "read"}
        assert job["runs-on"] == "ubuntu-latest"  # never on the organizers' runners
        text = str(job)
        assert "secrets." not in text and "github.token" not in text
        assert "--data" not in steps_text(job)  # the public data, never hidden data
    for job in uploads.values():
        assert "gitramp test" not in steps_text(job) and "gitramp score" not in \
            steps_text(job)
