"""What a kind of condition is, and the small helpers every kind shares.

A kind is one module of this package: its frozen spec dataclass (with ``kind`` and
``describe``) and a ``KIND = ConditionKind(...)`` entry that says how the app reads it
from JSON, checks it against the feature catalog, compiles it to a sqlglot predicate,
and draws random ones for the cross-engine tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, fields
from datetime import date
from typing import Any, Protocol

from sqlglot import exp

from services.errors import SpecError
from services.segments.catalog import FeatureCatalog
from services.segments.conditions.context import CompileContext
from services.segments.reading import typed
from services.segments.wording import Names

Scalar = str | int | float | bool | date | None


class Condition(Protocol):
    """A condition of a rule: a frozen dataclass of one kind (or a Group, spec.py)."""

    kind: str

    def describe(self) -> str: ...

    def phrase(self, names: Names) -> str: ...


@dataclass(frozen=True)
class Draw:
    """What a random generator draws from: a seeded ``rng``, the ``catalog``, ``value(field)``
    (a value of a gold feature as it occurs in the data) and the ids of saved segments."""

    rng: random.Random
    catalog: FeatureCatalog
    value: Callable[[str], Any]
    segment_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConditionKind:
    """One kind of condition, everything the app does with it in one entry.

    ``read(data, path)`` builds the spec from its JSON object (``path`` places it in the
    rule, for errors); ``check(spec, catalog)`` raises SpecError(reason) when a field or
    value is not in the catalog; ``compile(spec, ctx)`` is the kind's compiler pass.
    For the cross-engine tests: ``generate(draw, **variant)`` draws one at random (a
    variant fixes some of its choices), ``singles(draw)`` one of each variant,
    ``coverage(spec, catalog)`` names what a condition exercises, and ``weight`` is the
    kind's share of random leaves.
    """

    name: str
    spec: type
    read: Callable[[dict, tuple[int, ...]], Any]
    check: Callable[[Any, FeatureCatalog], None]
    compile: Callable[[Any, CompileContext], exp.Expression]
    generate: Callable[..., Any]
    singles: Callable[[Draw], Iterable[Any]]
    coverage: Callable[[Any, FeatureCatalog], Iterable[str]]
    weight: float


def rule_path(path: tuple[int, ...]) -> str:
    """How a condition's place reads in the JSON form: ``rule.conditions[2].conditions[0]``."""
    return "rule" + "".join(f".conditions[{i}]" for i in path)


def as_date(value: Any, what: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise SpecError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None
    raise SpecError(f"{what}: {value!r} is not a date (YYYY-MM-DD)")


def json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [json_value(v) for v in value]
    return value


def read_fields(cls: type, data: dict, path: tuple[int, ...]) -> Any:
    """``cls(**data)`` for a condition's JSON object, each value of the JSON type its field is annotated with
    (lists become tuples); an unknown key, a wrong type or a wrong argument names the condition."""
    allowed = {f.name for f in fields(cls) if f.init}
    unknown = set(data) - allowed - {"kind"}
    if unknown:
        raise SpecError(f"unknown key(s) {', '.join(sorted(unknown))} for a {cls.__name__.lower()} condition",
                        path=path, where=rule_path(path))
    kind = cls.__name__.lower()
    missing = [f.name for f in fields(cls) if f.init and f.name not in data
               and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise SpecError(f"a {kind} condition needs {', '.join(repr(m) for m in missing)}",
                        path=path, where=rule_path(path))
    try:
        return cls(**{k: typed(cls, k, v) for k, v in data.items() if k in allowed})
    except SpecError as exc:
        raise exc.at(path, where=rule_path(path)) from None
    except (TypeError, ValueError) as exc:
        # A value met a check in the spec's __post_init__ that ``typed`` leaves to it: say which
        # condition, without Python's wording.
        raise SpecError(f"a value of this {kind} condition has the wrong type ({type(exc).__name__.lower()})",
                        path=path, where=rule_path(path)) from None


def condition_to_dict(condition: Any) -> dict:
    """The JSON form of a condition: ``kind`` first, empty optional fields left out (stored JSON stays small)."""
    out = {f.name: json_value(getattr(condition, f.name)) for f in fields(condition)}
    out = {k: v for k, v in out.items() if k == "kind" or v not in (None, [], ())}
    return {"kind": out.pop("kind"), **out}
