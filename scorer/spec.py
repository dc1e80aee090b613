"""Plumbing for the pydantic models of `challenge.yml` (scorer/task.py, challenge/kit.py):
a base model, what each key expects, and one way to tell a participant what is wrong.

Every error reads `<file>: key '<path>': found <value>; expected <what>.`, where the
path is written as in the file (`scores[1].precision`, `limits.memory`). What a key
expects is declared next to the key, with `Expect("...")` in its annotation; a check
that spans keys raises `wrong(...)` naming the key it blames.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from scorer.errors import KitError

MAX_ERRORS = 10  # more than that is one mistake repeated, or the wrong file


class Expect:
    """Annotation metadata: what a key accepts, in the words of an error message."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"Expect({self.text!r})"


class SpecModel(BaseModel):
    """A mapping of challenge.yml: unknown keys are errors, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    expect: typing.ClassVar[str] = "a mapping"  # said when the value is not a mapping


_INPUT = object()


def wrong(expected: str, *, at: tuple[str | int, ...] = (), found: Any = _INPUT) -> Exception:
    """An error for a validator to raise: `at` is the key it blames, relative to the
    model (or field) being validated, and `found` what that key holds (by default the
    value being validated)."""
    context = {"expected": expected, "at": at}
    if found is not _INPUT:
        context["found"] = found
    return PydanticCustomError("kit", "{expected}", context)


def kit_error(model: type[BaseModel], error: ValidationError, file: Path) -> KitError:
    """A KitError saying, for each problem, the file, the key, what was found and what
    is expected (one line each, the first problems first)."""
    errors = error.errors()
    # A list whose items failed is also "too short" once they are left out: the
    # error about an item is the one to read.
    deeper = {tuple(e["loc"][:i]) for e in errors for i in range(len(e["loc"]))}
    errors = [e for e in errors if tuple(e["loc"]) not in deeper or e["type"] == "kit"]
    lines = [_line(model, e, file) for e in errors[:MAX_ERRORS]]
    more = len(errors) - MAX_ERRORS
    if more > 0:
        lines.append(f"{file}: ... and {more} more")
    return KitError("\n".join(lines))


def _line(model: type[BaseModel], e: dict, file: Path) -> str:
    loc = tuple(e["loc"])
    ctx = e.get("ctx") or {}
    found = e.get("input")
    if e["type"] == "kit":
        loc += tuple(ctx.get("at", ()))
        found, expected = ctx.get("found", found), ctx["expected"]
    elif e["type"] == "missing":
        found, expected = None, _expected(model, loc, e)
    elif e["type"] == "extra_forbidden":
        holder = _walk(model, loc[:-1])[2]
        keys = sorted(holder.model_fields) if holder else []
        expected = "one of the keys " + ", ".join(keys)
    else:
        expected = _expected(model, loc, e)
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    where = f"key '{key}'" if key else "top level"
    return f"{file}: {where}: found {found!r}; expected {expected}."


def _expected(model: type[BaseModel], loc: tuple, e: dict) -> str:
    info, parent, target = _walk(model, loc)
    if e["type"] in ("model_type", "model_attributes_type", "dict_type") and target:
        return target.expect
    texts = [m.text for m in (info.metadata if info else []) if isinstance(m, Expect)]
    if info is not None and isinstance(loc[-1], int):
        texts = _item_expect(info.annotation) or texts
    if not texts and target is not None:
        texts = [target.expect]
    return texts[0] if texts else e["msg"].lower().removeprefix("input should be ")


def _walk(model: type[BaseModel], loc: tuple):
    """(field info, model holding it, model the value should be) at `loc`; list
    indexes stay on their field."""
    info, parent, current = None, model, model
    for part in loc:
        if isinstance(part, int):
            current = _model_in(_item_type(info.annotation)) if info else None
            continue
        if current is None or part not in current.model_fields:
            return None, current, None
        info, parent = current.model_fields[part], current
        current = _model_in(info.annotation)
    return info, parent, current


def _model_in(annotation) -> type[SpecModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found:
            return found
    return None


def _item_type(annotation):
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if typing.get_origin(arg) in (tuple, list):
                return _item_type(arg)
        return None
    args = typing.get_args(annotation)
    return args[0] if origin in (tuple, list) and args else None


def _item_expect(annotation) -> list[str]:
    item = _item_type(annotation)
    if typing.get_origin(item) is typing.Annotated:
        return [m.text for m in item.__metadata__ if isinstance(m, Expect)]
    return []
