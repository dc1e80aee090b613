"""Helpers shared by the site tests: what the output folder must not contain, and links."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

from synthetic import SyntheticChallenge


def output_texts(site: Path) -> dict[str, str]:
    """Every file of the site as searchable text: raw, and for HTML also with tags removed
    and entities decoded (highlighted code is split across tags)."""
    out = {}
    for f in sorted(site.rglob("*")):
        if not f.is_file():
            continue
        raw = f.read_bytes().decode("utf-8", errors="replace")
        text = raw
        if f.suffix in (".html", ".svg"):
            text += "\n" + html.unescape(re.sub(r"<[^>]+>", "", raw))
        out[f.relative_to(site).as_posix()] = text
    return out


def source_lines(ch: SyntheticChallenge, public: tuple[SyntheticChallenge, ...] = ()) -> set[str]:
    """The lines of every submission version, less those also in code that is shown
    (`def fit(self, X, y):` is in every gallery and tells nothing)."""
    def lines_of(c: SyntheticChallenge) -> set[str]:
        return {ln.strip() for v in c.versions for text in v.sources.values()
                for ln in text.splitlines() if len(ln.strip()) >= 10}

    shown = set().union(*(lines_of(c) for c in public)) if public else set()
    return lines_of(ch) - shown


def private_strings(ch: SyntheticChallenge) -> set[str]:
    """Each private score as the site would print it (fixed precision) or store it (repr)."""
    return {s for v in ch.private_scores() for s in (f"{v:.{ch.precision}f}", repr(float(v)))}


_NUMBER = re.compile(r"(?<![\d.])\d+\.\d+(?:e-?\d+)?")


def numbers_in(text: str) -> set[str]:
    """Whole numbers as written: 0.8123 is found in "0.8123 " but not in "0.81234"."""
    return set(_NUMBER.findall(text))


def leaks(site: Path, ch: SyntheticChallenge, public: tuple[SyntheticChallenge, ...] = ()
          ) -> tuple[list[str], list[str]]:
    """(source lines found, private scores found) anywhere under `site`; `public` are
    challenges whose code is shown, so lines they share with `ch` prove nothing."""
    texts = output_texts(site)
    lines = source_lines(ch, public)
    assert len(lines) >= 2 * len(ch.versions), "too few distinctive lines to search for"
    found_lines = sorted({f"{ln!r} in {name}" for name, t in texts.items()
                          for ln in lines if ln in t})
    secret = private_strings(ch)
    found_scores = sorted({f"{s} in {name}" for name, t in texts.items()
                           for s in numbers_in(t) & secret})
    return found_lines, found_scores


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append((f"{tag}[{name}]", value))


def links_of(page: Path) -> list[tuple[str, str]]:
    p = _Links()
    p.feed(page.read_text(encoding="utf-8"))
    return p.links
