"""The pull-request comment: a pure function of a result's PUBLIC part and its context.

It shows the status, the public scores (ranking score first, each with its precision),
the rank on the public leaderboard (given by the caller, from `challenge.ranking.rank_of`:
the site's rule), times, the one-line reason of a failure, the quota left and a link to
the submission's page. The first thing `render` does is to project the result onto
`Result.public_dict()`: a private (test) score, or the log of a run on hidden data,
cannot reach a comment, whatever the caller passes.

Every text that is not gitramp's own (the reason quotes the submission's message and
file names; names, runner, phase and stage come from records) goes through `inline`:
cleaned and bounded to one line (`scorer.untrusted.clean_text`), then made inert in
Markdown: HTML and Markdown punctuation escaped, mentions, references and autolinks
broken. It renders as the text it is: never a heading, table, link, image or mention.
"""

from __future__ import annotations

import math
import re

from challenge.forge.base import COMMENT_MARKER
from scorer.result import SCORED, STATUSES, Result
from scorer.untrusted import NAME_CHARS, REASON_CHARS, clean_identifier, clean_text

ICONS = {SCORED: "✅", "rejected": "🚫", "timeout": "⏱️", "oom": "💥"}
LOG_HINT = ("The log of a run on the hidden data stays with the organizers. Run "
            "`gitramp test` on your submission (or open this pull request's public run) "
            "for its whole log and traceback.")


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
    status = r.status if r.status in STATUSES else "error"
    icon = ICONS.get(status, "❌")
    lines = [COMMENT_MARKER,
             f"### {icon} gitramp: {inline(f'{r.challenge}/{r.submission}')} — **{status}**",
             ""]
    if status == SCORED:
        lines += _scores(r)
        if rank is not None:
            lines += ["", f"Rank **{int(rank[0])}** of {int(rank[1])} on the public "
                      "leaderboard (bagged validation score)."]
        if r.folds:
            lines += ["", f"Times over {len(r.folds)} folds: fit {seconds(r.fit_time)}, "
                      f"predict {seconds(r.predict_time)}."]
        lines += ["", "Test scores stay private until the organizers reveal them."]
    else:
        lines += _failure(r)
    if quota_left:
        lines += ["", f"Quota: {inline(quota_left)}."]
    if url:
        lines += ["", f"[Submission page]({url})"]
    meta = [f"commit {inline(r.commit[:10])}" if r.commit else None,
            f"tree {inline(r.tree[:10])}" if r.tree else None,
            f"phase {inline(r.phase)}" if r.phase else None,
            f"runner {inline(r.runner)}" if r.runner else None,
            f"image {inline(r.image[:19])}" if r.image else None,
            f"scored {inline(r.scored_at)}" if r.scored_at else None]
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
        p = p if isinstance(p, int) and 0 <= p <= 12 else 3
        arrow = "↓" if r.lower_is_better.get(name) else "↑"
        shown = inline(name, NAME_CHARS)
        label = f"**{shown}** {arrow} (ranks)" if i == 0 else f"{shown} {arrow}"
        mean = fmt(valid_mean.get(name), p)
        std = fmt(valid_std.get(name), p)
        out.append(f"| {label} | {fmt(r.bagged.get('valid', {}).get(name), p)} | "
                   f"{mean} ± {std} | {fmt(train_mean.get(name), p)} |")
    return out


def _failure(r: Result) -> list[str]:
    out = [f"- **Why:** {inline(r.reason or 'no reason was recorded; ask the organizers')}"]
    stage = clean_identifier(r.stage)
    if stage:
        out.append(f"- **Stage:** {stage}")
    out += ["", LOG_HINT]
    return out


# Markdown and HTML that could turn text into markup: escaped with a backslash (ASCII
# punctuation) or as an HTML entity. Brackets make links and images, backticks code,
# | tables, # headings and references, * and ~ emphasis; _ only outside a word (inside
# one, as in a_name, it is no emphasis); the backslash itself, so that text cannot
# undo an escape.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_MARKDOWN = re.compile(r"([\\`*\[\]#|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_AUTOLINK = re.compile(r"(?i)(://|www\.)")


def inline(text: object, limit: int = REASON_CHARS) -> str:
    """Text from elsewhere as inert Markdown on one line: cleaned and bounded, HTML and
    Markdown punctuation escaped, @mentions, #references and autolinks broken (a
    zero-width space after @ and inside :// and www.)."""
    out = clean_text(text, limit)
    out = "".join(_ENTITIES.get(ch, ch) for ch in out)
    out = _MARKDOWN.sub(r"\\\1", out)
    out = _AUTOLINK.sub(lambda m: m.group(1)[0] + "\u200b" + m.group(1)[1:], out)
    return out.replace("@", "@\u200b")

