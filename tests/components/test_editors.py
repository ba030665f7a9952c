"""Every kind of condition is whole: an editor in the Builder, a generator for the cross-engine
tests, and what each draws or starts from goes through the compiler (a hand-built catalog)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from components.rule_editor import EDITORS
from services.segments.catalog import Domain, FeatureCatalog
from services.segments.compiler import compile_definition
from services.segments.compiler.draft import compile_draft
from services.segments.conditions import KINDS, Draw
from services.segments.features import FEATURES
from services.segments.spec import Group, SegmentDefinition

CATALOG = FeatureCatalog(
    features=FEATURES,
    domains={f.name: Domain(values=((f"{f.name}-a", 3), (f"{f.name}-b", 1))) for f in FEATURES if f.type == "category"},
    as_of_date=date(2026, 10, 31), base_count=4,
    behavior_values={"categories": ("beauty", "home"), "channels": ("app", "web"), "merchants": ("M-1",),
                     "products": ("P-1", "P-2")},
    cluster_runs={"run-1": (0, 1, 2)}, lookalike_models=("lal-1",))
#: a value of each feature type as the gold table would hold it
VALUES = {"number": 12, "date": date(2026, 9, 1), "boolean": True}
SAVED = SegmentDefinition("saved", Group("all"))


def value_of(field: str):
    meta = CATALOG.feature(field)
    return VALUES.get(meta.type, f"{field}-a")


def resolver(segment_id: str, version: int | None) -> SegmentDefinition:
    return SAVED


def test_every_kind_has_an_editor_and_every_editor_a_kind():
    assert set(EDITORS) == set(KINDS)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_draws_conditions_that_survive_json_and_compile(name):
    kind = KINDS[name]
    draw = Draw(random.Random(7), CATALOG, value_of, ("seg-1",))
    drawn = [kind.generate(draw) for _ in range(25)] + list(kind.singles(draw))
    assert drawn and all(isinstance(c, kind.spec) and c.kind == name for c in drawn)
    for condition in drawn:
        definition = SegmentDefinition("drawn", Group("all", (condition,)))
        # A trait keeps a date as given; its JSON form is what must survive.
        assert SegmentDefinition.from_json(definition.to_json()).to_json() == definition.to_json()
        compiled = compile_definition(definition, CATALOG, resolver=resolver)
        assert compiled.steps[0][0] == condition.describe()
        assert list(kind.coverage(condition, CATALOG))[0].startswith(f"{name}:")


@pytest.mark.parametrize("name", sorted(EDITORS))
def test_a_new_condition_of_every_kind_is_counted_or_left_out_with_a_reason(name):
    node = {"kind": name, **EDITORS[name].blank}
    draft = compile_draft({"name": "new", "rule": {"kind": "group", "match": "all", "conditions": [node]}},
                          CATALOG, resolver=resolver)
    assert len(draft.definition.rule.conditions) + len(draft.left_out) == 1
    assert all(item.path == (0,) and item.reason for item in draft.left_out)
