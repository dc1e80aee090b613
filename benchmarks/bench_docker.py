"""The Docker backend's cost per submission, against the local backend, in one run.

Both backends score the same iris submission (5 folds; warm: one untimed run each
first). The Docker backend runs each fold in its own process under its own user,
killed and wiped before the next (scorer/backends/docker_warm.py); the local one
forks a process per fold too, without users. Per submission, for each backend:

- wall: the time score_submission takes;
- CPU: every process that works for that submission. Local: the scorer's process
  and the fork server with everything it reaped (workers, fold processes). Docker:
  the scorer's process, the container's cgroup (its ingestion supervisor, which
  imports numpy and pandas once per container, and scikit-learn when the submission
  uses it, as the iris starting kit does; and the folds), the
  container's shim, and the engine's daemons (dockerd, containerd: shared with
  anything else using the engine at the time, so noisy). Not counted: the short
  runc processes the shim starts (create, start, exec, kill, delete).

Goals, on the medians: wall at most 0.5 s + 0.15 s per fold over local, CPU at most
1 s over local. A fresh interpreter importing the libraries costs about 2 s of CPU
and a container needs one, which the CPU goal does not allow for: the figures show
where the CPU goes.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from pathlib import Path

from challenge.kit import load_kit
from scorer.data import load_data
from scorer.scoring import score_submission
from tests.conftest import ROOT

IRIS = ROOT / "kits" / "iris"
ROUNDS = 5
WALL_GOAL, WALL_PER_FOLD, CPU_GOAL = 0.5, 0.15, 1.0
TICK = os.sysconf("SC_CLK_TCK")
DAEMONS = ("dockerd", "containerd")


def _proc_cpu(pid: int, children: bool = True) -> float:
    """utime + stime (+ cutime + cstime: what it reaped) of a process, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = fields[11:15] if children else fields[11:13]
    return sum(int(t) for t in ticks) / TICK


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def _daemons_cpu() -> float:
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() in DAEMONS:
                    total += _proc_cpu(int(entry))
            except OSError:
                pass
    return total


def _cgroup_cpu(pid: int) -> float:
    """CPU seconds of the cgroup a process is in (v1 cpuacct, or v2 cpu.stat)."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return 0.0
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            return int(Path(f"/sys/fs/cgroup/cpuacct{path}/cpuacct.usage").read_text()) / 1e9
    for line in lines:
        if line.startswith("0::"):
            stat = Path(f"/sys/fs/cgroup{line[3:]}/cpu.stat").read_text()
            return int(stat.split("usage_usec", 1)[1].split()[0]) / 1e6
    return 0.0


class ContainerMeter:
    """The CPU of each container and its shim, read just before the backend stops it."""

    def __init__(self):
        from scorer.backends import docker as docker_backend

        self.module, self.original = docker_backend, docker_backend._stop
        self.last = 0.0
        docker_backend._stop = self._stop

    def _stop(self, container) -> None:
        try:
            container.reload()
            pid = container.attrs["State"]["Pid"]
            shim = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            # the shim's own time only: what it reaped includes the supervisor, whose
            # time the cgroup already counts
            self.last = _cgroup_cpu(pid) + _proc_cpu(shim, children=False)
        except Exception:
            self.last = float("nan")
        self.original(container)

    def close(self) -> None:
        self.module._stop = self.original


def _measure(kit, submission, backend, dataset, meter: ContainerMeter | None):
    server = None
    if meter is None:
        from scorer.backends.forkserver import get_server

        server = get_server().proc.pid
    cpu0, server0, daemons0 = _self_cpu(), _proc_cpu(server) if server else 0.0, _daemons_cpu()
    t0 = time.perf_counter()
    result = score_submission(kit, submission, backend=backend, dataset=dataset).result
    wall = time.perf_counter() - t0
    assert result.status == "scored", result.reason
    cpu = _self_cpu() - cpu0
    parts = {"scorer": cpu}
    if server:
        parts["fork server"] = _proc_cpu(server) - server0
    else:
        parts["container+shim"] = meter.last
        parts["daemons"] = _daemons_cpu() - daemons0
    return wall, sum(parts.values()), parts, result


def main() -> None:
    from scorer.backends.docker import DockerBackend
    from scorer.backends.local import LocalBackend

    kit = load_kit(IRIS)
    dataset = load_data(kit)
    submission = IRIS / "submissions" / "starting_kit"
    meter = ContainerMeter()
    backends = {"local": (LocalBackend(), None), "docker": (DockerBackend(), meter)}
    rows: dict[str, list] = {name: [] for name in backends}
    try:
        for backend, m in backends.values():
            _measure(kit, submission, backend, dataset, m)  # warm-up: servers, page cache
        for _ in range(ROUNDS):
            for name, (backend, m) in backends.items():
                rows[name].append(_measure(kit, submission, backend, dataset, m))
    finally:
        meter.close()
        backends["docker"][0].close()
    n_folds = len(rows["local"][0][3].folds)
    med = {name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
           for name, rs in rows.items()}
    print(f"docker backend, iris starting_kit, {n_folds} folds, per submission, median of "
          f"{ROUNDS} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
    for name, rs in rows.items():
        parts = {k: statistics.median(r[2][k] for r in rs) for k in rs[0][2]}
        print(f"  {name:6s} wall {med[name][0]:5.2f} s   CPU {med[name][1]:5.2f} s  ("
              + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()) + ")")
    wall_over, cpu_over = med["docker"][0] - med["local"][0], med["docker"][1] - med["local"][1]
    wall_goal = WALL_GOAL + WALL_PER_FOLD * n_folds
    print(f"  docker/local: wall {med['docker'][0] / med['local'][0]:.2f}x, "
          f"{wall_over:+.2f} s (goal <= {wall_goal:.2f} s: "
          f"{'met' if wall_over <= wall_goal else 'NOT met'}); "
          f"CPU {med['docker'][1] / med['local'][1]:.2f}x, {cpu_over:+.2f} s "
          f"(goal <= {CPU_GOAL:.2f} s: {'met' if cpu_over <= CPU_GOAL else 'NOT met'})")
    best = min(r[0] for r in rows["docker"]) - min(r[0] for r in rows["local"])
    print(f"  fastest runs: wall {best:+.2f} s over local")


if __name__ == "__main__":
    main()
