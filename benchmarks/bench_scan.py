"""`gitramp scan` on a ledger of 1,000 already-scored submissions: goal under 2 s in all,
nothing rescored.

Figures, measured in this run on the same repository:
- `gitramp scan` as a command (interpreter start and imports included), and in process;
- baseline "list refs": `git for-each-ref` of the submission branches (a floor: the
  least any scan must do);
- baseline "naive": the straightforward scan, which reads each branch and parses its
  ledger record with PyYAML's pure-Python loader before deciding to skip it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from challenge import submission as subs
from challenge.hub import build_hub, commit_files
from challenge.ledger import Key, Ledger, dump_yaml
from challenge.pipeline import Options, Pipeline
from challenge.scan import scan
from scorer.result import Result

N = 1000
GOAL = 2.0


def build(root: Path) -> Path:
    kits = Path(__file__).resolve().parents[1] / "kits"
    start = datetime(2026, 12, 1, tzinfo=UTC)
    repo = build_hub(root / "hub", kits, ["iris"], start)
    main = repo.references["refs/heads/main"].target
    code = (kits / "iris" / "submissions" / "random_forest" / "classifier.py").read_bytes()
    for i in range(N):
        commit_files(repo, f"refs/heads/submit/team{i % 50}/sub{i:04d}",
                     {f"kits/iris/submissions/sub{i:04d}/classifier.py":
                      code + f"# version {i}\n".encode()},
                     parent=main, message=f"sub{i}", author=f"team{i % 50}",
                     when=start + timedelta(minutes=i))
    pipe = Pipeline(root / "hub", Options())
    files = {}
    for ref in subs.branch_refs(repo):
        sub = subs.from_branch(repo, ref)
        r = Result(challenge="iris", submission=sub.name, status="scored", team=sub.team,
                   commit=sub.commit, tree=sub.tree, scoring_hash=pipe.key(sub).scoring_hash,
                   score_names=["acc"], bagged={"valid": {"acc": 0.9}},
                   submitted_at="2026-12-01T01:00:00Z")
        files[Key.of(r).path()] = dump_yaml(r.public_dict())
    Ledger(root / "hub").write(files, f"ledger: {N} results")
    return root / "hub"


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def naive_scan(hub: Path) -> int:
    pipe = Pipeline(hub, Options())
    ledger = Ledger(hub)
    todo = 0
    for ref in subs.branch_refs(pipe.repo):
        sub = subs.from_branch(pipe.repo, ref)
        head = ledger.head()
        data = pipe.repo[head.tree[pipe.key(sub).path()].id].data
        if yaml.load(data, Loader=yaml.SafeLoader).get("status") is None:
            todo += 1
    return todo


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gitramp-bench-scan-") as tmp:
        t = time.perf_counter()
        hub = build(Path(tmp))
        print(f"built a hub with {N} submission branches and {N} ledger records in "
              f"{time.perf_counter() - t:.1f} s")
        head = Ledger(hub).head().id
        floor = timed(lambda: subprocess.run(
            ["git", "-C", str(hub), "for-each-ref", "refs/heads/submit/"],
            check=True, capture_output=True))
        naive = timed(lambda: naive_scan(hub))
        outcomes: list = []
        inproc = timed(lambda: outcomes.extend(scan(hub, Options(), workers=2)))
        gitramp = str(Path(sys.executable).with_name("gitramp"))
        proc = None

        def command():
            nonlocal proc
            proc = subprocess.run([gitramp, "scan", "--repo", str(hub), "--backend", "local",
                                   "--workers", "2"],
                                  capture_output=True, text=True)
        cli = timed(command)
        rescored = len(outcomes) + (0 if "nothing new to score" in proc.stderr else 1)
        assert Ledger(hub).head().id == head, "the scan wrote to the ledger"
        print(f"{'measure':<44}{'seconds':>9}{'x floor':>9}{'x naive':>9}")
        for label, v in [("baseline: git for-each-ref (floor)", floor),
                         ("baseline: naive scan (parse every record)", naive),
                         ("gitramp scan, in process", inproc),
                         ("gitramp scan, command (imports included)", cli)]:
            print(f"{label:<44}{v:>9.3f}{v / floor:>9.1f}{v / naive:>9.2f}")
        print(f"rescored: {rescored} of {N} (goal 0); command exit {proc.returncode}")
        print(f"goal: gitramp scan under {GOAL:.0f} s in all -> "
              f"{'met' if cli < GOAL and rescored == 0 else 'MISSED'} ({cli:.2f} s)")


if __name__ == "__main__":
    main()
