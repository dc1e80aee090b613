"""`leaderboard.json` and `leaderboard.csv` of a challenge: the boards as data.

They are made from the same rows as the pages, so they hold exactly what the pages
show: private scores only after reveal, never code.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from site_generator.boards import Row
from site_generator.model import Challenge, Entry


def _row(row: Row, page: str) -> dict[str, Any]:
    e, r = row.entry, row.entry.result
    out: dict[str, Any] = {
        "rank": row.rank, "team": e.team, "submission": e.name, "version": e.stem,
        "scores": {n: {"bagged": c.bagged, "mean": c.mean, "std": c.std}
                   for n, c in row.cells.items()},
        "train_time": r.fit_time, "test_time": r.predict_time,
        "submitted_at": e.submitted_at or None, "commit": r.commit, "page": page,
    }
    if row.public_rank is not None:
        out["public_rank"] = row.public_rank
        out["rank_change"] = row.change
    if r.contributivity:
        out["contributivity"] = dict(r.contributivity)
    if r.lineage.get("parent"):
        out["parent"] = r.lineage["parent"]
        out["inherited_share"] = r.lineage.get("inherited_share")
    return out


def leaderboard_json(ch: Challenge, public: list[Row], best: list[Row],
                     private: list[Row] | None, private_best: list[Row] | None,
                     failed: list[Entry], page, parts: dict[str, list[str]] | None = None,
                     kept=None) -> str:
    """The boards as data. With `parts` ({list: [files]}), the long lists (submissions,
    failed, private) are in those files instead, and named here. `kept`
    (render.KeptTexts): where a row's text without its ranks is kept between builds."""
    lists: dict[str, list[Row]] = {}

    def rows(name: str, items: list[Row]) -> str:
        # a placeholder, replaced by the rows' texts once the rest is written
        lists[name] = items
        return f"\0gitramp-rows-{name}\0"

    data: dict[str, Any] = {
        "challenge": ch.name, "title": ch.title,
        "scores": [{"name": c.name, "lower_is_better": c.lower_is_better,
                    "precision": c.precision} for c in ch.scores],
        "ranking": {"score": ch.scores[0].name if ch.scores else None,
                    "public_split": "valid", "value": "bagged",
                    "ties": "earlier submission first"},
        "state": {"code_visible": ch.state.code_visible, "revealed": ch.state.revealed,
                  "opened_at": ch.state.opened_at, "revealed_at": ch.state.revealed_at},
        "teams": rows("teams", best),
        "submissions": [] if parts else rows("submissions", public),
        "failed": [] if parts else [_failed(e, page) for e in failed],
    }
    if private is not None:
        data["private"] = {"teams": rows("private-teams", private_best or []),
                           "submissions": [] if parts else rows("private", private)}
    if parts:
        data["parts"] = parts
        data["note"] = ("the lists of submissions are split in the files named in "
                        "`parts`, in rank order")
    # compact: the C encoder, several times faster than an indented dump on big boards
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, default=str) + "\n"
    for name, items in lists.items():
        whole = _texts(kept, "jsonw", items)
        text = text.replace(_dumps(f"\0gitramp-rows-{name}\0"),
                            "[" + ",".join(_row_text(r, page, whole) for r in items) + "]", 1)
    return text


def _texts(kept, kind: str, rows: list):
    """Where the texts of `rows` (a list of one board: one split and columns) are kept
    (render.KindTexts), or None."""
    if kept is None or not rows:
        return None
    return kept.kind(f"{kind}-{rows[0].split}",
                     context=",".join(c.name for c in rows[0].columns))


def _row_text(row: Row, page, kept) -> str:
    """`_row` as compact JSON; its text without the ranks kept between builds (`kept`:
    render.KindTexts)."""
    e = row.entry
    key = e.key_line
    body = kept.get(key) if kept is not None else None
    if body is None:
        d = _row(row, page(e))
        for k in ("rank", "public_rank", "rank_change"):
            d.pop(k, None)
        keys = list(d)
        cut = keys.index("page") + 1  # the ranks of a private row come after its page
        head = _dumps({k: d[k] for k in keys[:cut]})[1:-1]
        tail = _dumps({k: d[k] for k in keys[cut:]})[1:-1]
        body = head + "\0" + ("," + tail if tail else "")
        if kept is not None:
            kept.put(key, body)
    head, tail = body.split("\0")
    ranks = ""
    if row.public_rank is not None:
        ranks = f',"public_rank":{_dumps(row.public_rank)},"rank_change":{_dumps(row.change)}'
    return f'{{"rank":{_dumps(row.rank)},{head}{ranks}{tail}}}'


def leaderboard_part(ch: Challenge, name: str, items: list, page, kept=None) -> str:
    """One part of a long list of leaderboard.json: `submissions`, `private` (rows) or
    `failed` (entries). `kept` (render.KeptTexts): where a row's text without its ranks
    is kept between builds, so a rebuild writes the moved rows without making them."""
    if name == "failed":
        rows = [_failed(e, page) for e in items]
        return json.dumps({"challenge": ch.name, "list": name, "rows": rows},
                          separators=(",", ":"), allow_nan=False, default=str) + "\n"
    texts = []
    kept = _texts(kept, "json", items)
    held = _lookup(kept)
    for r in items:
        e = r.entry
        key = e.key_line
        body = held(key)
        if body is None:
            d = _row(r, page(e))
            for k in ("rank", "public_rank", "rank_change"):
                d.pop(k, None)
            body = _dumps(d)[1:-1]
            if kept is not None:
                kept.put(key, body)
        ranks = f'"rank":{r.rank},'
        if r.public_rank is not None:
            ranks += f'"public_rank":{r.public_rank},"rank_change":{r.change},'
        texts.append("{" + ranks + body + "}")
    return ('{"challenge":' + _dumps(ch.name) + ',"list":' + _dumps(name) + ',"rows":['
            + ",".join(texts) + "]}\n")


def _lookup(texts):
    """The lookup of kept texts (render.KindTexts) or, with none, one finding none."""
    return texts.lookup() if texts is not None else {}.get


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False, default=str)


def _failed(e: Entry, page) -> dict[str, Any]:
    return {"team": e.team, "submission": e.name, "version": e.stem,
            "status": e.status, "stage": e.stage,
            "reason": e.reason, "submitted_at": e.submitted_at or None,
            "page": page(e)}


def leaderboard_csv(ch: Challenge, public: list[Row], private: list[Row] | None,
                    kept=None, private_rows: dict | None = None) -> str:
    """One line per scored submission, public rank order; private columns after reveal.

    `kept` (render.KeptTexts): where a line's text without its ranks is kept between
    builds, so a rebuild after one new result writes the moved lines without reading
    their records' scores again. `private_rows`: {id(entry): private row}, when the
    caller has it already (a big board is written in parts, each reading it)."""
    names = [c.name for c in ch.scores]
    header = ["rank", "team", "submission", "version", "submitted_at"]
    for n in names:
        header += [f"{n}_bagged", f"{n}_mean", f"{n}_std"]
    header += ["train_time", "test_time", "parent", "inherited_share"]
    by_key = {}
    if private is not None:
        header += ["private_rank"] + [f"{n}_private_bagged" for n in names]
        by_key = private_rows if private_rows is not None else {
            id(r.entry): r for r in private}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    out = [buf.getvalue()]
    columns = ",".join(names)
    lines, tails = ((kept.kind("csv", context=columns), kept.kind("csvp", context=columns))
                    if kept is not None else (None, None))
    held_line, held_tail = _lookup(lines), _lookup(tails)

    def text(fields: list) -> str:
        # a row written alone, without its line end; a leading field keeps a single
        # empty field from being written as ""
        buf.seek(0)
        buf.truncate()
        w.writerow(["x", *fields])
        return buf.getvalue()[2:-1]

    for row in public:
        e = row.entry
        key = e.key_line
        body = held_line(key)
        if body is None:
            line: list[Any] = [e.team, e.name, e.stem, e.submitted_at]
            for n in names:
                c = row.cells[n]
                line += [_f(c.bagged), _f(c.mean), _f(c.std)]
            line += [_f(e.result.fit_time), _f(e.result.predict_time),
                     e.result.lineage.get("parent") or "",
                     _f(e.result.lineage.get("inherited_share"))]
            body = text(line)
            if lines is not None:
                lines.put(key, body)
        if private is None:
            out.append(f"{row.rank},{body}\n")
            continue
        p = by_key.get(id(e))
        if p is None:
            out.append(f"{row.rank},{body},{',' * len(names)}\n")
            continue
        tail = held_tail(key)
        if tail is None:
            tail = text([_f(p.cells[n].bagged) for n in names])
            if tails is not None:
                tails.put(key, tail)
        out.append(f"{row.rank},{body},{p.rank},{tail}\n" if names else
                   f"{row.rank},{body},{p.rank}\n")
    return "".join(out)


def _f(v: float | None) -> str:
    return "" if v is None else repr(float(v))
