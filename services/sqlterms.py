"""Small sqlglot terms many services share: a quoted column and ``column = value``."""

from __future__ import annotations

from sqlglot import exp


def column(name: str) -> exp.Column:
    """A quoted column reference."""
    return exp.column(name, quoted=True)


def equals(name: str, value) -> exp.Expression:
    """``"name" = value``, with the value as a literal."""
    return exp.EQ(this=column(name), expression=exp.convert(value))
