"""docs/segment-spec.md stays true: its examples are real definitions and its
field table is exactly the feature catalog.

* every ```json block is a whole segment definition, unless the line before it
  is an HTML comment starting with ``<!-- not-a-definition``; each definition
  parses with ``SegmentDefinition.from_json`` and survives a round trip;
* the table between ``<!-- fields:start -->`` and ``<!-- fields:end -->`` lists
  exactly the names (and types, units, labels, meanings) of ``FEATURES``;
* the examples compile against a demo warehouse, and the ```sql block printed
  in the doc is what the compiler prints for its definition.

Run this file directly (``python -m tests.docs.test_segment_spec_doc``) to print
a fresh field table to paste into the doc after changing a feature in the gold
model's contract (``sql/models/gold/gold_customer_features.yml``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date
from pathlib import Path

import pytest

from services.segments.features import FEATURES, OPS_BY_TYPE
from services.segments.spec import (
    Behavior,
    Group,
    Membership,
    SegmentDefinition,
    Trait,
    walk,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "segment-spec.md"
SKIP_MARK = "<!-- not-a-definition"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)

# Registered for the compile test so the cluster and lookalike examples validate.
CLUSTER_RUNS = {"run-2026-10-31-kmeans": (0, 1, 2, 3, 4, 5)}
LOOKALIKE_MODELS = ("lal-champions-v1",)


def render_field_table() -> str:
    """The field table exactly as the doc carries it, generated from FEATURES."""
    lines = ["| Field | Type | Unit | Whole number | Group | Label | Meaning |", "|---|---|---|---|---|---|---|"]
    for f in FEATURES:
        whole = "yes" if f.integer else ("no" if f.type == "number" else "—")
        lines.append(f"| `{f.name}` | {f.type} | {f.unit or '—'} | {whole} | {f.group} | {f.label} | {f.description} |")
    return "\n".join(lines)


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _blocks(lang: str) -> list[tuple[int, str, bool]]:
    """(line number, body, marked not-a-definition) of every fenced block in ``lang``."""
    text = _text()
    out = []
    for m in FENCE.finditer(text):
        if m.group("lang") != lang:
            continue
        before = [ln.strip() for ln in text[: m.start()].splitlines() if ln.strip()]
        marked = bool(before) and before[-1].startswith(SKIP_MARK)
        out.append((text.count("\n", 0, m.start()) + 1, m.group("body"), marked))
    return out


def _definitions() -> list[tuple[int, str]]:
    return [(line, body) for line, body, marked in _blocks("json") if not marked]


def _between(start: str, end: str) -> str:
    text = _text()
    assert start in text and end in text, f"{DOC.name} lacks the {start} ... {end} markers"
    return text.split(start, 1)[1].split(end, 1)[0].strip()


DEFINITIONS = _definitions()


# -- the json blocks ------------------------------------------------------
def test_doc_has_the_examples_it_promises():
    assert len(DEFINITIONS) >= 6
    parsed = [SegmentDefinition.from_json(body) for _, body in DEFINITIONS]
    conditions = [c for d in parsed for c in walk(d.rule)]
    assert any(isinstance(c, Trait) for c in conditions)
    assert any(isinstance(c, Behavior) for c in conditions)
    assert any(isinstance(c, Behavior) and c.negate for c in conditions), "a did-not-buy example"
    assert {c.of for c in conditions if isinstance(c, Membership)} == {"segment", "cluster", "lookalike"}
    assert any(isinstance(c, Group) for c in conditions), "a nested-group example"
    assert any(d.split is not None for d in parsed), "a split example"


@pytest.mark.parametrize("line,body", DEFINITIONS, ids=[f"line{line}" for line, _ in DEFINITIONS])
def test_json_block_is_a_definition_that_round_trips(line, body):
    definition = SegmentDefinition.from_json(body)
    again = SegmentDefinition.from_json(definition.to_json())
    assert again == definition
    assert again.to_json() == definition.to_json()
    # Nothing in the block was silently dropped (unknown top-level keys are ignored by from_dict).
    assert set(json.loads(body)) <= {"schema_version", "name", "description", "rule", "split"}


def test_marked_blocks_are_valid_json_and_wrapped_definitions_parse():
    marked = [(line, body) for line, body, m in _blocks("json") if m]
    assert marked, "the doc shows at least one fragment or wrapped form"
    for line, body in marked:
        data = json.loads(body)  # every block is at least valid JSON
        if isinstance(data, dict) and "definition" in data:
            definition = SegmentDefinition.from_dict(data["definition"])
            assert SegmentDefinition.from_json(definition.to_json()) == definition, f"line {line}"


def test_examples_use_known_fields_with_operators_of_their_type():
    by_name = {f.name: f for f in FEATURES}
    for line, body in DEFINITIONS:
        for c in walk(SegmentDefinition.from_json(body).rule):
            if isinstance(c, Trait):
                assert c.field in by_name, f"line {line}: {c.field}"
                assert c.op in by_name[c.field].operators, f"line {line}: {c.field} {c.op}"


# -- the tables -----------------------------------------------------------
def test_field_table_lists_exactly_the_features():
    table = _between("<!-- fields:start -->", "<!-- fields:end -->")
    names = re.findall(r"^\|\s*`([^`]+)`\s*\|", table, re.M)
    assert len(names) == len(set(names)), "a field is listed twice"
    assert names == [f.name for f in FEATURES]


def test_field_table_is_the_generated_one():
    assert _between("<!-- fields:start -->", "<!-- fields:end -->") == render_field_table()


def test_operator_table_matches_the_types():
    table = _between("<!-- operators:start -->", "<!-- operators:end -->")
    rows = {m.group(1): tuple(re.findall(r"`(\w+)`", m.group(2)))
            for m in re.finditer(r"^\|\s*(\w+)\s*\|(.*)\|\s*$", table, re.M) if m.group(1) in OPS_BY_TYPE}
    assert rows == dict(OPS_BY_TYPE)


# -- against a warehouse --------------------------------------------------
@pytest.fixture(scope="module")
def catalog(demo_warehouse):
    from services.segments.catalog import SavedTargets, load_catalog

    return load_catalog(demo_warehouse, targets=SavedTargets(cluster_runs=CLUSTER_RUNS, lookalike_models=LOOKALIKE_MODELS))


def _compile(definition, catalog, warehouse):
    from services.segments.compiler import compile_definition
    from services.segments.library import SegmentLibrary

    return compile_definition(definition, catalog, resolver=SegmentLibrary(warehouse).resolver)


def test_examples_compile_and_run(demo_warehouse, catalog):
    from services.segments.estimate import count

    base = catalog.base_count
    for line, body in DEFINITIONS:
        definition = SegmentDefinition.from_json(body)
        compiled = _compile(definition, catalog, demo_warehouse)
        assert compiled.sql("databricks")
        if any(isinstance(c, Membership) and c.of != "segment" for c in walk(definition.rule)):
            continue  # no clustering run or lookalike model tables in the demo warehouse
        assert 0 <= count(demo_warehouse, compiled) <= base, f"line {line}"


def test_sql_example_is_what_the_compiler_prints(demo_warehouse, catalog):
    sql_blocks = [body for _, body, _ in _blocks("sql")]
    assert sql_blocks, "the doc shows the SQL of one example"
    by_name = {d.name: d for d in (SegmentDefinition.from_json(b) for _, b in DEFINITIONS)}
    for body in sql_blocks:
        name = re.match(r"-- Segment: (.*)\n", body).group(1)
        as_of = date.fromisoformat(re.search(r"as-of date, (\d{4}-\d{2}-\d{2})\.", body).group(1))
        at_doc_date = dataclasses.replace(catalog, as_of_date=as_of)
        compiled = _compile(by_name[name], at_doc_date, demo_warehouse)
        assert compiled.sql("databricks") == body.rstrip("\n")


if __name__ == "__main__":
    print(render_field_table())
