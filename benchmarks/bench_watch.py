"""A participant's edit-test loop: `gitramp test --watch` scoring the iris starting kit
again after a save, against a cold `gitramp test` of the same kit, both measured here.

Cold: the command run from scratch (interpreter, imports, data, five folds), the median
of a few runs. Watch: the time from a save (an editor's rename over the file) to the
new scores printed, the median of several saves, each editing the model's C, and the
CPU time all the command's processes (scorer, fork server, workers, folds) spent on it,
which a busy machine stretches far less than wall-clock time. Goal: a rescore in at
most 0.3 s; the ratio says how much of the cold run the loop saves.
Run: python -m benchmarks.bench_watch [--saves 8] [--cold 3]
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IRIS = ROOT / "kits" / "iris"
GOAL = 0.3  # seconds from a save to the new scores


def gitramp() -> list[str]:
    script = Path(sys.executable).parent / "gitramp"  # the console script a user runs
    return [str(script)] if script.exists() else [sys.executable, "-m", "gitramp.main"]


def cold(kit: Path) -> float:
    start = time.perf_counter()
    subprocess.run([*gitramp(), "test", "--kit", str(kit)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def tree_cpu(root: int) -> float:
    """CPU seconds of process `root` and of every live descendant, each with what its
    reaped children spent (a live process's children are counted once: by it)."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, spent = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        spent[int(entry)] = sum(int(x) for x in fields[11:15]) / tick
    total = 0.0
    for pid in spent:
        p = pid
        while p not in (root, 0, 1) and p in parent:
            p = parent[p]
        if p == root:
            total += spent[pid]
    return total


def watch(kit: Path, saves: int) -> tuple[list[float], list[float], list[float]]:
    """(save to scores printed, the rescore as the command reports it, the CPU time of
    all the command's processes from the save to the scores), per save."""
    code = kit / "submissions" / "starting_kit" / "classifier.py"
    original = code.read_text()
    proc = subprocess.Popen([*gitramp(), "test", "--kit", str(kit), "--watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, COLUMNS="200"))
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            lines.put((time.perf_counter(), line))

    threading.Thread(target=read, daemon=True).start()

    def until(text: str) -> tuple[float, str]:
        while True:
            at, line = lines.get(timeout=120)
            if text in line:
                return at, line

    seen, reported, cpu = [], [], []
    try:
        until("watching ")
        for i in range(saves):
            time.sleep(0.3)  # a participant types between saves
            edit = code.with_name(".classifier.py.swp")
            edit.write_text(original.replace("C=1.0", f"C={0.5 + i / 10:.2f}"))
            before = tree_cpu(proc.pid)
            saved = time.perf_counter()
            os.replace(edit, code)
            _, line = until("scored again in")
            reported.append(float(line.split("scored again in")[1].split()[0]))
            shown, _ = until("└")  # the last line of the comparison table
            seen.append(shown - saved)
            time.sleep(0.05)  # the workers reaped, so that their time is counted
            cpu.append(tree_cpu(proc.pid) - before)
    finally:
        proc.send_signal(2)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return seen, reported, cpu


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_watch")
    p.add_argument("--saves", type=int, default=8)
    p.add_argument("--cold", type=int, default=3)
    a = p.parse_args(argv if argv is not None else [])
    with tempfile.TemporaryDirectory(prefix="gitramp-bench-watch-") as tmp:
        kit = Path(tmp) / "iris"
        shutil.copytree(IRIS, kit, ignore=shutil.ignore_patterns("hidden"))
        cold_runs = [cold(kit) for _ in range(a.cold)]
        seen, reported, cpu = watch(kit, a.saves)
    c, w, r = statistics.median(cold_runs), statistics.median(seen), statistics.median(reported)
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} (times stretch with it)")
    print(f"cold `gitramp test` (iris starting kit, 5 folds): median {c:.2f} s of "
          f"{', '.join(f'{x:.2f}' for x in cold_runs)}")
    print(f"`gitramp test --watch`, save to new scores shown: median {w:.3f} s of "
          f"{', '.join(f'{x:.2f}' for x in seen)} (the rescore itself: median {r:.3f} s)")
    print(f"CPU time of a rescore, all processes: median {statistics.median(cpu):.3f} s of "
          f"{', '.join(f'{x:.2f}' for x in cpu)}")
    print(f"ratio cold / watch: {c / w:.1f}x; goal a rescore within {GOAL} s: "
          + ("met" if w <= GOAL else "NOT met"))


if __name__ == "__main__":
    main(sys.argv[1:])
