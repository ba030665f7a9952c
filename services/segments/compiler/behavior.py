"""Behavioral conditions: a semi-join over the transactions (gold_customer_activity, the
facts' columns these conditions read, stored so their filters skip most of the table).

The aggregate (purchases counted, or purchases minus refunds summed) is taken
over the transactions that match the filters and window. When the condition
holds for a customer with no matching transaction at all ("at most 2 times",
"spent <= $50"), it compiles to ``NOT IN (customers for whom it fails)`` so
those customers are included; otherwise to ``IN (customers for whom it
holds)``. ``negate`` wraps the result in NOT.
"""

from __future__ import annotations

from sqlglot import exp

from services.segments.compiler.context import CompileContext, feature
from services.segments.spec import Behavior
from services.segments.tables import ACTIVITY_TABLE
from services.sqlterms import count_star, date_literal, literal, table

FACT_ALIAS = "t"
FILTER_COLUMNS = {"categories": "category", "channels": "channel_code", "merchants": "merchant_id", "products": "product_id"}
COMPARE = {"at_least": exp.GTE, "at_most": exp.LTE, "exactly": exp.EQ}


def _fact(name: str) -> exp.Column:
    return exp.column(name, table=FACT_ALIAS, quoted=True)


def _holds_for_zero(b: Behavior) -> bool:
    return {"at_least": 0 >= b.threshold, "at_most": 0 <= b.threshold, "exactly": b.threshold == 0}[b.comparator]


def _threshold(b: Behavior) -> exp.Expression:
    return literal(int(b.threshold) if b.measure == "orders" else b.threshold)


def compile_behavior(condition: Behavior, ctx: CompileContext) -> exp.Expression:
    b = condition
    where: list[exp.Expression] = []
    if b.measure == "orders":
        where.append(exp.EQ(this=_fact("txn_type"), expression=exp.Literal.string("purchase")))
    if b.last_days is not None:
        where.append(exp.GT(this=_fact("posted_date"), expression=date_literal(ctx.days_before_as_of(b.last_days))))
    if b.start is not None:
        where.append(exp.GTE(this=_fact("posted_date"), expression=date_literal(b.start)))
    where.append(exp.LTE(this=_fact("posted_date"), expression=date_literal(min(b.end or ctx.as_of, ctx.as_of))))
    for name, column in FILTER_COLUMNS.items():
        values = getattr(b, name)
        if values:
            where.append(_fact(column).isin(*[literal(v) for v in values], copy=False))

    if b.measure == "orders":
        aggregate = count_star()
    else:
        signed = exp.Case().when(
            exp.EQ(this=_fact("txn_type"), expression=exp.Literal.string("refund")), exp.Neg(this=_fact("amount_usd")),
            copy=False,
        ).else_(_fact("amount_usd"), copy=False)
        aggregate = exp.Sum(this=signed)
    holds = COMPARE[b.comparator](this=aggregate, expression=_threshold(b))

    select = (exp.select(_fact("customer_id"))
              .from_(table(ACTIVITY_TABLE).as_(FACT_ALIAS, copy=False), copy=False)
              .where(exp.and_(*where, copy=False), copy=False))
    zero_included = _holds_for_zero(b)
    if b.measure == "orders" and b.comparator == "at_least" and int(b.threshold) == 1:
        # "bought at least once": a plain semi-join, no aggregation needed.
        predicate = feature("customer_id").isin(query=select, copy=False)
    else:
        select = select.group_by(_fact("customer_id"), copy=False).having(
            exp.not_(holds, copy=False) if zero_included else holds, copy=False)
        membership = feature("customer_id").isin(query=select, copy=False)
        predicate = exp.not_(membership, copy=False) if zero_included else membership
    return exp.not_(predicate, copy=False) if b.negate else predicate
