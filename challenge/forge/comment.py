"""The pull-request comment: a pure function of a result's PUBLIC part and its context.

It shows the status, the public scores (ranking score first, each with its precision),
the rank on the public leaderboard (given by the caller, from `challenge.ranking.rank_of`:
the site's rule), times, the reason and log tail of a failure, the
quota left and a link to the submission's page. The first thing `render` does is to
project the result onto `Result.public_dict()`: a private (test) score cannot reach a
comment, whatever the caller passes.
"""

from __future__ import annotations

import math
import re

from challenge.forge.base import COMMENT_MARKER
from scorer.result import SCORED, Result

ICONS = {SCORED: "✅", "rejected": "🚫", "timeout": "⏱️", "oom": "💥"}
LOG_LINES = 40
LOG_CHARS = 4000


def public_only(result: Result) -> Result:
    return Result.from_dict(result.public_dict())


def fmt(value: float | None, precision: int) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return f"{value:.{precision}f}"


def seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def render(result: Result, *, rank: tuple[int, int] | None = None,
           quota_left: str | None = None, url: str | None = None) -> str:
    """Markdown of gitramp's comment; `quota_left` is a phrase such as
    "2 submissions left today (closed phase)"."""
    r = public_only(result)
    icon = ICONS.get(r.status, "❌")
    lines = [COMMENT_MARKER,
             f"### {icon} gitramp: `{r.challenge}/{r.submission}` — **{r.status}**", ""]
    if r.status == SCORED:
        lines += _scores(r)
        if rank is not None:
            lines += ["", f"Rank **{rank[0]}** of {rank[1]} on the public leaderboard "
                      "(bagged validation score)."]
        if r.folds:
            lines += ["", f"Times over {len(r.folds)} folds: fit {seconds(r.fit_time)}, "
                      f"predict {seconds(r.predict_time)}."]
        lines += ["", "Test scores stay private until the organizers reveal them."]
    else:
        lines += _failure(r)
    if quota_left:
        lines += ["", f"Quota: {_escape(quota_left)}."]
    if url:
        lines += ["", f"[Submission page]({url})"]
    meta = [f"commit `{r.commit[:10]}`" if r.commit else None,
            f"tree `{r.tree[:10]}`" if r.tree else None,
            f"phase {r.phase}" if r.phase else None,
            f"runner {_escape(r.runner)}" if r.runner else None,
            f"image `{r.image[:19]}`" if r.image else None,
            f"scored {r.scored_at}" if r.scored_at else None]
    meta = [m for m in meta if m]
    if meta:
        lines += ["", "<sub>" + " · ".join(meta) + "</sub>"]
    return "\n".join(lines) + "\n"


def _scores(r: Result) -> list[str]:
    names = list(r.score_names)
    valid_mean, valid_std = r.mean("valid"), r.std("valid")
    train_mean = r.mean("train")
    out = ["| score | valid (bagged) | valid (mean ± std) | train (mean) |",
           "|---|---:|---:|---:|"]
    for i, name in enumerate(names):
        p = r.precision.get(name, 3)
        arrow = "↓" if r.lower_is_better.get(name) else "↑"
        label = f"**{name}** {arrow} (ranks)" if i == 0 else f"{name} {arrow}"
        mean = fmt(valid_mean.get(name), p)
        std = fmt(valid_std.get(name), p)
        out.append(f"| {label} | {fmt(r.bagged.get('valid', {}).get(name), p)} | "
                   f"{mean} ± {std} | {fmt(train_mean.get(name), p)} |")
    return out


def _failure(r: Result) -> list[str]:
    out = [f"- **Why:** {_escape(r.reason or 'no reason was recorded; ask the organizers')}"]
    if r.stage:
        out.append(f"- **Stage:** {_escape(r.stage)}")
    tail = _tail(r.log_tail)
    if tail:
        fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", tail)), default=0))
        out += ["", "<details><summary>Log tail</summary>", "", f"{fence}text", tail, fence,
                "", "</details>"]
    return out


def _tail(log: str) -> str:
    lines = (log or "").rstrip().splitlines()[-LOG_LINES:]
    text = "\n".join(lines)
    return text[-LOG_CHARS:]


def _escape(text: str) -> str:
    """Text from a submission (a reason quoting file names): no HTML, no mentions."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("@", "@\u200b"))
