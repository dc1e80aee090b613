"""Soak: four scorers, each `gitramp scan --push origin` in its own clone of one hub
(real processes, the local backend, quick scoring), work through a few hundred pending
submissions at once, pushing public records to one bare remote and private ones to a
private ledger remote. Reports the throughput against one scorer alone on a sample
(measured in this run), and checks the invariants of tests/test_many_runners.py: every
submission recorded exactly once, no team over its quota, every scored record with its
private record, no attempt left in flight, and the scorers shared the work.

GITRAMP_SOAK_N sets the number of submissions (default 200: 20 teams of 10, a quota of
8 a day, so 160 scored and 40 refused for their quota).
"""

from __future__ import annotations

import collections
import os
import tempfile
import time
from pathlib import Path

from tests.test_many_runners import Hub, check_hub, outcomes_of

TEAMS = 20
SCORERS = 4


def main() -> None:
    n = int(os.environ.get("GITRAMP_SOAK_N", "200"))
    per_team = max(1, n // TEAMS)
    per_day = max(1, per_team * 4 // 5)
    expected = {f"team{t:02d}": [f"t{t:02d}_s{i:02d}" for i in range(per_team)]
                for t in range(TEAMS)}
    total = TEAMS * per_team
    scored_goal = TEAMS * per_day
    print(f"{total} submissions of {TEAMS} teams, quota {per_day} a day: {scored_goal} to "
          f"score; load average at start {os.getloadavg()[0]:.1f}")

    with tempfile.TemporaryDirectory(prefix="gitramp-bench-soak-one-") as tmp:
        sample = {t: names[:2] for t, names in list(expected.items())[:2]}
        hub = Hub(Path(tmp), sample, per_day=2)
        t = time.perf_counter()
        outcomes_of(hub.start(hub.runner("alone")), timeout=3600)
        one = (time.perf_counter() - t) / 4
        print(f"baseline: one scorer alone, 4 submissions: {one:.2f} s per submission")

    with tempfile.TemporaryDirectory(prefix="gitramp-bench-soak-") as tmp:
        hub = Hub(Path(tmp), expected, per_day=per_day)
        runners = [hub.runner(f"scorer{k}") for k in range(1, SCORERS + 1)]
        t = time.perf_counter()
        procs = [hub.start(r) for r in runners]
        outcomes = [o for p in procs for o in outcomes_of(p, timeout=6 * 3600)]
        wall = time.perf_counter() - t
        by_sub = check_hub(hub, expected)
        scored = [v[0] for v in by_sub.values() if v[0].status == "scored"]
        assert len(scored) == scored_goal, len(scored)
        reported = collections.Counter((o["team"], o["submission"]) for o in outcomes
                                       if o["status"] == "scored")
        assert all(c == 1 for c in reported.values()) and len(reported) == scored_goal
        share = collections.Counter(r.runner for r in scored)
        print(f"four scorers: {total} submissions settled in {wall:.1f} s: "
              f"{total / wall * 60:.1f} a minute, {wall / scored_goal:.2f} s per scored "
              f"submission ({wall / scored_goal / one:.2f}x one scorer alone)")
        print("scored by: " + ", ".join(f"{k} {v}" for k, v in sorted(share.items())))
        print(f"invariants: {len(by_sub)} submissions recorded once each, quotas held, "
              f"private records complete, no attempt left in flight: ok")


if __name__ == "__main__":
    main()
