"""Terminal rendering of results (rich tables). Presentation only: no scoring here."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from scorer.result import SCORED, SPLITS, Result


def fmt(value: float | None, precision: int) -> str:
    return "-" if value is None else f"{value:.{precision}f}"


def fold_table(r: Result) -> Table:
    t = Table(title=f"{r.submission}: scores per fold", title_justify="left")
    t.add_column("fold", justify="right")
    t.add_column("split")
    for name in r.score_names:
        t.add_column(f"{name} {'↓' if r.lower_is_better.get(name) else '↑'}", justify="right")
    t.add_column("fit s", justify="right")
    t.add_column("predict s", justify="right")
    for i, fold in enumerate(r.folds):
        splits = [s for s in SPLITS if s in fold.scores]
        for j, split in enumerate(splits):
            first = j == 0
            t.add_row(str(i) if first else "", split,
                      *[fmt(fold.scores[split].get(n), r.precision.get(n, 3))
                        for n in r.score_names],
                      f"{fold.fit_time:.2f}" if first else "",
                      f"{fold.predict_time:.2f}" if first else "",
                      end_section=j == len(splits) - 1)
    return t


def summary_table(r: Result) -> Table:
    t = Table(title=f"{r.submission}: summary", title_justify="left")
    t.add_column("")
    for name in r.score_names:
        t.add_column(name, justify="right")
    for split in SPLITS:
        mean, std = r.mean(split), r.std(split)
        if mean:
            t.add_row(f"{split} (mean ± std)", *[
                f"{fmt(mean[n], r.precision[n])} ± {fmt(std[n], r.precision[n])}"
                for n in r.score_names])
    for split, scores in r.bagged.items():
        t.add_row(f"bagged {split}", *[fmt(scores[n], r.precision[n]) for n in r.score_names],
                  style="bold")
    return t


def print_result(console: Console, r: Result) -> None:
    if r.status == SCORED:
        console.print(fold_table(r))
        console.print(summary_table(r))
        console.print(f"times: fit {r.fit_time:.2f} s, predict {r.predict_time:.2f} s "
                      f"over {len(r.folds)} folds\n")
        return
    console.print(f"[bold red]{r.submission}: {r.status}[/]"
                  + (f" (stage: {r.stage})" if r.stage else ""))
    console.print(r.reason or "", markup=False)
    if r.log_tail:
        console.print("--- log and traceback ---", style="dim")
        console.print(r.log_tail, markup=False, highlight=False)
    console.print()


def status_table(results: list[Result]) -> Table:
    t = Table(title="submissions", title_justify="left")
    t.add_column("submission")
    t.add_column("status")
    if results:
        first = results[0]
        for name in first.score_names:
            t.add_column(f"bagged valid {name}", justify="right")
    for r in results:
        scores = r.bagged.get("valid", {})
        t.add_row(r.submission, r.status if r.status == SCORED else f"[red]{r.status}[/]",
                  *[fmt(scores.get(n), r.precision.get(n, 3)) for n in r.score_names])
    return t
