"""Trait conditions: one gold feature compared with literal values."""

from __future__ import annotations

from datetime import date

from sqlglot import exp

from services.segments.compiler.context import CompileContext, feature
from services.segments.spec import Trait
from services.sqlterms import date_literal, literal

COMPARISONS = {"eq": exp.EQ, "ne": exp.NEQ, "lt": exp.LT, "lte": exp.LTE, "gt": exp.GT, "gte": exp.GTE}


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
    if op in COMPARISONS:
        return COMPARISONS[op](this=col, expression=_value(condition, ctx, condition.value))
    if op == "between":
        return col.between(_value(condition, ctx, condition.low), _value(condition, ctx, condition.high), copy=False)
    if op == "in":
        return col.isin(*[literal(v) for v in condition.values], copy=False)
    if op == "not_in":
        return exp.not_(col.isin(*[literal(v) for v in condition.values], copy=False), copy=False)
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
