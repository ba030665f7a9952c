"""Groups: ALL / ANY of their conditions, optionally negated; and the pass that sends
each condition to its kind's own small pass (``services/segments/conditions/``), after
its kind's catalog check, so a rule is checked and compiled in one walk.

A failing condition is named by its ``path`` in the rule: a catalog check's error
reads ``rule.conditions[2].conditions[0]: reason``; a compiler pass's error gets its
reading at the top (``compile_definition``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from services.errors import SegmentStudioError, SpecError
from services.segments.conditions import KINDS, Condition
from services.segments.conditions.base import rule_path
from services.segments.conditions.context import CompileContext, negate
from services.segments.spec import Group


def compile_condition(condition: Condition | Group, ctx: CompileContext, path: tuple[int, ...]) -> exp.Expression:
    """The predicate of one node of a rule (a group or a condition of some kind) at ``path``."""
    if isinstance(condition, Group):
        return compile_group(condition, ctx, path=path)
    kind = KINDS[condition.kind]
    try:
        kind.check(condition, ctx.catalog)
    except SpecError as exc:
        raise exc.at(path, where=rule_path(path)) from exc
    try:
        return kind.compile(condition, ctx)
    except SegmentStudioError as exc:
        if exc.path is not None:
            raise
        raise exc.at(path) from exc


def compile_group(group: Group, ctx: CompileContext, *, path: tuple[int, ...] = ()) -> exp.Expression:
    return combine(group, [compile_condition(c, ctx, (*path, i)) for i, c in enumerate(group.conditions)])


def combine(group: Group, parts: Sequence[exp.Expression]) -> exp.Expression:
    """The group's predicate from the predicates of its conditions (used as they are, not copied)."""
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
