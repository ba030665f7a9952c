"""Groups: ALL / ANY of their conditions, optionally negated; the pass that
dispatches each condition to its own small compiler."""

from __future__ import annotations

from sqlglot import exp

from services.segments.compiler.behavior import compile_behavior
from services.segments.compiler.context import CompileContext, negate
from services.segments.compiler.membership import compile_membership
from services.segments.compiler.traits import compile_trait
from services.segments.spec import Behavior, Condition, Group, Membership, Trait


def compile_condition(condition: Condition, ctx: CompileContext) -> exp.Expression:
    if isinstance(condition, Group):
        return compile_group(condition, ctx)
    if isinstance(condition, Trait):
        return compile_trait(condition, ctx)
    if isinstance(condition, Behavior):
        return compile_behavior(condition, ctx)
    if isinstance(condition, Membership):
        return compile_membership(condition, ctx, compile_group)
    raise TypeError(f"not a condition: {condition!r}")


def compile_group(group: Group, ctx: CompileContext) -> exp.Expression:
    parts = [compile_condition(c, ctx) for c in group.conditions]
    if not parts:
        # An empty ALL is everyone; an empty ANY is no one.
        combined: exp.Expression = exp.true() if group.match == "all" else exp.false()
    elif len(parts) == 1:
        combined = parts[0]
    else:
        wrapped = [exp.Paren(this=p) if isinstance(p, (exp.And, exp.Or)) else p for p in parts]
        combined = exp.and_(*wrapped, copy=False) if group.match == "all" else exp.or_(*wrapped, copy=False)
    if group.negate:
        return negate(combined)
    return combined
