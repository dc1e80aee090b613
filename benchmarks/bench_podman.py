"""The docker backend's cost per submission on root Podman, against Docker, in one run.

Both engines score the same iris submission (5 folds) with the same image and the
same backend (one untimed run each first, then ROUNDS rounds taking turns, so
both see the same load). Per submission, for each engine:

- wall: the time score_submission takes, container start, folds and read-back;
- engine CPU: the CPU its daemons spent meanwhile (Docker: dockerd, containerd and
  the shims; Podman: its API service and the conmon of each container and exec).

Goal, on the medians: Podman's wall at most 0.3 s over Docker's. Needs both engines
(runners/podman/start_service.sh starts Podman and loads the image).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from challenge.kit import load_kit
from scorer.data import load_data
from scorer.scoring import score_submission
from tests.conftest import ROOT

IRIS = ROOT / "kits" / "iris"
ROUNDS = 7
GOAL = 0.3  # seconds of wall time per submission over Docker
TICK = os.sysconf("SC_CLK_TCK")
DAEMONS = {"docker": ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2"),
           "podman": ("podman", "conmon")}


def _daemons_cpu(names: tuple[str, ...]) -> float:
    """CPU seconds of every live process named in `names` (with what they reaped)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if Path(f"/proc/{entry}/comm").read_text().strip() not in names:
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(t) for t in fields[11:15]) / TICK
    return total


def main() -> None:
    from scorer.backends.docker import DockerBackend

    kit = load_kit(IRIS)
    dataset = load_data(kit)
    submission = IRIS / "submissions" / "starting_kit"
    backends = {name: DockerBackend(engine=name) for name in ("docker", "podman")}
    rows: dict[str, list[tuple[float, float]]] = {name: [] for name in backends}

    def run(name: str) -> tuple[float, float]:
        cpu0, t0 = _daemons_cpu(DAEMONS[name]), time.perf_counter()
        result = score_submission(kit, submission, backend=backends[name],
                                  dataset=dataset).result
        wall = time.perf_counter() - t0
        assert result.status == "scored", (name, result.reason)
        return wall, max(0.0, _daemons_cpu(DAEMONS[name]) - cpu0)

    try:
        for name in backends:
            run(name)  # warm-up: image layers, page cache, the first spare container
        for _ in range(ROUNDS):
            for name in backends:
                rows[name].append(run(name))
    finally:
        for backend in backends.values():
            backend.close()
    med = {name: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
           for name, r in rows.items()}
    print(f"docker backend on two engines, iris starting_kit, per submission, median of "
          f"{ROUNDS} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
    for name, (wall, cpu) in med.items():
        print(f"  {name:6s} wall {wall:5.2f} s   engine daemons' CPU {cpu:5.2f} s")
    over = med["podman"][0] - med["docker"][0]
    best = min(w for w, _ in rows["podman"]) - min(w for w, _ in rows["docker"])
    print(f"  podman/docker: wall {med['podman'][0] / med['docker'][0]:.2f}x, {over:+.2f} s "
          f"(goal <= {GOAL:.2f} s: {'met' if over <= GOAL else 'NOT met'}); fastest runs "
          f"{best:+.2f} s; engine CPU {med['podman'][1] - med['docker'][1]:+.2f} s")


if __name__ == "__main__":
    main()
