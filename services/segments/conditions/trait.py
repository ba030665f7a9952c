"""Trait conditions: one gold feature compared with literal values (``recency_days <= 30``)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlglot import exp

from services.errors import SpecError
from services.segments.catalog import Domain, FeatureCatalog
from services.segments.conditions.base import ConditionKind, Draw, Scalar, read_fields
from services.segments.conditions.context import CompileContext, feature, negate
from services.segments.features import FEATURES_BY_NAME
from services.segments.reading import bounded, days
from services.segments.wording import Names, amount, human, label, listing
from services.sqlterms import date_literal, literal

TRAIT_OPS = {
    "eq": "=", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=",
    "between": "between", "in": "in", "not_in": "not in",
    "is_true": "is true", "is_false": "is false",
    "before": "before", "after": "after", "within_last_days": "within the last N days",
    "is_null": "is empty", "is_not_null": "is not empty",
}
#: operators that take no value
VALUELESS = ("is_true", "is_false", "is_null", "is_not_null")


@dataclass(frozen=True)
class Trait:
    """A gold feature compared with a value: ``recency_days <= 30``."""

    field: str
    op: str
    value: Scalar = None
    values: tuple[Scalar, ...] = ()
    low: Scalar = None
    high: Scalar = None
    kind: str = field(default="trait", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not self.field:
            raise SpecError("a trait condition needs a field name")
        if not isinstance(self.op, str) or self.op not in TRAIT_OPS:
            raise SpecError(f"operator {self.op!r} is not one of {', '.join(TRAIT_OPS)}")
        object.__setattr__(self, "values", tuple(self.values))
        if self.op in ("in", "not_in") and not self.values:
            raise SpecError(f"{self.field} {self.op}: pick at least one value")
        if self.op == "between" and (self.low is None or self.high is None):
            raise SpecError(f"{self.field} between: give both a low and a high value")
        if self.op in ("eq", "ne", "lt", "lte", "gt", "gte", "before", "after", "within_last_days") and self.value is None:
            raise SpecError(f"{self.field} {self.op}: give a value")
        if self.op == "within_last_days":
            if not isinstance(self.value, int) or isinstance(self.value, bool) or self.value < 0:
                raise SpecError(f"{self.field} within_last_days: the number of days must be a whole number >= 0")
            days(self.value, "within the last N days: N")
        for name in ("value", "low", "high"):
            bounded(getattr(self, name), name)
        for v in self.values:
            bounded(v, "values")

    def describe(self) -> str:
        if self.op in ("in", "not_in"):
            return f"{self.field} {TRAIT_OPS[self.op]} ({', '.join(map(str, self.values))})"
        if self.op == "between":
            return f"{self.field} between {self.low} and {self.high}"
        if self.op == "within_last_days":
            return f"{self.field} within the last {self.value} days"
        if self.op in VALUELESS:
            return f"{self.field} {TRAIT_OPS[self.op]}"
        return f"{self.field} {TRAIT_OPS[self.op]} {self.value}"


    def phrase(self, names: Names) -> str:
        """How the Builder reads it: "Net spend at least $500", "Lifecycle stage is at risk or lapsed"."""
        meta = FEATURES_BY_NAME.get(self.field)
        name, unit = label(self.field), (meta.unit if meta else None)
        op = self.op
        if op in ("in", "not_in"):
            if len(self.values) == 1:
                return f"{name} is {'not ' if op == 'not_in' else ''}{human(self.values[0])}"
            if op == "not_in":
                return f"{name} is none of {', '.join(human(v) for v in self.values)}"
            return f"{name} is {listing(self.values)}"
        if op == "between":
            return f"{name} between {amount(self.low, unit)} and {amount(self.high, unit)}"
        if op == "within_last_days":
            return f"{name} in the last {amount(self.value, 'days')}"
        valueless = {"is_true": ": yes", "is_false": ": no", "is_null": " is empty", "is_not_null": " is known"}
        if op in valueless:
            return name + valueless[op]
        return f"{name} {PHRASES[op]} {amount(self.value, unit)}"


#: how the Builder reads an operator with one value
PHRASES = {"eq": "is", "ne": "is not", "lt": "less than", "lte": "at most", "gt": "more than", "gte": "at least",
           "before": "before", "after": "after"}


def read(data: dict, path: tuple[int, ...]) -> Trait:
    return read_fields(Trait, data, path)


# -- the catalog check ------------------------------------------------------------
def check(t: Trait, catalog: FeatureCatalog) -> None:
    meta = catalog.feature(t.field)
    if t.op not in meta.operators:
        raise SpecError(f"operator {t.op!r} does not apply to {t.field} ({meta.type}); "
                        f"use one of {', '.join(meta.operators)}")
    if meta.type == "number":
        for v in (t.value, t.low, t.high):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise SpecError(f"{t.field} needs a number, got {v!r}")
    elif meta.type == "category":
        domain = catalog.domains.get(t.field, Domain())
        for v in t.values:
            if not isinstance(v, str):
                raise SpecError(f"{t.field} values are text, got {v!r}")
            if domain.complete and v not in domain.known_values:
                shown = ", ".join(catalog.ordered_values(t.field)[:12])
                raise SpecError(f"value {v!r} is not a known {t.field}; known values: {shown}")
    elif meta.type == "date" and t.op != "within_last_days":
        for v in (t.value, t.low, t.high):
            if v is not None and not isinstance(v, date):
                try:
                    date.fromisoformat(str(v))
                except ValueError:
                    raise SpecError(f"{t.field} needs a date (YYYY-MM-DD), got {v!r}") from None


# -- the compiler pass --------------------------------------------------------------
COMPARISONS = {"eq": exp.EQ, "lt": exp.LT, "lte": exp.LTE, "gt": exp.GT, "gte": exp.GTE}


def _value(condition: Trait, ctx: CompileContext, value):
    meta = ctx.catalog.feature(condition.field)
    if meta.type == "date" and not isinstance(value, date):
        return date_literal(date.fromisoformat(str(value)))
    if meta.type == "number" and isinstance(value, float) and value.is_integer() and meta.integer:
        return literal(int(value))
    return literal(value)


def compile_trait(condition: Trait, ctx: CompileContext) -> exp.Expression:
    col = feature(condition.field)
    op = condition.op
    if op == "ne":
        # "is not" is NOT "is": like a negated group, it keeps the customers with no value (negate's rule).
        return negate(exp.EQ(this=col, expression=_value(condition, ctx, condition.value)))
    if op in COMPARISONS:
        return COMPARISONS[op](this=col, expression=_value(condition, ctx, condition.value))
    if op == "between":
        return col.between(_value(condition, ctx, condition.low), _value(condition, ctx, condition.high), copy=False)
    if op == "in":
        return col.isin(*[literal(v) for v in condition.values], copy=False)
    if op == "not_in":
        # "is none of" is NOT "is any of", with the same rule for empty values as a negated group.
        return negate(col.isin(*[literal(v) for v in condition.values], copy=False))
    if op == "is_true":
        return exp.EQ(this=col, expression=exp.true())
    if op == "is_false":
        return exp.EQ(this=col, expression=exp.false())
    # Built directly: Expression.is_ always copies both sides.
    if op == "is_null":
        return exp.Is(this=col, expression=exp.null())
    if op == "is_not_null":
        return exp.not_(exp.Is(this=col, expression=exp.null()), copy=False)
    if op == "before":
        return exp.LT(this=col, expression=_value(condition, ctx, condition.value))
    if op == "after":
        return exp.GT(this=col, expression=_value(condition, ctx, condition.value))
    if op == "within_last_days":
        # "last N days" = the as-of day and the N - 1 days before it, as in the gold model.
        return exp.GT(this=col, expression=date_literal(ctx.days_before_as_of(int(condition.value))))
    raise AssertionError(f"unhandled operator {op}")


# -- random traits, for the cross-engine tests -----------------------------------------
def _number(draw: Draw, name: str, integer: bool):
    value = draw.value(name)
    if draw.rng.random() < 0.3:  # sometimes off the data's values, to test < and > between them
        value = float(value) + draw.rng.choice((-1.5, -0.25, 0.005, 0.5, 2))
    if integer:
        return int(round(float(value)))
    return float(value) if not isinstance(value, int) else value


def _date(draw: Draw, name: str) -> date:
    value = draw.value(name)
    value = value.date() if hasattr(value, "date") else value
    return value + timedelta(days=draw.rng.randint(-3, 3))


def generate(draw: Draw, *, meta=None, op: str | None = None) -> Trait:
    """A trait on ``meta`` (a FeatureMeta) with ``op``, each drawn when not given; values come from the data."""
    rng = draw.rng
    meta = meta or rng.choice(draw.catalog.features)
    op = op or rng.choice(meta.operators)
    if op in VALUELESS:
        return Trait(meta.name, op)
    if meta.type == "category":
        known = list(draw.catalog.domains[meta.name].known_values)
        return Trait(meta.name, op, values=tuple(rng.sample(known, rng.randint(1, min(3, len(known))))))
    if meta.type == "number":
        value = lambda: _number(draw, meta.name, meta.integer)  # noqa: E731
    else:
        value = lambda: _date(draw, meta.name)  # noqa: E731
    if op == "within_last_days":
        return Trait(meta.name, op, rng.choice((0, 1, 7, 30, 60, 89, 90, 180, 365, 730)))
    if op == "between":
        low, high = sorted((value(), value()))
        return Trait(meta.name, op, low=low, high=high)
    return Trait(meta.name, op, value())


def singles(draw: Draw) -> Iterator[Trait]:
    """Each operator of each feature type on two features of that type (Spark time is what limits the count)."""
    by_type: dict[str, list] = {}
    for meta in draw.catalog.features:
        by_type.setdefault(meta.type, []).append(meta)
    for metas in by_type.values():
        for op in metas[0].operators:
            for meta in draw.rng.sample(metas, min(2, len(metas))):
                yield generate(draw, meta=meta, op=op)


def coverage(t: Trait, catalog: FeatureCatalog) -> Iterator[str]:
    yield f"trait:{catalog.feature(t.field).type}:{t.op}"


KIND = ConditionKind(name="trait", spec=Trait, read=read, check=check, compile=compile_trait, generate=generate,
                     singles=singles, coverage=coverage, weight=0.5)
