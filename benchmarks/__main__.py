"""`python -m benchmarks [NAME ...]`: run every `benchmarks/bench_*.py` module's `main()`.

Modules run in name order, each under a header; one that fails is reported and the
others still run, and the exit status is 1 if any failed. Names (e.g. `ramp_test`)
select some of them.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path


def discover() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    wanted = argv if argv is not None else sys.argv[1:]
    names = discover()
    if wanted:
        unknown = [w for w in wanted if f"bench_{w}" not in names and w not in names]
        if unknown:
            print(f"no benchmark {', '.join(unknown)}; available: "
                  + ", ".join(n.removeprefix("bench_") for n in names), file=sys.stderr)
            return 2
        names = [n for n in names if n in wanted or n.removeprefix("bench_") in wanted]
    failed = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main()
        except Exception:
            traceback.print_exc()
            failed.append(name)
            print(f"=== {name}: FAILED after {time.perf_counter() - start:.0f} s ===", flush=True)
        else:
            print(f"=== {name}: done in {time.perf_counter() - start:.0f} s ===", flush=True)
    if failed:
        print(f"\n{len(failed)} of {len(names)} benchmarks failed: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
