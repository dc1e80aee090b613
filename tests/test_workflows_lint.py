"""The workflows pass actionlint and zizmor (offline, default persona), and keep the
hardening rules gitramp promises: pinned actions, no persisted credentials, minimal
permissions, untrusted values only through `env:`, self-hosted only behind approval."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, need

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# Expressions allowed inside `run:`: none. Values reach scripts through env: only.
EXPRESSION = re.compile(r"\$\{\{")


def tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        need(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads `on:` as true
    return data


def test_actionlint_finds_nothing():
    proc = subprocess.run([tool("actionlint"), "-no-color"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_finds_nothing_offline():
    proc = subprocess.run([tool("zizmor"), "--offline", "--no-progress", "--format", "plain",
                           str(WORKFLOWS)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout


def test_the_expected_workflows_exist():
    assert {f.name for f in FILES} >= {"submission.yml", "scoring.yml", "site.yml",
                                        "organizer.yml", "ci.yml"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_hardening_rules(path: Path):
    wf = load(path)
    assert wf.get("permissions") == {}, "top-level permissions must be {}"
    assert "concurrency" in wf
    assert "pull_request_target" not in wf["on"]
    for name, job in wf["jobs"].items():
        where = f"{path.name}:{name}"
        assert "timeout-minutes" in job, where
        assert isinstance(job.get("permissions"), dict), where
        for step in job.get("steps", []):
            if "uses" in step:
                assert PIN.match(step["uses"]), f"{where}: {step['uses']} is not pinned by SHA"
                if step["uses"].startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") is False, where
            if "run" in step:
                assert not EXPRESSION.search(step["run"]), \
                    f"{where}: `${{{{ }}}}` inside run: (pass it through env:)"
        runs_on = job.get("runs-on")
        if "self-hosted" in str(runs_on) or "fromJSON" in str(runs_on):
            assert job.get("environment"), f"{where}: self-hosted jobs need an approval gate"


def test_pins_carry_their_version_comment():
    for path in FILES:
        for line in path.read_text().splitlines():
            if re.search(r"uses: \S+@[0-9a-f]{40}", line):
                assert re.search(r"# v\d+\.\d+\.\d+$", line), f"{path.name}: {line.strip()}"


def test_pull_request_job_is_unprivileged():
    wf = load(WORKFLOWS / "submission.yml")
    assert set(wf["on"]) == {"pull_request"}
    text = (WORKFLOWS / "submission.yml").read_text()
    assert "secrets." not in text and "github.token" not in text
    for job in wf["jobs"].values():
        assert set(job["permissions"].values()) <= {"read"}
        assert job["runs-on"] == "ubuntu-latest"


def test_scoring_waits_for_an_organizer_and_runs_in_docker():
    wf = load(WORKFLOWS / "scoring.yml")
    assert set(wf["on"]) == {"workflow_run"}
    score = wf["jobs"]["score"]
    assert score["environment"] == "gitramp-scoring" and score["needs"] == "plan"
    runs = "\n".join(s.get("run", "") for s in score["steps"])
    assert "--backend docker" in runs and "gitramp forge intake" in runs
    plan_labels = "\n".join(s.get("run", "") for s in wf["jobs"]["plan"]["steps"])
    assert "gitramp validate" in plan_labels


@pytest.mark.parametrize("script", ["setup_runner.sh", "systemd/gitramp-runner-prepare"])
def test_runner_scripts_parse_and_pass_shellcheck(script):
    path = ROOT / "runners" / script
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    if shutil.which("shellcheck"):
        proc = subprocess.run(["shellcheck", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout


def test_runner_unit_runs_one_wiped_just_in_time_job_per_start():
    unit = (ROOT / "runners" / "systemd" / "gitramp-runner.service").read_text()
    assert "ExecStartPre=+/usr/local/sbin/gitramp-runner-prepare" in unit
    assert "--jitconfig" in unit and "Restart=always" in unit and "PrivateTmp=yes" in unit
    prepare = (ROOT / "runners" / "systemd" / "gitramp-runner-prepare").read_text()
    assert "generate-jitconfig" in prepare and 'rm -rf "${RUNNER_DIR:?}/_work"' in prepare


def test_approved_teams_are_scored_without_a_reviewer_and_strangers_wait():
    """scoring.yml (run from the default branch) routes in its `plan` job; the approved
    path is the same scoring job in an environment without required reviewers."""
    wf = load(WORKFLOWS / "scoring.yml")
    jobs = wf["jobs"]
    assert {"plan", "score", "score-approved"} <= set(jobs)
    score, approved = jobs["score"], jobs["score-approved"]
    assert score["environment"] == "gitramp-scoring"
    assert approved["environment"] == "gitramp-scoring-approved"
    # complementary gates: an empty or unknown route goes to review
    assert score["if"] == "needs.plan.outputs.route != 'approved'"
    assert approved["if"] == "needs.plan.outputs.route == 'approved'"
    assert approved["needs"] == score["needs"] == "plan"
    # one team's submissions one after the other, whichever path they take
    assert approved["concurrency"] == score["concurrency"]
    assert approved["permissions"] == score["permissions"]
    assert approved["runs-on"] == score["runs-on"]
    assert approved["steps"] == score["steps"]  # only the gate differs
    plan = jobs["plan"]
    route = next(s for s in plan["steps"] if s.get("id") == "route")
    assert route["run"].startswith("gitramp approval route --repo trusted")
    # the author the forge's API gave, on the default branch's clone
    assert route["env"]["AUTHOR"] == "${{ steps.intake.outputs.author }}"
    assert plan["outputs"]["route"] == "${{ steps.route.outputs.route }}"
    names = [s.get("name") for s in plan["steps"]]
    assert names.index(route["name"]) > names.index("Validate again")


def test_the_seal_key_reaches_only_the_steps_that_open_sealed_code():
    """GITRAMP_SEAL_KEY: on the privileged scoring steps (submission code inside the
    container only) and on phase open; never a job's or workflow's env, never the
    pull-request workflow."""
    where = set()
    for path in FILES:
        wf = load(path)
        assert "GITRAMP_SEAL_KEY" not in str(wf.get("env", {})), path.name
        for name, job in wf["jobs"].items():
            assert "GITRAMP_SEAL_KEY" not in str(job.get("env", {})), f"{path.name}:{name}"
            for step in job.get("steps", []):
                if "GITRAMP_SEAL_KEY" not in str(step):
                    continue
                assert step["env"]["GITRAMP_SEAL_KEY"] == "${{ secrets.GITRAMP_SEAL_KEY }}"
                assert "--backend docker" in step["run"] or "gitramp phase open" in step["run"]
                assert job.get("environment"), f"{path.name}:{name}"
                where.add((path.name, name, step["name"]))
    assert where == {
        ("scoring.yml", "score", "Score and record in the ledger"),
        ("scoring.yml", "score-approved", "Score and record in the ledger"),
        ("organizer.yml", "organize", "Open the open phase"),
        ("organizer.yml", "organize", "Rescore in Docker and record in the ledger"),
    }
    assert "GITRAMP_SEAL_KEY" not in (WORKFLOWS / "submission.yml").read_text()
