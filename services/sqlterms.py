"""The sqlglot terms every service builds its queries from: one home, used everywhere.

Nodes are built directly (``exp.Column``, ``exp.Cast``...) rather than parsed
from strings: parsing a name costs about twenty times more, and a value
never passes through SQL text on its way into a tree. Each call returns a
fresh node, so a term can go into as many places of a tree as it is called.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlglot import exp


def column(name: str, *, table: str | None = None) -> exp.Column:
    """A quoted column reference, optionally qualified by a table alias."""
    return exp.column(name, table=table, quoted=True)


def table(qualified: str, *, alias: str | None = None) -> exp.Table:
    """A ``schema.table`` (or plain ``table``) name as a Table node, optionally aliased."""
    schema, _, name = qualified.rpartition(".")
    node = exp.table_(name, db=schema or None)
    return node.as_(alias, copy=False) if alias else node


def date_literal(value: date) -> exp.Expression:
    """``CAST('YYYY-MM-DD' AS DATE)``: the same text in every dialect."""
    return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE, copy=False)


def timestamp_literal(value: datetime) -> exp.Expression:
    """``CAST('YYYY-MM-DD HH:MM:SS[.ffffff]' AS TIMESTAMP)`` for a naive UTC timestamp."""
    return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP, copy=False)


def literal(value: Any) -> exp.Expression:
    """A Python value as a SQL literal: text is escaped by sqlglot, never pasted; dates and
    timestamps become casts; None becomes NULL."""
    if value is None:
        return exp.null()
    if isinstance(value, datetime):
        return timestamp_literal(value)
    if isinstance(value, date):
        return date_literal(value)
    return exp.convert(value)


def number(value: float) -> exp.Expression:
    """A number literal, written as an integer when it is one (``5`` rather than ``5.0``)."""
    return exp.convert(int(value) if float(value).is_integer() else float(value))


def equals(name: str, value: Any) -> exp.Expression:
    """``"name" = value``, with the value as a literal."""
    return exp.EQ(this=column(name), expression=literal(value))


def is_in(name: str, values) -> exp.Expression:
    """``"name" IN (values...)`` as literals; FALSE for no values (``IN ()`` is not SQL)."""
    values = list(values)
    return column(name).isin(*[literal(v) for v in values], copy=False) if values else exp.false()


def count_star() -> exp.Count:
    """``COUNT(*)`` as BIGINT, built directly (what ``exp.func("COUNT", ...)`` gives, without its lookup)."""
    return exp.Count(this=exp.Star(), big_int=True)
