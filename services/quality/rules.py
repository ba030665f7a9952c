"""Checks that are one query over the checked table: keys, values, references.

One small builder per kind, each returning a sqlglot tree that counts the
offending rows; a check passes when that count is zero. Table and column names
come from the spec table, values become literals, and text appears only when
the warehouse renders the tree for its dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlglot import exp

from services import naming
from services.quality.specs import CheckSpec, Outcome
from services.sqlterms import column, count_star, date_literal, number, table
from services.warehouse import Warehouse

#: no posting is older (the importer and the pipeline reject those too)
EARLIEST_DAY = date(1900, 1, 1)


def _table(spec: CheckSpec, alias: str | None = None) -> exp.Table:
    return table(naming.fq(spec.source, spec.table), alias=alias)


def _unique(spec: CheckSpec) -> tuple[exp.Expression, str]:
    keys = [column(c) for c in spec.columns]
    present = exp.and_(*[k.copy().is_(exp.null()).not_() for k in keys])
    groups = (exp.select(count_star().as_("n")).from_(_table(spec)).where(present)
              .group_by(*keys).having(exp.GT(this=count_star(), expression=exp.convert(1))))
    extra = exp.func("coalesce", exp.Sum(this=exp.column("n") - exp.convert(1)), exp.convert(0))
    return exp.select(extra.as_("observed")).from_(groups.subquery("duplicated")), \
        f"rows repeat a {', '.join(spec.columns)} value"


def _not_null(spec: CheckSpec) -> tuple[exp.Expression, str]:
    missing = exp.or_(*[column(c).is_(exp.null()) for c in spec.columns])
    return exp.select(count_star().as_("observed")).from_(_table(spec)).where(missing), \
        f"rows missing {' or '.join(spec.columns)}"


def _one_current(spec: CheckSpec) -> tuple[exp.Expression, str]:
    (key,) = spec.columns
    current = exp.Sum(this=exp.Case().when(column(spec.parent_flag), exp.convert(1)).else_(exp.convert(0)))
    wrong = (exp.select(column(key)).from_(_table(spec)).group_by(column(key))
             .having(exp.NEQ(this=current, expression=exp.convert(1))))
    return exp.select(count_star().as_("observed")).from_(wrong.subquery("wrong")), \
        f"{key} values without exactly one current row"


def _in_range(spec: CheckSpec) -> tuple[exp.Expression, str]:
    (name,) = spec.columns
    outside, bounds = [], []
    if spec.minimum is not None:
        low = exp.LTE if spec.minimum_exclusive else exp.LT
        outside.append(low(this=column(name), expression=number(spec.minimum)))
        bounds.append(f"{'>' if spec.minimum_exclusive else '>='} {spec.minimum:g}")
    if spec.maximum is not None:
        outside.append(exp.GT(this=column(name), expression=number(spec.maximum)))
        bounds.append(f"<= {spec.maximum:g}")
    return exp.select(count_star().as_("observed")).from_(_table(spec)).where(exp.or_(*outside)), \
        f"rows have {name} outside {' and '.join(bounds)}"


def _in_set(spec: CheckSpec) -> tuple[exp.Expression, str]:
    (name,) = spec.columns
    allowed = column(name).isin(*[exp.Literal.string(v) for v in spec.allowed])
    return exp.select(count_star().as_("observed")).from_(_table(spec)).where(exp.not_(allowed)), \
        f"rows have a {name} outside the {len(spec.allowed)} allowed values"


def _references(spec: CheckSpec) -> tuple[exp.Expression, str]:
    (name,) = spec.columns
    source, table, key = spec.parent
    match = exp.EQ(this=column(key, table="parent"), expression=column(name, table="child"))
    if spec.parent_flag:
        match = exp.and_(match, column(spec.parent_flag, table="parent"))
    lookup = exp.select(exp.convert(1)).from_(exp.to_table(naming.fq(source, table)).as_("parent")).where(match)
    orphan = exp.and_(column(name, table="child").is_(exp.null()).not_(), exp.not_(exp.Exists(this=lookup)))
    which = "current row" if spec.parent_flag else "row"
    return exp.select(count_star().as_("observed")).from_(_table(spec, "child")).where(orphan), \
        f"rows have a {name} with no {which} in {table}"


def _not_after_load_day(spec: CheckSpec) -> tuple[exp.Expression, str]:
    (name,) = spec.columns
    source, table, landed = spec.parent
    # The day each batch landed: a posting later than that has not happened yet (it would move the
    # as-of date into the future); one before 1900 is a typo.
    load_days = (exp.select(column("batch_id"), exp.func("MAX", exp.cast(column(landed), "DATE")).as_("load_day"))
                 .from_(naming.fq(source, table)).group_by(column("batch_id")))
    dated = exp.cast(column(name, table="child"), "DATE")
    wrong = exp.or_(exp.GT(this=dated, expression=column("load_day", table="batches")),
                    exp.LT(this=dated.copy(), expression=date_literal(EARLIEST_DAY)))
    query = (exp.select(count_star().as_("observed")).from_(_table(spec, "child"))
             .join(load_days.subquery("batches"),
                   on=exp.EQ(this=column("batch_id", table="batches"), expression=column("batch_id", table="child")))
             .where(wrong))
    return query, f"rows have a {name} after the day their batch landed, or before {EARLIEST_DAY}"


BUILDERS: dict[str, Callable[[CheckSpec], tuple[exp.Expression, str]]] = {
    "unique": _unique,
    "not_null": _not_null,
    "one_current": _one_current,
    "in_range": _in_range,
    "in_set": _in_set,
    "references": _references,
    "not_after_load_day": _not_after_load_day,
}


def query(spec: CheckSpec) -> exp.Expression:
    """The tree that counts the rows breaking ``spec`` (for tests and the SQL viewer)."""
    return BUILDERS[spec.kind](spec)[0]


def evaluate(warehouse: Warehouse, spec: CheckSpec) -> Outcome:
    tree, what = BUILDERS[spec.kind](spec)
    offending = int(warehouse.scalar(tree) or 0)
    return Outcome(passed=offending == 0, observed_value=float(offending), threshold=0.0,
                   details=f"{offending} {what}" if offending else f"no {what}")
