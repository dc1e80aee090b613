"""Site build speed on synthetic ledgers of 1,000 and 10,000 submissions (5 folds, 3 scores).

Prints the time per submission (whole build, and the submission-page phase alone), the
10k/1k ratio of full builds (linear is 10), and the ratio of a rebuild after one new
result to the full build. Goals: <= 3 ms per submission page, ratio <= 11, rebuild a
small fraction. Run: python -m benchmarks.bench_site [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from site_generator import build
from site_generator.build import CACHE_DIR
from site_generator.synthetic import add_submission, bench_repo


def measure(n: int, work: Path, code_visible: bool = False) -> dict[str, float]:
    t = time.perf_counter()
    srepo = bench_repo(work / f"repo{n}", n, code_visible=code_visible)
    made = time.perf_counter() - t
    site = work / f"site{n}"
    full = build(srepo.path, site)  # cold: no parse cache, empty output
    noop = build(srepo.path, site)
    add_submission(srepo, "bench")
    incr = build(srepo.path, site)
    assert incr.pages_rendered == 1, incr
    shutil.rmtree(srepo.path / ".git" / CACHE_DIR)
    shutil.rmtree(site)
    return {"n": n, "make": made, "full": full.seconds, "read": full.timings["read"],
            "pages": full.timings["submission_pages"], "noop": noop.seconds,
            "incremental": incr.seconds, "incr_written": incr.files_written}


def report(label: str, m: dict[str, float]) -> None:
    n = m["n"]
    print(f"{label} {n:>6} submissions: full build {m['full']:6.2f} s = "
          f"{m['full'] / n * 1000:.2f} ms/submission (read {m['read'] / n * 1000:.2f}, "
          f"submission page {m['pages'] / n * 1000:.2f} ms); no-change rebuild "
          f"{m['noop']:.2f} s; rebuild after one new result {m['incremental']:.2f} s "
          f"= {m['incremental'] / m['full']:.3f} of the full build "
          f"({m['incr_written']} files written)   [synthetic repo made in {m['make']:.1f} s]")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        work = Path(tmp)
        results = []
        for n in sizes:
            m = measure(n, work)
            report("closed phase:", m)
            results.append(m)
        m_open = measure(sizes[0], work / "open", code_visible=True)
        report("open phase:  ", m_open)
    base = results[0]
    for m in results[1:]:
        ratio = m["full"] / base["full"]
        print(f"site: {m['n']}/{base['n']} full build time ratio {ratio:.2f} "
              f"(linear: {m['n'] / base['n']:.0f}; goal <= {1.1 * m['n'] / base['n']:.0f})")
    worst_page = max(m["pages"] / m["n"] for m in [*results, m_open]) * 1000
    worst_incr = max(m["incremental"] / m["full"] for m in [*results, m_open])
    print(f"site: worst submission page {worst_page:.2f} ms (goal <= 3); worst rebuild "
          f"after one result {worst_incr:.3f} of a full build")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
