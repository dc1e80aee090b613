"""Many runners, one hub: four scorers, each `gitramp scan --push origin` in its own
clone, score the pending submissions of one hub at once (real processes, the local
backend) and push to one bare remote, with a private ledger remote that every runner
pushes to as well. No result is lost or duplicated, every submission is scored once,
quotas hold; and a scorer killed with SIGKILL while claiming, scoring, committing or
pushing leaves the hub readable and its submission scored by the next scan."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pygit2
import pytest

from challenge.claims import read_all
from challenge.ledger import Ledger
from challenge.phases import iso
from tests.gitramp_hubs import CLOSED_NOW, KITS, example, make_hub, submit

CODE = example("iris", "starting_kit")  # the cheapest model to fit
PER_DAY = 1
TEAMS = ("alice", "bob", "carol", "dave")


def version(i: int) -> dict[str, bytes]:
    return {"classifier.py": CODE["classifier.py"] + f"\n# version {i}\n".encode()}


class Hub:
    """A bare public remote with submission branches, a bare private ledger remote, and
    runners: clones of the public remote, each with its own private ledger copy."""

    def __init__(self, tmp: Path, subs: dict[str, list[str]], per_day: int = PER_DAY):
        repo = make_hub(tmp, closed_per_day=per_day, min_interval=0)
        self.per_day = per_day
        n = 0
        for team, names in subs.items():
            for name in names:
                n += 1
                submit(repo, team, name, version(n), when=CLOSED_NOW)
        self.tmp = tmp
        self.origin = tmp / "origin.git"
        pygit2.clone_repository(str(tmp / "hub"), str(self.origin), bare=True)
        origin = pygit2.Repository(str(self.origin))
        for ref in list(repo.references):
            if ref.startswith("refs/heads/submit/"):
                origin.references.create(ref, repo.references[ref].target, force=True)
        self.private = tmp / "private.git"
        pygit2.init_repository(str(self.private), bare=True, initial_head="main")

    def runner(self, name: str) -> Path:
        path = self.tmp / name
        if not path.exists():
            repo = pygit2.clone_repository(str(self.origin), str(path))
            repo.remotes["origin"].fetch(["+refs/heads/submit/*:refs/heads/submit/*"])
        return path

    def scan_argv(self, runner: Path) -> list[str]:
        return ["scan", "--repo", str(runner), "--backend", "local", "--push", "origin", "--quick",
                "--backend", "local",
                "--now", iso(CLOSED_NOW), "--runner", runner.name,
                "--data-dir", str(KITS / "{challenge}" / "hidden"),
                "--private-ledger", self.private.as_uri(),
                "--private-ledger-copy", str(self.tmp / f"{runner.name}-private"), "--json"]

    def start(self, runner: Path, *, pause_at: str | None = None) -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        if pause_at:
            env.update(PAUSE_AT=pause_at, PAUSE_MARK=str(self.tmp / f"{runner.name}.paused"))
        return subprocess.Popen([sys.executable, "-c", SCORER, *self.scan_argv(runner)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)

    def public(self) -> Ledger:
        return Ledger(self.origin, branch="refs/heads/main")

    def private_ledger(self) -> Ledger:
        return Ledger(self.private, branch="refs/heads/main")


# A scorer process: `gitramp scan`, with PAUSE_AT set made to stop at one phase (mark a
# file, then sleep) so the test kills it there with SIGKILL:
# - claiming: right after the claim's compare-and-swap on the remote, before the local
#   branch follows it;
# - scoring: at the end of the scoring, before the result is recorded;
# - committing: after the private record is on the private remote, before the public one;
# - pushing: in the public record's push, after its objects reached the remote and before
#   the remote's branch moves.
SCORER = """
import os, sys, time
from pathlib import Path

phase = os.environ.get("PAUSE_AT")

def pause(where):
    mark = Path(os.environ["PAUSE_MARK"])
    tmp = mark.with_name(mark.name + ".tmp")
    tmp.write_text(where)
    os.replace(tmp, mark)  # appears whole: the test reads it as soon as it exists
    time.sleep(600)

if phase:
    import pygit2
    from challenge import ledger, pipeline
    import scorer.scoring as scoring
    if phase == "claiming":
        claim = pipeline.Pipeline.claim
        def patched(self, v):
            swap = ledger.Ledger._swap_remote
            def swapped(led, remote, new, old):
                done = swap(led, remote, new, old)
                if done:
                    pause(phase)
                return done
            ledger.Ledger._swap_remote = swapped
            return claim(self, v)
        pipeline.Pipeline.claim = patched
    elif phase == "scoring":
        score = scoring.score_submission
        def patched(*a, **k):
            out = score(*a, **k)
            pause(phase)
        scoring.score_submission = patched
    elif phase == "committing":
        record = ledger.Ledger.record
        def patched(self, result, *, private=False, remote=None):
            if not private and result.status == "scored":
                pause(phase)
            return record(self, result, private=private, remote=remote)
        ledger.Ledger.record = patched
    elif phase == "pushing":
        record = ledger.Ledger.record
        push = pygit2.remotes.Remote.push
        def pushed(rem, specs, *a, **k):
            push(rem, specs, *a, **k)
            if os.environ.get("IN_RECORD") and any("outgoing" in s for s in specs):
                pause(phase)
        pygit2.remotes.Remote.push = pushed
        def patched(self, result, *, private=False, remote=None):
            if not private and result.status == "scored":
                os.environ["IN_RECORD"] = "1"
            return record(self, result, private=private, remote=remote)
        ledger.Ledger.record = patched

from gitramp.main import main
sys.exit(main(sys.argv[1:]))
"""


def outcomes_of(proc: subprocess.Popen, timeout: float = 300) -> list[dict]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode in (0, 1) and out.strip().startswith("["), err[-3000:]
    return json.loads(out)


def kill_at(hub: Hub, runner: Path, phase: str) -> None:
    """Start a scorer on `runner`, wait until it reaches `phase`, SIGKILL it."""
    mark = hub.tmp / f"{runner.name}.paused"
    mark.unlink(missing_ok=True)
    proc = hub.start(runner, pause_at=phase)
    deadline = time.monotonic() + 120
    while not mark.exists():
        if proc.poll() is not None:
            pytest.fail(f"the scorer ended before {phase}: {proc.stderr.read()[-3000:]}")
        assert time.monotonic() < deadline, f"the scorer never reached {phase}"
        time.sleep(0.05)
    assert mark.read_text() == phase
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()  # reaped, as a runner's supervisor does: the process is gone
    proc.stdout.close()
    proc.stderr.close()


def check_hub(hub: Hub, expected: dict[str, list[str]]) -> dict[tuple[str, str], list]:
    """The invariants: the remote ledger reads whole; each submission has exactly one
    record (scored, or rejected for its quota); no team has more scored than its quota;
    every scored record has its private record on the private remote; no attempt is
    left in flight. Returns {(team, name): [records]}."""
    public = hub.public()
    records = public.records("iris")
    assert public.skipped == {}
    by_sub: dict[tuple[str, str], list] = {}
    for r in records:
        by_sub.setdefault((r.team, r.submission), []).append(r)
    wanted = {(t, n) for t, names in expected.items() for n in names}
    assert set(by_sub) == wanted
    assert all(len(v) == 1 for v in by_sub.values()), by_sub  # none twice
    for team in expected:
        mine = [v[0] for (t, _), v in by_sub.items() if t == team]
        scored = [r for r in mine if r.status == "scored"]
        assert len(scored) == min(hub.per_day, len(mine)), mine
        assert all(r.status == "scored" or "quota" in (r.reason or "") for r in mine), mine
    private = {(r.team, r.submission) for r in hub.private_ledger().records("iris")}
    assert private == {k for k, v in by_sub.items() if v[0].status == "scored"}
    head = public.head()
    claims = read_all(public.repo, head.tree)
    assert all(a.tree in {r.tree for r in records if r.status == "scored"}
               for attempts in claims.attempts.values() for a in attempts)
    return by_sub


@pytest.mark.slow
def test_four_scorers_at_once_score_each_submission_once(tmp_path):
    expected = {team: [f"{team}_{i}" for i in range(2)] for team in TEAMS}
    hub = Hub(tmp_path, expected)
    runners = [hub.runner(f"runner{k}") for k in range(1, 5)]
    procs = [hub.start(r) for r in runners]
    outcomes = [o for p in procs for o in outcomes_of(p)]

    by_sub = check_hub(hub, expected)
    # each scored submission was scored by exactly one scorer, which recorded it; a
    # refusal every scorer finds alike is recorded once
    final = [o for o in outcomes if o["status"] != "skipped"]
    assert {(o["team"], o["submission"]) for o in final} == set(by_sub), final
    for o in final:
        (record,) = by_sub[(o["team"], o["submission"])]
        assert (record.status, record.tree) == (o["status"], o["tree"])
    scored = [o for o in final if o["status"] == "scored"]
    assert len(scored) == len({(o["team"], o["submission"]) for o in scored}) \
        == PER_DAY * len(TEAMS)
    assert len({by_sub[(o["team"], o["submission"])][0].runner for o in scored}) > 1, \
        "one scorer did all the work"
    # the work was shared: the others skipped what one of them had claimed or scored
    skipped = [o for o in outcomes if o["status"] == "skipped"]
    assert all("runner" in o["message"] for o in skipped), skipped
    # a later scan anywhere scores nothing (quota refusals are checked again, and are
    # the same) and leaves the ledger as it was
    head = hub.public().head().id
    again = outcomes_of(hub.start(hub.runner("runner5")))
    assert all(o["status"] == "rejected" and "recorded earlier" in o["message"]
               for o in again), again
    assert hub.public().head().id == head


@pytest.mark.slow
def test_a_scorer_killed_at_any_phase_leaves_the_hub_readable_and_is_rescored(tmp_path):
    expected = {"alice": ["a1"], "bob": ["b1"]}
    hub = Hub(tmp_path, expected)
    for k, phase in enumerate(("claiming", "scoring", "committing", "pushing"), 1):
        kill_at(hub, hub.runner(f"killed{k}"), phase)
        public = hub.public()
        public.records()
        assert public.skipped == {}  # readable after each kill
    # the next scans, in killed scorers' clones, finish the work
    procs = [hub.start(hub.runner("killed1")), hub.start(hub.runner("killed4"))]
    for p in procs:
        outcomes_of(p)
    by_sub = check_hub(hub, expected)
    assert all(v[0].status == "scored" for v in by_sub.values())
