"""The Docker backend's cost per submission, against the local backend, in one run.

Both backends score the same iris submission (warm: one untimed run each first);
the figure is the extra wall-clock time per submission in a container, and the
ratio of the two. Goal: at most 0.5 s per submission on top of the local backend.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from challenge.kit import load_kit
from scorer.data import load_data
from scorer.scoring import score_submission

ROOT = Path(__file__).resolve().parents[1]  # the repository (benchmarks import no test)
IRIS = ROOT / "kits" / "iris"
ROUNDS = 5
GOAL = 0.5


def _time(kit, submission, backend, dataset) -> float:
    t0 = time.perf_counter()
    result = score_submission(kit, submission, backend=backend, dataset=dataset).result
    elapsed = time.perf_counter() - t0
    assert result.status == "scored", result.reason
    return elapsed


def main() -> None:
    from scorer.backends.docker import DockerBackend
    from scorer.backends.local import LocalBackend

    kit = load_kit(IRIS)
    dataset = load_data(kit)
    submission = IRIS / "submissions" / "starting_kit"
    backends = {"local": LocalBackend(), "docker": DockerBackend()}
    times: dict[str, list[float]] = {name: [] for name in backends}
    for backend in backends.values():
        _time(kit, submission, backend, dataset)  # warm-up: fork server, page cache
    for _ in range(ROUNDS):
        for name, backend in backends.items():
            times[name].append(_time(kit, submission, backend, dataset))
    local, docker = (statistics.median(times[n]) for n in ("local", "docker"))
    overhead = docker - local
    print(f"docker backend, iris starting_kit, median of {ROUNDS}: local {local:.2f} s, "
          f"docker {docker:.2f} s")
    print(f"  docker/local ratio: {docker / local:.2f}x; overhead {overhead:+.2f} s per "
          f"submission (goal <= {GOAL} s: {'met' if overhead <= GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
