"""Plots as small hand-written SVG: no plotting library, no script, scalable, with a
<title> and <desc> for screen readers (pages also give each image alt text)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

# Okabe-Ito: told apart by colour-blind readers too.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#F0E442")
OVERALL = "#222222"
W, H = 720, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 170, 36, 48


@dataclass(frozen=True)
class Mark:
    """A labelled vertical line: a phase boundary."""

    at: str
    label: str


def _time(iso: str) -> float | None:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


def _fmt(v: float, precision: int) -> str:
    return f"{v:.{precision}f}"


def _svg(title: str, desc: str, body: list[str], width: int = W, height: int = H) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" '
            f'font-family="system-ui, sans-serif" font-size="12">'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
            f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
            + "".join(body) + "</svg>\n")


def _decimals(step: float) -> int:
    """Decimals enough to tell ticks `step` apart, and no more (axis labels are rounded)."""
    return max(0, -math.floor(math.log10(step)) + (1 if f"{step:.1e}"[2] != "0" else 0)) \
        if step > 0 else 0


def _nice_step(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `x`."""
    mag = 10 ** math.floor(math.log10(x))
    return min(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= x * (1 - 1e-12))


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = _nice_step((hi - lo) / n)
    start = math.ceil(lo / step) * step
    out, v = [], start
    while v <= hi + step * 1e-9:
        out.append(round(v, 12))
        v += step
    return out


def empty(title: str, message: str) -> str:
    return _svg(title, message, [f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle" '
                                 f'fill="#444">{escape(message)}</text>'], height=120)


def best_over_time(title: str, score: str, precision: int, lower_is_better: bool,
                   teams: dict[str, list[tuple[str, float]]],
                   overall: list[tuple[str, float]], marks: list[Mark],
                   max_teams: int = 8) -> str:
    """Step lines of each team's best so far and of the overall best."""
    points = [(t, v) for s in teams.values() for t, v in s] + overall
    times = [x for t, _ in points if (x := _time(t)) is not None]
    if not times:
        return empty(title, "no scored submission yet")
    mark_times = [x for m in marks if (x := _time(m.at)) is not None]
    t0, t1 = min(times), max(times)
    t0, t1 = min([t0, *[m for m in mark_times if t0 - 86400 * 7 < m < t1 + 86400 * 7]]), \
        max([t1, *[m for m in mark_times if t0 - 86400 * 7 < m < t1 + 86400 * 7]])
    if t1 <= t0:
        t1 = t0 + 3600
    values = [v for _, v in points]
    v0, v1 = min(values), max(values)
    pad = (v1 - v0) * 0.08 or abs(v0) * 0.05 or 0.05
    v0, v1 = v0 - pad, v1 + pad
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - t0) / (t1 - t0) * pw

    def y(v: float) -> float:
        return TOP + (v1 - v) / (v1 - v0) * ph

    body = _axes(v0, v1, y, precision, f"{score} ({'lower' if lower_is_better else 'higher'}"
                 " is better)")
    body += _time_axis(t0, t1, x)
    for m in marks:
        mt = _time(m.at)
        if mt is not None and t0 <= mt <= t1:
            body.append(f'<line x1="{x(mt):.1f}" x2="{x(mt):.1f}" y1="{TOP}" y2="{TOP + ph}" '
                        f'stroke="#888" stroke-dasharray="4 3"/>'
                        + (f'<text x="{x(mt) + 4:.1f}" y="{TOP + 12}" fill="#444">'
                           if x(mt) < LEFT + pw * 0.75 else
                           f'<text x="{x(mt) - 4:.1f}" y="{TOP + 12}" fill="#444" '
                           f'text-anchor="end">') + f"{escape(m.label)}</text>")
    end = t1
    ranked = sorted(teams.items(), key=lambda kv: kv[1][-1][1], reverse=not lower_is_better)
    shown = ranked[:max_teams]
    legend = []
    for i, (team, series) in enumerate(shown):
        colour = PALETTE[i % len(PALETTE)]
        body.append(_step(series, x, y, end, colour, 1.8, f"{team}: best {score} over time"))
        legend.append((team, colour, "solid"))
    body.append(_step(overall, x, y, end, OVERALL, 3.0, f"overall best {score} over time",
                      dash="6 3"))
    legend.append(("overall best", OVERALL, "dash"))
    if len(ranked) > max_teams:
        legend.append((f"+{len(ranked) - max_teams} more teams", "#666", "none"))
    for i, (label, colour, style) in enumerate(legend):
        ly = TOP + 8 + i * 18
        lx = W - RIGHT + 14
        if style != "none":
            dash = ' stroke-dasharray="6 3"' if style == "dash" else ""
            body.append(f'<line x1="{lx}" x2="{lx + 20}" y1="{ly}" y2="{ly}" stroke="{colour}" '
                        f'stroke-width="3"{dash}/>')
        body.append(f'<text x="{lx + 26}" y="{ly + 4}" fill="#222">{escape(label[:20])}</text>')
    desc = (f"Best {score} so far, per team and overall, against submission time. "
            f"Overall best: {_fmt(overall[-1][1], precision)}." if overall else "")
    return _svg(title, desc, body)


def _step(series, x, y, end: float, colour: str, width: float, label: str,
          dash: str | None = None) -> str:
    pts: list[tuple[float, float]] = []
    for t, v in series:
        tt = _time(t)
        if tt is None:
            continue
        if pts:
            pts.append((x(tt), pts[-1][1]))
        pts.append((x(tt), y(v)))
    if not pts:
        return ""
    pts.append((x(end), pts[-1][1]))
    d = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="{width}"'
            f'{extra}><title>{escape(label)}</title></polyline>')


def _axes(v0: float, v1: float, y, precision: int, label: str) -> list[str]:
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    out = [f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + ph}" stroke="#333"/>',
           f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{TOP + ph}" y2="{TOP + ph}" stroke="#333"/>',
           f'<text x="{LEFT}" y="{TOP - 14}" fill="#222">{escape(label)}</text>']
    ticks = _ticks(v0, v1)
    digits = min(precision, _decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else precision)
    for v in ticks:
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'stroke="#e4e4e4"/><text x="{LEFT - 6}" y="{y(v) + 4:.1f}" '
                   f'text-anchor="end" fill="#333">{_fmt(v, digits)}</text>')
    return out


def _time_axis(t0: float, t1: float, x) -> list[str]:
    out = []
    for i in range(5):
        t = t0 + (t1 - t0) * i / 4
        label = datetime.fromtimestamp(t, UTC).strftime("%b %d" if t1 - t0 > 86400 * 2 else "%H:%M")
        out.append(f'<text x="{x(t):.1f}" y="{H - BOTTOM + 18}" text-anchor="middle" '
                   f'fill="#333">{label}</text>')
    out.append(f'<text x="{LEFT + (W - LEFT - RIGHT) / 2}" y="{H - 8}" text-anchor="middle" '
               f'fill="#222">submission time (UTC)</text>')
    return out


def histogram(title: str, score: str, precision: int, values: list[float],
              bins: int = 20) -> str:
    """How the scored submissions' ranking values are spread."""
    if not values:
        return empty(title, "no scored submission yet")
    vmin, vmax = min(values), max(values)
    if vmax <= vmin:
        vmin, vmax = vmin - (abs(vmin) or 1) * 0.01, vmax + (abs(vmax) or 1) * 0.01
    # bins on round numbers, so edges read well and show no false precision
    width = _nice_step((vmax - vmin) / bins)
    lo = math.floor(vmin / width) * width
    bins = max(1, math.ceil((vmax - lo) / width + 1e-9))
    digits = min(precision, _decimals(width))
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    top = max(counts)
    pw, ph = W - LEFT - RIGHT + 100, H - TOP - BOTTOM
    w = LEFT + pw + 40
    body = [f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + ph}" stroke="#333"/>',
            f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{TOP + ph}" y2="{TOP + ph}" stroke="#333"/>',
            f'<text x="{LEFT}" y="{TOP - 14}" fill="#222">submissions</text>']
    for c in _ticks(0, top, min(top, 5)):
        if c != int(c):
            continue
        yy = TOP + ph - c / top * ph
        body.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#333">'
                    f"{int(c)}</text>")
    bw = pw / bins
    for i, c in enumerate(counts):
        if not c:
            continue
        bh = c / top * ph
        a, b = lo + i * width, lo + (i + 1) * width
        body.append(f'<rect x="{LEFT + i * bw + 1:.1f}" y="{TOP + ph - bh:.1f}" '
                    f'width="{bw - 2:.1f}" height="{bh:.1f}" fill="{PALETTE[0]}">'
                    f"<title>{c} submission(s) with {score} in [{_fmt(a, digits)}, "
                    f"{_fmt(b, digits)})</title></rect>")
    for i in range(0, bins + 1, max(1, bins // 4)):
        xx = LEFT + i * bw
        body.append(f'<text x="{xx:.1f}" y="{H - BOTTOM + 18}" text-anchor="middle" '
                    f'fill="#333">{_fmt(lo + i * width, digits)}</text>')
    body.append(f'<text x="{LEFT + pw / 2}" y="{H - 8}" text-anchor="middle" fill="#222">'
                f"{escape(score)}</text>")
    desc = (f"Histogram of {score} over {len(values)} scored submissions, from "
            f"{_fmt(min(values), precision)} to {_fmt(max(values), precision)}.")
    return _svg(title, desc, body, width=w)


@dataclass(frozen=True)
class Node:
    version: str  # its version label, <name>@<tree16>: what edges name
    name: str  # what the box shows
    team: str
    href: str | None
    time: str


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def lineage_graph(title: str, nodes: list[Node], edges: list[tuple[str, str]],
                  max_nodes: int = 300) -> str:
    """Parent -> child arrows, one column per generation, teams in colour; nodes link
    to the submission pages (this SVG is inlined so the links work)."""
    linked = {a for a, b in edges} | {b for a, b in edges}
    nodes = [n for n in nodes if n.version in linked]
    if not nodes:
        return empty(title, "no submission builds on another yet")
    nodes = sorted(nodes, key=lambda n: n.time)[-max_nodes:]
    index = {n.version: n for n in nodes}
    edges = [(a, b) for a, b in edges if a in index and b in index]
    parent = {b: a for a, b in edges}
    depth: dict[str, int] = {}

    def level(ref: str, seen: frozenset = frozenset()) -> int:
        if ref not in depth:
            p = parent.get(ref)
            depth[ref] = 0 if p is None or p in seen else level(p, seen | {ref}) + 1
        return depth[ref]

    columns: dict[int, list[Node]] = {}
    for n in nodes:
        columns.setdefault(level(n.version), []).append(n)
    teams = sorted({n.team for n in nodes})
    colour = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(teams)}
    # each column in the order of its parents' rows, so arrows cross as little as may be
    row_of: dict[str, int] = {}
    for d in sorted(columns):
        col = columns[d]
        if d:
            col.sort(key=lambda n: (row_of.get(parent.get(n.version, ""), 0), n.time))
        row_of.update((n.version, i) for i, n in enumerate(col))
    cw, rh, bw, bh = 222, 34, 200, 24
    rows = max(len(c) for c in columns.values())
    width, height = 20 + cw * len(columns), 40 + rh * rows + 18 * len(teams)
    pos = {n.version: (10 + d * cw, 30 + i * rh) for d, col in columns.items()
           for i, n in enumerate(col)}
    body = ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']
    for a, b in edges:
        (x1, y1), (x2, y2) = pos[a], pos[b]
        body.append(f'<line x1="{x1 + bw}" y1="{y1 + bh / 2}" x2="{x2}" y2="{y2 + bh / 2}" '
                    f'stroke="#555" marker-end="url(#arrow)"/>')
    for n in nodes:
        nx, ny = pos[n.version]
        box = (f'<rect x="{nx}" y="{ny}" width="{bw}" height="{bh}" rx="4" fill="#fff" '
               f'stroke="{colour[n.team]}" stroke-width="2.5"/>'
               f'<text x="{nx + 6}" y="{ny + 16}" fill="#111">{escape(_clip(n.name, 28))}</text>')
        tip = f"<title>{escape(n.name)} by {escape(n.team)}</title>"
        if n.href:
            body.append(f'<a href="{escape(n.href)}">{tip}{box}</a>')
        else:
            body.append(f"<g>{tip}{box}</g>")
    for i, t in enumerate(teams):
        ly = height - 18 * len(teams) + i * 18
        body.append(f'<rect x="10" y="{ly - 9}" width="14" height="10" fill="{colour[t]}"/>'
                    f'<text x="30" y="{ly}" fill="#222">{escape(t)}</text>')
    desc = (f"{len(nodes)} submissions, {len(edges)} parent-to-child links, "
            f"{len(teams)} teams; each box links to its submission.")
    return _svg(title, desc, body, width=width, height=height)
