"""The Builder's lenient compile (compiler/draft.py): one pass that compiles what is complete,
leaves out what is not with its path and reason, and builds the rule from the parts it compiled.

The catalog is the hand-built one of test_compiler.py (as-of 2026-10-31), so no warehouse is needed.
"""

from __future__ import annotations

import pytest

from services.errors import SpecError
from services.segments.compiler import compile_definition
from services.segments.compiler.draft import LeftOut, compile_draft
from services.segments.spec import Group, SegmentDefinition, Trait

from . import test_compiler

#: the golden tests' hand-built catalog, as this module's ``catalog`` fixture
catalog = test_compiler.catalog

R30 = {"kind": "trait", "field": "recency_days", "op": "lte", "value": 30}
EMAIL = {"kind": "trait", "field": "email_opt_in", "op": "is_true"}
NO_VALUES = {"kind": "trait", "field": "region", "op": "in", "values": []}
TOYS = {"kind": "trait", "field": "top_category", "op": "in", "values": ["toys"]}


def draft_of(*conditions, match: str = "all", **kwargs):
    return {"name": "draft", "rule": {"kind": "group", "match": match, "conditions": list(conditions)}, **kwargs}


def test_incomplete_conditions_are_left_out_with_their_path_and_reason(catalog):
    draft = compile_draft(draft_of(NO_VALUES, R30, {"kind": "group", "match": "any", "conditions": [EMAIL, TOYS]},
                                   {"kind": "membership", "of": "segment", "segment_id": "loyal"}), catalog)
    assert draft.left_out == (
        LeftOut((0,), "region in: pick at least one value"),
        LeftOut((2, 1), "value 'toys' is not a known top_category; known values: beauty, home"),
        LeftOut((3,), "segment loyal cannot be looked up here (no segment library)"),
    )
    kept = Group("all", (Trait("recency_days", "lte", 30), Group("any", (Trait("email_opt_in", "is_true"),))))
    assert draft.definition == SegmentDefinition("draft", kept)
    # Byte for byte what the strict compiler makes of what was kept.
    strict = compile_definition(draft.definition, catalog)
    assert draft.compiled.sql("databricks") == strict.sql("databricks")
    assert [label for label, _ in draft.compiled.steps] == [label for label, _ in strict.steps]


def test_an_empty_group_is_left_out_whether_emptied_or_never_filled(catalog):
    """One rule for empty groups (issue 13, finding 6): before, a group never filled stayed in and an
    empty ANY matched no one, silently; now it is left out, and named so it is filled or removed."""
    draft = compile_draft(draft_of(R30, {"kind": "group", "match": "any", "conditions": [NO_VALUES]},
                                   {"kind": "group", "match": "any", "conditions": []}), catalog)
    assert draft.left_out == (LeftOut((1, 0), "region in: pick at least one value"),
                              LeftOut((2,), "this group has no conditions yet: add one or remove the group"))
    assert draft.definition.rule == Group("all", (Trait("recency_days", "lte", 30),))
    assert draft.compiled.predicate.sql(dialect="duckdb") == '"f"."recency_days" <= 30'


def test_a_rule_with_every_condition_left_out_counts_everyone(catalog):
    everyone = compile_draft(draft_of(NO_VALUES), catalog)
    also_everyone = compile_draft(draft_of(NO_VALUES, match="any"), catalog)
    assert everyone.compiled.predicate.sql() == also_everyone.compiled.predicate.sql() == "TRUE"
    assert len(everyone.left_out) == len(also_everyone.left_out) == 1
    assert compile_draft(draft_of(match="any"), catalog).compiled.predicate.sql() == "TRUE"


def test_each_condition_is_compiled_once_and_the_steps_are_the_rules_parts(catalog, count_passes):
    passes = count_passes()
    draft = compile_draft(draft_of(R30, EMAIL, {"kind": "behavior", "last_days": 30}, NO_VALUES), catalog)
    assert passes == {"trait": 2, "behavior": 1}
    parts = list(draft.compiled.predicate.flatten())
    assert len(parts) == len(draft.compiled.steps) == 3
    assert all(part is step for part, (_, step) in zip(parts, draft.compiled.steps))


@pytest.mark.parametrize("data, message", [
    pytest.param(draft_of(R30, name=""), "a segment needs a name", id="no-name"),
    pytest.param(draft_of(R30, split={"control_pct": 50, "arms": [{"name": "t", "share_pct": 10}]}),
                 "split shares must be >= 0 and add up to 100%", id="bad-split"),
    pytest.param(draft_of(R30, match="some"), "a group matches 'all' or 'any', not 'some'", id="bad-match"),
])
def test_what_is_not_a_condition_still_fails_the_draft(data, message, catalog):
    with pytest.raises(SpecError, match=message):
        compile_draft(data, catalog)
