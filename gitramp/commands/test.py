"""`gitramp test`: train and score submissions on a kit, as a runner would, locally."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from challenge.errors import GitrampError
from scorer.backends import NAMES as BACKENDS

ALL = "ALL"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("test", help="train and score submissions locally",
                       description="Train and score submissions on every CV fold of a kit "
                       "and print per-fold, mean ± std and bagged scores.")
    p.add_argument("--kit", default=".", type=Path, help="the kit folder (default: .)")
    p.add_argument("--submission", default="starting_kit",
                   help=f"a folder of submissions/, or {ALL} (default: starting_kit)")
    p.add_argument("--quick-test", action="store_true",
                   help="a small slice of the data and 2 folds, to check that it runs")
    p.add_argument("--jobs", "-j", type=int, default=1, help="folds run at once (default: 1)")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="where submission code runs: docker runs it as a runner would "
                   "(default: the runner file's backend, else local processes)")
    p.add_argument("--data", type=Path, default=None,
                   help="a data folder with the kit's layout (default: the kit's public data)")
    p.add_argument("--save-output", type=Path, default=None, metavar="DIR",
                   help="write predictions and results under DIR/<submission>/")
    p.add_argument("--strict", action="store_true",
                   help="treat a break of the runner's submission rules (files, names, "
                   "sizes, binaries, links) as an error: exit 1 and score nothing "
                   "(default: print a warning and score)")
    return p


def run(args) -> int:
    if args.jobs < 1:
        raise GitrampError(f"--jobs must be at least 1, found {args.jobs}")
    if args.backend == "local":
        from scorer.backends.local import warm_up

        warm_up()  # its imports overlap the kit and data loading below
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from challenge.kit import load_kit
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
    if not check_rules(console, kit, names, strict=args.strict):
        return 1
    backend = get_backend(args.backend)
    if args.backend == "local":
        from scorer.backends.local import preimport

        preimport([kit.submission_dir(n) for n in names])  # overlaps the data loading
    dataset = load_data(kit, args.data)
    console.print(f"[bold]{kit.title}[/] ({kit.workflow}, {len(names)} submission"
                  f"{'s' if len(names) > 1 else ''}, data: {dataset.source})")
    results = []
    for name in names:
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                      transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task(f"{name}: folds", total=None)

            def fold_done(_i, task=task, bar=bar):
                bar.advance(task)

            scored = score_submission(kit, kit.submission_dir(name), backend=backend,
                                      quick=args.quick_test, jobs=args.jobs,
                                      progress=fold_done, name=name, dataset=dataset,
                                      local=True)
        print_result(console, scored.result)
        if args.save_output:
            save_output(args.save_output / name, scored)
        results.append(scored.result)
    if len(results) > 1:
        console.print(status_table(results))
    failed = [r for r in results if r.status != "scored"]
    return 1 if failed else 0


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
