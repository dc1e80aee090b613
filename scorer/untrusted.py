"""Text that came from a submission, made safe to keep and to show.

Everything a submission controls (its messages, its logs, the names of its files) is
hostile: it may hold lone surrogates that no UTF-8 encoder or YAML loader accepts,
terminal escapes, bidirectional overrides, zero-width characters, megabytes of noise.
`clean_text` is the one function every such string goes through before it is
recorded, commented or rendered: it returns valid, printable text of bounded length.
Rendering it inert (Markdown code spans, HTML escaping) is the renderer's job; this
module only guarantees that what reaches a renderer is well-formed and short.

The bounds below are the most a submission can send back through each channel; see
docs/security.md for the channels themselves.
"""

from __future__ import annotations

import re
import unicodedata

# Bounds, in characters.
MESSAGE_CHARS = 240  # the submission's own error message, as quoted in a reason
FILE_CHARS = 100  # a file name quoted in a reason
REASON_CHARS = 1000  # a whole one-line reason (mostly gitramp's own words)
NAME_CHARS = 100  # names that reach a record (submission, team, runner)
LOG_CHARS = 4000  # a log tail (kept in the private record only, see scorer.result)
LINE_CHARS = REASON_CHARS + 3 * NAME_CHARS  # a printed line: names, then a reason
TRACEBACK_CHARS = 8000  # a traceback, for the participant's own `gitramp test`

REPLACEMENT = "\ufffd"
NEWLINE_MARK = " \u23ce "  # how a line break shows in one-line text: " ⏎ "
ELLIPSIS = "\u2026"

# Line breaks of every kind: text keeps "\n" only, one-line text shows NEWLINE_MARK.
_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_ASCII_BAD = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# Stage and rule names: a short identifier, nothing else.
_IDENT = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _printable(ch: str) -> str:
    """`ch` if it is safe to keep and to show, else the replacement character.

    Dropped: control characters (C0, DEL, C1), lone surrogates, format characters
    (bidirectional overrides, zero-width joiners and spaces, soft hyphens: they make
    text read other than it is), and the non-characters U+FFFE and U+FFFF."""
    if ch < "\x80":
        return REPLACEMENT if _ASCII_BAD.match(ch) else ch
    if ch in ("\ufffe", "\uffff"):
        return REPLACEMENT
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs", "Cf"):
        return REPLACEMENT
    return ch


def clean_text(value: object, limit: int, *, lines: bool = False, tail: bool = False) -> str:
    """`value` as printable text of at most `limit` characters.

    A non-string is turned to text (bytes decoded as UTF-8 with replacement; None is
    ""). With `lines`, line breaks are kept (as "\\n") and tabs too; without, the text
    is one line: every line break shows as " ⏎ " and a tab as a space. Text over the
    limit is cut, marked with "…": its start is kept, or with `tail` its end (logs).
    """
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        text = str(value)
    # Bound the work before it is done: a character never becomes more than the
    # newline mark, so this much input is enough to fill `limit`.
    window = max(limit, 0) * 2 + 16
    if len(text) > window:
        text = text[-window:] if tail else text[:window]
    text = _BREAKS.sub("\n", text)
    if text.isascii():  # the common case, without a call per character
        text = _ASCII_BAD.sub(REPLACEMENT, text)
    else:
        text = "".join(map(_printable, text))
    if lines:
        text = "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
    else:
        parts = (part.replace("\t", " ").strip() for part in text.split("\n"))
        text = NEWLINE_MARK.join(part for part in parts if part)
    if len(text) > limit:
        if limit <= 0:
            return ""
        text = (ELLIPSIS + text[-(limit - 1):]) if tail else (text[:limit - 1] + ELLIPSIS)
    return text


def clean_identifier(value: object, allowed: tuple[str, ...] | frozenset[str] | None = None
                     ) -> str | None:
    """`value` if it is a short lower-case identifier (and, when `allowed` is given, one
    of those), else None: for stage and rule names, which only gitramp chooses."""
    if not isinstance(value, str) or not _IDENT.fullmatch(value):
        return None
    if allowed is not None and value not in allowed:
        return None
    return value


def clean_int(value: object, low: int = 0, high: int = 10**9) -> int | None:
    """`value` if it is an int (not a bool) within [low, high], else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value
