"""The Builder's lenient compile: what is complete of a definition being edited, in one pass.

A condition still being filled in (no value picked yet) must not blank the live
count: it is left out, with its path in the rule and the reason, and the rest is
read, checked and compiled in the same walk as ``compile_definition`` does.

One rule for empty groups: a group with no conditions, whether none were added
yet or all were left out, is left out too, neither adding nor removing anyone
(rather than an empty ANY silently matching no one); one never filled is named
among the left-out, so it is filled or removed before a save. A rule with nothing
left in it counts everyone. Anything else wrong (the name, the split, a group's
own keys) raises as usual.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from services.errors import CompileError, SpecError
from services.segments.catalog import FeatureCatalog
from services.segments.compiler import CompiledSegment, assemble, context
from services.segments.compiler.groups import combine, compile_condition
from services.segments.conditions.context import CompileContext, Resolver
from services.segments.spec import Group, SegmentDefinition, is_group_data, read_condition, read_group

EMPTY_GROUP = "this group has no conditions yet: add one or remove the group"


@dataclass(frozen=True)
class LeftOut:
    """A condition not counted yet: where it is in the rule, and why."""

    path: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Draft:
    #: the definition without the conditions left out, compiled
    compiled: CompiledSegment
    left_out: tuple[LeftOut, ...]

    @property
    def definition(self) -> SegmentDefinition:
        return self.compiled.definition


def compile_draft(data: dict, catalog: FeatureCatalog, *, resolver: Resolver | None = None,
                  segment_id: str | None = None) -> Draft:
    """Compile the JSON form ``data`` of a definition, leaving out the conditions that cannot compile yet."""
    ctx = context(catalog, resolver, segment_id)
    left_out: list[LeftOut] = []
    rule_data = data.get("rule", {"match": "all", "conditions": []}) if isinstance(data, dict) else None
    rule, parts = _group(rule_data, (), ctx, left_out)
    if rule is None:  # nothing left in the rule: everyone, whatever its match
        rule = Group("all", ())
    definition = SegmentDefinition.from_dict(data, rule=rule)
    return Draft(assemble(definition, parts, ctx, segment_id), tuple(left_out))


def _group(data, path: tuple[int, ...], ctx: CompileContext,
           left_out: list[LeftOut]) -> tuple[Group | None, list[exp.Expression]]:
    read_group(data, path, conditions=())  # the group's own keys first: a malformed group is not a draft
    listed = data.get("conditions", [])
    if not listed:
        if path:
            left_out.append(LeftOut(path, EMPTY_GROUP))
        return None, []
    kept, parts = [], []
    for i, child in enumerate(listed):
        here = (*path, i)
        if is_group_data(child):
            group, inner = _group(child, here, ctx, left_out)
            if group is not None:
                kept.append(group)
                parts.append(combine(group, inner))
            continue
        try:
            condition = read_condition(child, here)
            part = compile_condition(condition, ctx, here)
        except (SpecError, CompileError) as exc:
            left_out.append(LeftOut(here, exc.reason))
            continue
        kept.append(condition)
        parts.append(part)
    if not kept:
        return None, []
    return read_group(data, path, conditions=tuple(kept)), parts
