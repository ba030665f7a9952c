"""Holdout / split groups: a deterministic hash of segment key and customer id.

bucket = the first 7 hex digits of md5('<segment key>:<customer_id>') as an
integer, modulo 10,000. The arithmetic is spelled out with substr/instr so
Databricks, Spark and DuckDB compute the same bucket (their hash() functions
differ), and Python can check it with hashlib. Buckets below control_pct x 100
are control; the arms follow in order.
"""

from __future__ import annotations

import hashlib

from sqlglot import exp

from services.segments.conditions.context import feature
from services.segments.spec import Split

HEX_DIGITS = 7
BUCKETS = 10_000


def python_bucket(segment_key: str, customer_id: str) -> int:
    digest = hashlib.md5(f"{segment_key}:{customer_id}".encode()).hexdigest()
    return int(digest[:HEX_DIGITS], 16) % BUCKETS


def bucket_expression(segment_key: str) -> exp.Expression:
    digest = exp.func("MD5", exp.func("CONCAT", exp.Literal.string(f"{segment_key}:"), feature("customer_id")))
    total: exp.Expression | None = None
    for i in range(HEX_DIGITS):
        digit = exp.Sub(
            this=exp.func("INSTR", exp.Literal.string("0123456789abcdef"),
                          exp.func("SUBSTR", digest.copy(), exp.Literal.number(i + 1), exp.Literal.number(1))),
            expression=exp.Literal.number(1),
        )
        term = exp.Mul(this=exp.Paren(this=digit), expression=exp.Literal.number(16 ** (HEX_DIGITS - 1 - i)))
        total = term if total is None else exp.Add(this=total, expression=term)
    return exp.Mod(this=exp.Paren(this=total), expression=exp.Literal.number(BUCKETS))


def thresholds(split: Split) -> list[tuple[str, int]]:
    """(group name, exclusive upper bucket) in order: control first."""
    out, edge = [], 0.0
    for name, share in [("control", split.control_pct), *((a.name, a.share_pct) for a in split.arms)]:
        edge += share
        out.append((name, round(edge * BUCKETS / 100)))
    out[-1] = (out[-1][0], BUCKETS)
    return out


def bucket_case(split: Split, *, bucket: exp.Expression | None = None) -> exp.Expression:
    """CASE mapping a bucket (the ``split_bucket`` column by default) to its group name."""
    bucket = bucket if bucket is not None else exp.column("split_bucket", quoted=True)
    case = exp.Case()
    for name, upper in thresholds(split)[:-1]:
        case = case.when(exp.LT(this=bucket.copy(), expression=exp.Literal.number(upper)), exp.Literal.string(name))
    return case.else_(exp.Literal.string(thresholds(split)[-1][0]))


def python_group(split: Split, segment_key: str, customer_id: str) -> str:
    bucket = python_bucket(segment_key, customer_id)
    for name, upper in thresholds(split):
        if bucket < upper:
            return name
    return thresholds(split)[-1][0]
