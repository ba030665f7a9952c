"""How a definition's JSON is read: exact JSON types, bounded numbers, plain text.

A definition comes from a file, the CLI or the library, and is read strictly so
that what a person wrote is what runs: ``"negate": "false"`` is not true, a
string is not a list of its letters, a window of a million days is not an
overflow deep in the date arithmetic. Each refusal is one SpecError naming the
key and the value it got; the caller adds where in the definition it is.

The expected JSON type of a condition's key is its spec dataclass's annotation
(``str``, ``int | None``, ``tuple[str, ...]``, ``Scalar``...), so a kind declares
its types once, in its dataclass.
"""

from __future__ import annotations

import json
import math
import re
import types
import typing
from datetime import date
from functools import cache
from typing import Any

from services.errors import SpecError

#: the longest window a definition may name: 100 years of days
MAX_DAYS = 36_500
#: numbers a definition compares with (thresholds, values) stay within +- this
MAX_MAGNITUDE = 1e12
#: groups may nest this many levels below the rule
MAX_DEPTH = 20

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "text", date: "a date (YYYY-MM-DD)",
          type(None): "null"}
_PLURALS = {"text": "text", "a whole number": "whole numbers", "a number": "numbers", "a value": "values",
            "a date (YYYY-MM-DD)": "dates (YYYY-MM-DD)"}
#: Scalar (conditions/base.py): any one JSON value that is not a list or an object
_SCALAR_PARTS = {str, int, float, bool, date}


def shown(value: Any) -> str:
    """A value as an error shows it: its repr, on one line, not too long."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def plain_text(value: str, what: str) -> str:
    # Names and ids reach SQL literals, comments and hash keys; control characters
    # (a NUL ends DuckDB's reading of a statement) have no business in them.
    if _CONTROL.search(value):
        raise SpecError(f"{what} {shown(value)} contains control characters (tabs, newlines or NUL); use plain text")
    return value


def bounded(value: Any, what: str) -> None:
    """A number a condition compares with must be finite and within +-MAX_MAGNITUDE (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if not math.isfinite(value):
        raise SpecError(f"{what} must be a finite number, got {shown(value)}")
    if abs(value) > MAX_MAGNITUDE:
        raise SpecError(f"{what} must be between {-MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}, got {value:g}")


def days(value: int, what: str) -> None:
    if value > MAX_DAYS:
        raise SpecError(f"{what} must be at most {MAX_DAYS} (100 years), got {shown(value)}")


def _parts(hint) -> tuple:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def describe(hint) -> str:
    """What a type annotation asks for, in words: ``tuple[str, ...]`` -> "a list of text"."""
    parts = _parts(hint)
    if len(parts) > 1:
        if _SCALAR_PARTS <= set(parts):
            return "a value"
        named = [describe(p) for p in parts if p is not type(None)]
        return " or ".join(named) + (" or null" if type(None) in parts else "")
    if typing.get_origin(hint) is tuple:
        inner = describe(typing.get_args(hint)[0])
        return f"a list of {_PLURALS.get(inner, inner)}"
    return _NAMES.get(hint, getattr(hint, "__name__", str(hint)))


def matches(value: Any, hint) -> bool:
    """Whether a JSON value (or what code passes in its place: a tuple, a date) has the annotated type."""
    parts = _parts(hint)
    if len(parts) > 1:
        return any(matches(value, p) for p in parts)
    if typing.get_origin(hint) is tuple:
        inner = typing.get_args(hint)[0]
        return isinstance(value, (list, tuple)) and all(matches(v, inner) for v in value)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is date:
        return isinstance(value, (str, date))
    if hint is type(None):
        return value is None
    return isinstance(value, hint)


@cache
def annotations(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def typed(cls: type, key: str, value: Any) -> Any:
    """``value`` for the field ``key`` of the dataclass ``cls``, checked against its annotation, lists as tuples;
    every text in it plain."""
    hint = annotations(cls).get(key)
    if hint is not None and not matches(value, hint):
        raise SpecError(f"{key} must be {describe(hint)}, got {shown(value)}")
    if isinstance(value, str):
        plain_text(value, key)
    if isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, str):
                plain_text(item, f"{key}:")
        return tuple(value)
    return value


def load_json(text: str, what: str) -> Any:
    """The JSON document in ``text`` (``what`` names it in errors)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        # Python's own parser gives up long before a person could mean it.
        raise SpecError(f"groups nest more than {MAX_DEPTH} levels deep; flatten the rule") from None


def decode(raw: bytes, what: str) -> str:
    """A file's bytes as UTF-8 text, or one error that says where it is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{what} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}); "
                        "save it as UTF-8") from None
