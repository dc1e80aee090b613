"""Site build speed on synthetic ledgers of 1,000 and 10,000 submissions (5 folds, 3 scores);
100,000 too with GITRAMP_BENCH_SITE_100K=1 (making that ledger takes tens of minutes).

Every size is the worst case: the open phase, code and diffs shown, private scores revealed.

Prints the time per submission (whole build, and the submission-page phase alone), the
10k/1k ratio of full builds (linear is 10), and the ratio of a rebuild after one new
result to the full build, all in CPU time of the build (the machine may be shared).
Goals: <= 3 ms per submission page, ratio <= 11, rebuild a small fraction.
Run: python -m benchmarks.bench_site [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from site_generator import build
from site_generator.build import CACHE_DIR
from synthetic import add_submission, bench_repo


def timed(fn, *args):
    """(result, wall seconds, CPU seconds of this process): CPU time is what the build
    costs; wall time also counts other processes competing for the two cores."""
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def measure(n: int, work: Path, code_visible: bool = True) -> dict[str, float]:
    t = time.perf_counter()
    gc.disable()  # making 10,000 results: the collector would rescan them for nothing
    try:
        srepo = bench_repo(work / f"repo{n}", n, code_visible=code_visible,
                           revealed=code_visible)
    finally:
        gc.enable()
    made = time.perf_counter() - t
    site = work / f"site{n}"
    best = None
    for _ in range(2 if n <= 2000 else 1):  # the best of a few cold builds: less noise
        shutil.rmtree(srepo.path / ".git" / CACHE_DIR, ignore_errors=True)
        shutil.rmtree(site, ignore_errors=True)
        run = timed(build, srepo.path, site)  # cold: no parse cache, empty output folder
        if best is None or run[2] < best[2]:
            best = run
    full, full_wall, full_cpu = best
    noop, noop_wall, noop_cpu = timed(build, srepo.path, site)
    add_submission(srepo, "bench")
    incr, incr_wall, incr_cpu = timed(build, srepo.path, site)
    assert incr.pages_rendered == 1, incr
    sizes = (max(p.stat().st_size for p in site.rglob("*.html")),
             max(p.stat().st_size for p in site.rglob("*") if p.suffix in (".json", ".csv", ".js")))
    shutil.rmtree(srepo.path / ".git" / CACHE_DIR)
    shutil.rmtree(site)
    share = full_cpu / full_wall  # the part of wall time this process had the CPU
    return {"n": n, "make": made, "full": full_cpu, "full_wall": full_wall,
            "read": full.timings["read"] * share,
            "pages": full.timings["submission_pages"] * share,
            "noop": noop_cpu, "incremental": incr_cpu, "incr_wall": incr_wall,
            "incr_written": incr.files_written, "noop_written": noop.files_written,
            "highlight": full.timings.get("highlight", 0.0),
            "highlighted": full.timings.get("highlighted_files", 0),
            "largest_html": sizes[0], "largest_data": sizes[1]}


def report(label: str, m: dict[str, float]) -> None:
    n = m["n"]
    print(f"{label} {n:>6} submissions: full build {m['full']:6.2f} s CPU "
          f"({m['full_wall']:.2f} s wall) = {m['full'] / n * 1000:.2f} ms/submission "
          f"(reading {m['read'] / n * 1000:.2f}, submission page {m['pages'] / n * 1000:.2f} "
          f"ms); no-change rebuild {m['noop']:.2f} s; rebuild after one new result "
          f"{m['incremental']:.2f} s = {m['incremental'] / m['full']:.3f} of the full build "
          f"({m['incr_written']} files written; {m['noop_written']} by the no-change rebuild)"
          f"   [synthetic repo made in {m['make']:.1f} s]")
    print(f"{label} {n:>6} submissions: highlighting {m['highlight']:.2f} s CPU for "
          f"{m['highlighted']} distinct file(s) = {m['highlight'] / n * 1000:.2f} ms/submission; "
          f"without it {(m['full'] - m['highlight']) / n * 1000:.2f} ms/submission; largest "
          f"page {m['largest_html'] / 1e6:.2f} MB (goal <= 1), largest data file "
          f"{m['largest_data'] / 1e6:.2f} MB (goal <= 5)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000")
    args = p.parse_args(argv or [])  # `python -m benchmarks` calls main() without arguments
    sizes = [int(s) for s in args.sizes.split(",")]
    if os.environ.get("GITRAMP_BENCH_SITE_100K") and 100_000 not in sizes:
        sizes.append(100_000)
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        work = Path(tmp)
        measure(50, work / "warm-up")  # imports, template compilation: not per submission
        results = []
        for n in sizes:
            m = measure(n, work)
            report("open phase, code, revealed:", m)
            results.append(m)
        m_open = results[0]
    base = results[0]
    for prev, m in zip(results, results[1:], strict=False):
        base = prev
        ratio = m["full"] / base["full"]
        print(f"site: {m['n']}/{base['n']} full build CPU time ratio {ratio:.2f} "
              f"(linear: {m['n'] / base['n']:.0f}; goal <= {1.1 * m['n'] / base['n']:.0f})")
    worst_page = max(m["pages"] / m["n"] for m in [*results, m_open]) * 1000
    worst_incr = max(m["incremental"] / m["full"] for m in [*results, m_open])
    print(f"site: worst submission page {worst_page:.2f} ms (goal <= 3); worst rebuild "
          f"after one result {worst_incr:.3f} of a full build")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
