"""Definitions are read strictly: exact JSON types, bounded numbers, a depth limit and plain-text ids,
each refusal one SpecError that names the place (issue 13, finding 8)."""

from __future__ import annotations

import copy
import json
import math
from datetime import date

import pytest

from services.errors import CompileError, SegmentStudioError, SpecError
from services.segments.catalog import Domain, FeatureCatalog
from services.segments.compiler import compile_definition
from services.segments.features import FEATURES
from services.segments.spec import MAX_DEPTH, SegmentDefinition

CATALOG = FeatureCatalog(
    features=FEATURES,
    domains={"gender": Domain(values=(("F", 5), ("M", 4))), "loyalty_tier": Domain(values=(("gold", 1),))},
    as_of_date=date(2026, 10, 31), base_count=9,
    behavior_values={"categories": ("beauty", "home"), "channels": ("app", "web"), "merchants": ("M-1",),
                     "products": ("P-1",)},
    cluster_runs={"run-1": (0, 1, 2)}, lookalike_models=("lal-1",))


def one(condition: dict, **top) -> dict:
    return {"name": "strict", "rule": {"kind": "group", "match": "all", "conditions": [condition]}, **top}


def refusal(data) -> SpecError:
    with pytest.raises(SpecError) as caught:
        definition = SegmentDefinition.from_dict(data)
        compile_definition(definition, CATALOG, resolver=lambda segment_id, version: SegmentDefinition("x"))
    return caught.value


@pytest.mark.parametrize(("data", "where", "reason"), [
    pytest.param(one({"kind": "trait", "field": "gender", "op": "in", "values": ["F"]}) | {
        "rule": {"match": "all", "negate": "false", "conditions": []}},
        "rule", "negate must be true or false, got 'false'", id="group-negate-as-text"),
    pytest.param(one({"kind": "behavior", "negate": "false"}), "rule.conditions[0]",
                 "negate must be true or false, got 'false'", id="behavior-negate-as-text"),
    pytest.param(one({"kind": "membership", "of": "segment", "segment_id": "s", "negate": 0}), "rule.conditions[0]",
                 "negate must be true or false, got 0", id="membership-negate-as-number"),
    pytest.param(one({"kind": "trait", "field": "gender", "op": "in", "values": "FX"}), "rule.conditions[0]",
                 "values must be a list of values, got 'FX'", id="values-as-text"),
    pytest.param(one({"kind": "behavior", "categories": "beauty"}), "rule.conditions[0]",
                 "categories must be a list of text, got 'beauty'", id="categories-as-text"),
    pytest.param(one({"kind": "membership", "of": "cluster", "run_id": "run-1", "cluster_ids": [[1]]}),
                 "rule.conditions[0]", "cluster_ids must be a list of whole numbers, got [[1]]", id="cluster-ids-nested"),
    pytest.param(one({"kind": "behavior", "last_days": 999999}), "rule.conditions[0]",
                 "last_days must be at most 36500 (100 years), got 999999", id="last-days-huge"),
    pytest.param(one({"kind": "trait", "field": "last_purchase_date", "op": "within_last_days", "value": 999999}),
                 "rule.conditions[0]", "within the last N days: N must be at most 36500 (100 years), got 999999",
                 id="within-last-days-huge"),
    pytest.param(one({"kind": "behavior", "measure": "spend", "threshold": 1e300}), "rule.conditions[0]",
                 "threshold must be between -1e+12 and 1e+12, got 1e+300", id="threshold-huge"),
    pytest.param(one({"kind": "trait", "field": "monetary", "op": "gte", "value": 1e13}), "rule.conditions[0]",
                 "value must be between -1e+12 and 1e+12, got 1e+13", id="trait-number-huge"),
    pytest.param(one({"kind": "trait", "field": "monetary", "op": ["gte"], "value": 1}), "rule.conditions[0]",
                 "op must be text, got ['gte']", id="op-as-list"),
    pytest.param(one({"kind": ["trait"]}), "rule.conditions[0]", "kind must be text, got ['trait']", id="kind-as-list"),
    pytest.param(one({"kind": "membership", "of": "lookalike", "model_id": "lal-1", "reach_pct": "abc"}),
                 "rule.conditions[0]", "reach_pct must be a number or null, got 'abc'", id="reach-as-text"),
    pytest.param(one({"kind": "membership", "of": "segment", "segment_id": "a\x00b"}), "rule.conditions[0]",
                 "segment_id 'a\\x00b' contains control characters (tabs, newlines or NUL); use plain text",
                 id="nul-in-segment-id"),
    pytest.param(one({"kind": "trait", "field": "gender", "op": "in", "values": ["F\x00"]}), "rule.conditions[0]",
                 "values: 'F\\x00' contains control characters (tabs, newlines or NUL); use plain text",
                 id="nul-in-a-value"),
    pytest.param({"name": "x", "split": [1, 2]}, "split", "a split is a JSON object, got [1, 2]", id="split-as-list"),
    pytest.param({"name": "x", "split": {"control_pct": "10", "arms": [{"name": "t", "share_pct": 90}]}}, "split",
                 "control_pct must be a number, got '10'", id="control-as-text"),
    pytest.param({"name": "x", "split": {"control_pct": 10, "arms": [1]}}, "split.arms[0]",
                 "an arm is a JSON object with a name and a share_pct, got 1", id="arm-as-number"),
    pytest.param({"name": "x", "split": {"control_pct": 10, "arms": [{"name": "t", "share_pct": 90, "x": 1}]}},
                 "split.arms[0]", "unknown key(s) x for an arm", id="arm-unknown-key"),
    pytest.param({"name": "x", "description": 5}, "description", "description must be text, got 5", id="description-as-number"),
    pytest.param({"name": "x", "schema_version": True}, "schema_version", "schema_version must be a whole number, got True",
                 id="schema-version-as-boolean"),
    pytest.param({"name": 5}, "name", "a segment needs a name (text), got 5", id="name-as-number"),
    pytest.param({"name": "x", "rule": {"match": "all", "conditions": "abc"}}, "rule",
                 "conditions must be a list, got 'abc'", id="conditions-as-text"),
])
def test_a_wrong_type_or_an_unbounded_number_is_one_error_naming_the_place(data, where, reason):
    error = refusal(data)
    assert (error.where, error.reason) == (where, reason)
    assert "\n" not in str(error)


def nested(depth: int) -> dict:
    rule: dict = {"kind": "group", "match": "all", "conditions": [{"kind": "trait", "field": "email_opt_in", "op": "is_true"}]}
    for _ in range(depth - 1):
        rule = {"kind": "group", "match": "all", "conditions": [rule]}
    return {"name": "deep", "rule": {"match": "all", "conditions": [rule]}}


def test_groups_nest_at_most_max_depth_levels():
    SegmentDefinition.from_dict(nested(MAX_DEPTH))  # the limit itself is fine
    error = refusal(nested(MAX_DEPTH + 1))
    assert error.reason == f"groups nest more than {MAX_DEPTH} levels deep; flatten the rule"
    assert error.where == "rule" + ".conditions[0]" * (MAX_DEPTH + 1)
    # Far past what Python's own recursion allows: still one error, from the JSON text too.
    assert refusal(nested(5000)).reason == error.reason
    with pytest.raises(SpecError, match=f"groups nest more than {MAX_DEPTH} levels deep"):
        SegmentDefinition.from_json('{"name": "x", "rule": ' + '{"conditions": [' * 3000 + "]}" * 3000 + "}")


VALID = [
    one({"kind": "trait", "field": "gender", "op": "in", "values": ["F"]}),
    one({"kind": "trait", "field": "monetary", "op": "between", "low": 10, "high": 500.5}),
    one({"kind": "trait", "field": "last_purchase_date", "op": "within_last_days", "value": 30}),
    one({"kind": "behavior", "measure": "spend", "comparator": "at_most", "threshold": 50, "categories": ["beauty"],
         "start": "2026-01-01", "end": "2026-06-30", "negate": True}),
    one({"kind": "membership", "of": "cluster", "run_id": "run-1", "cluster_ids": [0, 2], "negate": False}),
    one({"kind": "membership", "of": "lookalike", "model_id": "lal-1", "reach_pct": 5}),
    one({"kind": "membership", "of": "segment", "segment_id": "s", "version": 2},
        split={"control_pct": 10, "arms": [{"name": "a", "share_pct": 45}, {"name": "b", "share_pct": 45}]}),
]
BAD_VALUES = ["false", "", "FX", [], [[1]], {}, {"a": 1}, True, None, 0, -1, 1.5, 1e300, -1e300, 10**30,
              "2026-13-45", "\x00", "a\x00b"]


def leaves(node, trail=()):
    """Every (path, value) of a JSON document, containers included."""
    yield trail, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*trail, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from leaves(value, (*trail, i))


def replaced(document, trail, value):
    out = copy.deepcopy(document)
    target = out
    for step in trail[:-1]:
        target = target[step]
    target[trail[-1]] = value
    return out


@pytest.mark.parametrize("index", range(len(VALID)))
def test_any_wrong_value_anywhere_is_a_segment_studio_error_never_a_crash(index):
    document = VALID[index]
    compile_definition(SegmentDefinition.from_dict(document), CATALOG,
                       resolver=lambda segment_id, version: SegmentDefinition("x"))
    tried = 0
    for trail, _ in list(leaves(document)):
        if not trail:
            continue
        for bad in BAD_VALUES:
            data = replaced(document, trail, bad)
            try:
                definition = SegmentDefinition.from_dict(data)
                compiled = compile_definition(definition, CATALOG,
                                              resolver=lambda segment_id, version: SegmentDefinition("x"))
                compiled.sql("duckdb")
                assert json.loads(definition.to_json()) is not None
            except (SpecError, CompileError) as exc:
                assert isinstance(exc, SegmentStudioError) and exc.reason and "\n" not in str(exc), (trail, bad)
            tried += 1
    assert tried > 50


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_numbers_must_be_finite(value):
    error = refusal(one({"kind": "trait", "field": "monetary", "op": "gte", "value": value}))
    assert error.where == "rule.conditions[0]" and "value must be a finite number" in error.reason

