"""`gitramp test`: train and score submissions on a kit, as a runner would, locally.

With --watch it keeps running: the data stays loaded and the fork server keeps
numpy, pandas, scikit-learn and the submission's libraries imported, so each save of
a submission's file is scored again in a fraction of a second, the new scores
printed beside the previous ones."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from challenge.errors import GitrampError
from scorer.backends import NAMES as BACKENDS

ALL = "ALL"
POLL = 0.02  # seconds between two looks at the watched files (a few stat calls, ~0.2 ms)
SETTLE = 0.01  # seconds a change is left to settle: an editor may save in several writes


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("test", help="train and score submissions locally",
                       description="Train and score submissions on every CV fold of a kit "
                       "and print per-fold, mean ± std and bagged scores.")
    p.add_argument("--kit", default=".", type=Path, help="the kit folder (default: .)")
    p.add_argument("--submission", default="starting_kit",
                   help=f"a folder of submissions/, or {ALL} (default: starting_kit)")
    p.add_argument("--quick-test", action="store_true",
                   help="a small slice of the data and 2 folds, to check that it runs")
    p.add_argument("--jobs", "-j", type=int, default=None,
                   help="folds run at once (default: 1; with --watch, one per core)")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="where submission code runs: docker runs it as a runner would "
                   "(default: the runner file's backend, else local processes)")
    p.add_argument("--engine", choices=("docker", "podman"), default=None,
                   help="the docker backend's container engine (runners/ENGINES.md); "
                   "default: $GITRAMP_ENGINE, the runner file's, else docker")
    p.add_argument("--data", type=Path, default=None,
                   help="a data folder with the kit's layout (default: the kit's public data)")
    p.add_argument("--save-output", type=Path, default=None, metavar="DIR",
                   help="write predictions and results under DIR/<submission>/")
    p.add_argument("--strict", action="store_true",
                   help="treat a break of the runner's submission rules (files, names, "
                   "sizes, binaries, links) as an error: exit 1 and score nothing "
                   "(default: print a warning and score)")
    p.add_argument("--watch", action="store_true",
                   help="keep running and score again each time a file of the submission "
                   "is saved, printing the new scores beside the previous ones (Ctrl-C "
                   "stops)")
    return p


def run(args) -> int:
    if args.jobs is None:  # a rescore while watching is waited for: use the cores
        args.jobs = (os.cpu_count() or 1) if args.watch else 1
    if args.jobs < 1:
        raise GitrampError(f"--jobs must be at least 1, found {args.jobs}")
    if args.backend == "local":
        from scorer.backends.local import warm_up

        warm_up()  # its imports overlap the kit and data loading below
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from challenge.kit import load_kit
    from challenge.sealing import is_sealed
    from gitramp.options import backend_options
    from gitramp.report import print_result, status_table
    from scorer.backends import get_backend
    from scorer.data import load_data
    from scorer.scoring import score_submission

    console = Console() if sys.stdout.isatty() else Console(width=120)
    kit = load_kit(args.kit)
    names = kit.submission_names() if args.submission == ALL else [args.submission]
    if not names or not kit.submission_dir(names[0]).is_dir():
        available = ", ".join(kit.submission_names()) or "none"
        raise GitrampError(f"{kit.path / 'submissions' / names[0] if names else kit.path}: no "
                           f"such submission; available: {available} (or {ALL})")
    sealed = [n for n in names if is_sealed([p.name for p in kit.submission_dir(n).iterdir()])]
    for name in sealed:  # e.g. the public-run job of a pull request in a sealed phase
        console.print(f"{name}: sealed (its code travels encrypted and runs on the runner "
                      "only); test the plain files in your clone with `gitramp test` before "
                      "`gitramp submit`")
    names = [n for n in names if n not in sealed]
    if not names:
        return 0
    if not check_rules(console, kit, names, strict=args.strict):
        return 1
    # --engine wins over $GITRAMP_ENGINE and the runner file's; local processes have none
    backend = get_backend(args.backend, **backend_options(args))
    if args.backend == "local":
        from scorer.backends.local import preimport

        preimport([kit.submission_dir(n) for n in names])  # overlaps the data loading
    dataset = load_data(kit, args.data, quick=args.quick_test)
    console.print(f"[bold]{kit.title}[/] ({kit.workflow}, {len(names)} submission"
                  f"{'s' if len(names) > 1 else ''}, data: {dataset.source})")
    results = []

    def score(name: str):
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                      transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task(f"{name}: folds", total=None)

            def fold_done(_i, task=task, bar=bar):
                bar.advance(task)

            return score_submission(kit, kit.submission_dir(name), backend=backend,
                                    quick=args.quick_test, jobs=args.jobs,
                                    progress=fold_done, name=name, dataset=dataset,
                                    local=True)

    for name in names:
        scored = score(name)
        print_result(console, scored.result)
        if args.save_output:
            save_output(args.save_output / name, scored)
        results.append(scored.result)
    if len(results) > 1:
        console.print(status_table(results))
    if args.watch:
        return watch(console, kit, names, score, results, strict=args.strict)
    failed = [r for r in results if r.status != "scored"]
    return 1 if failed else 0


def comparison_table(before, now):
    """The new bagged scores beside those of the previous scored run, and the change
    (marked better or worse by each score's direction)."""
    from rich.table import Table

    from gitramp.report import fmt

    t = Table(title=f"{now.submission}: bagged scores, previous run and this one",
              title_justify="left")
    for col in ("", "score", "previous", "now", "change"):
        t.add_column(col, justify="left" if col in ("", "score") else "right")
    for split in ("valid", "test"):
        for name in now.score_names:
            new = now.bagged.get(split, {}).get(name)
            old = before.bagged.get(split, {}).get(name) if before is not None else None
            prec = now.precision.get(name, 3)
            change = ""
            if new is not None and old is not None:
                delta = new - old
                better = delta < 0 if now.lower_is_better.get(name) else delta > 0
                style = "" if round(delta, prec) == 0 else "green" if better else "red"
                change = f"{delta:+.{prec}f}"
                change = f"[{style}]{change}[/]" if style else change
            t.add_row(f"bagged {split}", name, fmt(old, prec), fmt(new, prec), change)
    return t


@contextlib.contextmanager
def _interrupt_after():
    """Hold a Ctrl-C back until the block is done, then raise it."""
    pressed = []
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """{file: (modification time, size)} of a submission folder; caches and an editor's
    temporary files (hidden, or ending in ~, .swp, .tmp) left out."""
    out = {}
    for f in folder.rglob("*"):
        rel = f.relative_to(folder)
        if "__pycache__" in rel.parts or any(part.startswith(".") for part in rel.parts) \
                or f.name.endswith(("~", ".swp", ".tmp", ".pyc")):
            continue
        try:
            st = f.stat()
        except OSError:  # removed meanwhile
            continue
        if f.is_file():
            out[str(rel)] = (st.st_mtime_ns, st.st_size)
    return out


def changed_files(before: dict, after: dict) -> list[str]:
    return sorted(f for f in before.keys() | after.keys() if before.get(f) != after.get(f))


def watch(console, kit, names: list[str], score, results, *, strict: bool) -> int:
    """Score each submission again whenever one of its files changes, until Ctrl-C;
    exit 0 when the last run of every submission was scored, else 1."""
    from gitramp.report import print_result

    folders = {n: kit.submission_dir(n) for n in names}
    seen = {n: snapshot(d) for n, d in folders.items()}
    last = {r.submission: r for r in results}  # the last run of each
    best = {r.submission: r for r in results if r.status == "scored"}  # compared against
    # Ctrl-C stops it, even when started where SIGINT is ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    console.print(f"watching {', '.join(str(d) for d in folders.values())} for saved files "
                  "(Ctrl-C stops)", soft_wrap=True)
    sys.stdout.flush()
    try:
        while True:
            time.sleep(POLL)
            for name, folder in folders.items():
                now = snapshot(folder)
                if now == seen[name]:
                    continue
                time.sleep(SETTLE)
                now = snapshot(folder)
                files, seen[name] = changed_files(seen[name], now), now
                start = time.perf_counter()
                if not check_rules(console, kit, [name], strict=strict):
                    sys.stdout.flush()
                    continue
                result = score(name).result
                took = time.perf_counter() - start
                with _interrupt_after():  # a report is printed whole, or not at all
                    last[name], previous = result, best.get(name)
                    if result.status == "scored":
                        best[name] = result
                    console.print(f"[bold]{name}[/]: {', '.join(files)} saved; scored again "
                                  f"in {took:.2f} s", soft_wrap=True)
                    if result.status == "scored":
                        console.print(comparison_table(previous, result))
                    else:
                        print_result(console, result)
                    sys.stdout.flush()
    except KeyboardInterrupt:
        console.print("stopped watching")
    return 0 if all(r.status == "scored" for r in last.values()) else 1


def check_rules(console, kit, names: list[str], *, strict: bool) -> bool:
    """The rules a runner applies to a submission's committed folder (files, names,
    sizes, binaries, links), on each folder as it is on disk, before any scoring.
    Breaks are printed as warnings; with `strict`, as errors, and False is returned."""
    from rich.markup import escape

    from challenge.validate import check_local_folder

    broken = False
    label = "error" if strict else "warning"
    for name in names:
        for reason in check_local_folder(kit, kit.submission_dir(name)):
            broken = True
            console.print(f"[bold {'red' if strict else 'yellow'}]{label}:[/] {escape(name)}: "
                          f"{escape(str(reason))}", soft_wrap=True)
    if broken:
        console.print("A runner would reject " + ("these submissions" if len(names) > 1 else
                                                  "this submission")
                      + " before scoring it; fix the above before you submit."
                      + (" Nothing was scored (--strict)." if strict else ""), soft_wrap=True)
    return not (broken and strict)


def save_output(folder: Path, scored) -> None:
    import numpy as np

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "result.yml").write_text(scored.result.to_yaml())
    for i, p in enumerate(scored.predictions):
        fold = folder / f"fold_{i}"
        os.makedirs(fold)
        np.save(fold / "valid_idx.npy", p.valid_idx)
        np.save(fold / "y_pred_valid.npy", p.valid_pred)
        np.save(fold / "y_pred_test.npy", p.test_pred)
