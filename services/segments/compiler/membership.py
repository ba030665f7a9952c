"""Membership conditions: another saved segment (expanded inline), a cluster
of a saved clustering run, or a lookalike expansion at a reach."""

from __future__ import annotations

from sqlglot import exp

from services.errors import CompileError
from services.segments.compiler.context import CompileContext, feature, negate
from services.segments.spec import Membership
from services.segments.tables import CLUSTER_TABLE, LOOKALIKE_TABLE
from services.sqlterms import literal, table


def compile_membership(condition: Membership, ctx: CompileContext, compile_group) -> exp.Expression:
    if condition.of == "segment":
        predicate = _segment(condition, ctx, compile_group)
    elif condition.of == "cluster":
        predicate = _customers_in(
            CLUSTER_TABLE,
            exp.EQ(this=exp.column("run_id", quoted=True), expression=literal(condition.run_id)),
            exp.column("cluster_id", quoted=True).isin(*[literal(int(c)) for c in condition.cluster_ids], copy=False),
        )
    else:
        predicate = _customers_in(
            LOOKALIKE_TABLE,
            exp.EQ(this=exp.column("model_id", quoted=True), expression=literal(condition.model_id)),
            exp.LTE(this=exp.column("reach_pct", quoted=True), expression=literal(float(condition.reach_pct))),
        )
    if condition.negate:
        return negate(predicate)
    return predicate


def _customers_in(qualified_table: str, *conditions: exp.Expression) -> exp.Expression:
    """f.customer_id IN (SELECT customer_id FROM the table WHERE all the conditions)."""
    select = (exp.select(exp.column("customer_id", quoted=True))
              .from_(table(qualified_table), copy=False)
              .where(exp.and_(*conditions, copy=False), copy=False))
    return feature("customer_id").isin(query=select, copy=False)


def _segment(condition: Membership, ctx: CompileContext, compile_group) -> exp.Expression:
    key = f"{condition.segment_id}@{condition.version or 'latest'}"
    if condition.segment_id in {k.split("@")[0] for k in ctx.stack}:
        chain = " -> ".join([*(k.split("@")[0] for k in ctx.stack), condition.segment_id])
        raise CompileError(f"segments refer to each other in a cycle: {chain}")
    if ctx.resolver is None:
        raise CompileError(f"segment {condition.segment_id} cannot be looked up here (no segment library)")
    other = ctx.resolver(condition.segment_id, condition.version)
    ctx.catalog.validate(other)
    # Both range over the same gold row, so the other segment's rule applies inline.
    return exp.Paren(this=compile_group(other.rule, ctx.entering(key)))
