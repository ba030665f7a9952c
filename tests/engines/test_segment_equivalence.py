"""Every golden segment definition selects the same customers on DuckDB and Spark.

Golden definitions: every sample campaign, and a seeded set of random
definitions (one of each kind of condition on its own, then random nested
trees). Definitions are evaluated many at a time, one UNION ALL of
``(def_id, customer_id, split_group)`` per chunk, so Spark runs a handful of
jobs rather than hundreds. Split groups are compared too: the bucket hash is
spelt out in SQL and must agree across engines.
"""

from __future__ import annotations

from collections import defaultdict
from functools import reduce

import pytest
from sqlglot import exp

from services.segments.campaigns import sample_campaigns
from services.segments.compiler import CompiledSegment, compile_definition
from services.segments.features import OPS_BY_TYPE
from services.segments.spec import COMPARATORS
from tests.engines.random_definitions import DefinitionMaker, coverage

pytestmark = pytest.mark.spark

RANDOM_DEFINITIONS = 220
CHUNK = 55
SEED = 20261126


def _members_rows(def_id: int, compiled: CompiledSegment) -> exp.Select:
    members = compiled.members_query(with_split=True).subquery(f"m{def_id}")
    split = (exp.column("split_group", quoted=True) if compiled.definition.split is not None
             else exp.cast(exp.null(), "STRING"))
    return exp.select(exp.Literal.number(def_id).as_("def_id"), exp.column("customer_id", quoted=True),
                      split.as_("split_group")).from_(members)


def members_by_definition(warehouse, compiled: list[CompiledSegment]) -> dict[int, set[tuple]]:
    """def_id -> {(customer_id, split_group)} for every definition, CHUNK definitions per query."""
    out: dict[int, set[tuple]] = defaultdict(set)
    for start in range(0, len(compiled), CHUNK):
        selects = [_members_rows(i, c) for i, c in enumerate(compiled[start:start + CHUNK], start)]
        query = reduce(lambda a, b: exp.union(a, b, distinct=False), selects)
        for row in warehouse.arrow(query).to_pylist():
            out[row["def_id"]].add((row["customer_id"], row["split_group"]))
    return out


def compare(engines, compiled: list[CompiledSegment]) -> dict[int, set[tuple]]:
    duck = members_by_definition(engines.duckdb, compiled)
    spark = members_by_definition(engines.spark, compiled)
    failures = []
    for i, c in enumerate(compiled):
        if duck.get(i, set()) != spark.get(i, set()):
            only_duck = sorted(duck.get(i, set()) - spark.get(i, set()))[:5]
            only_spark = sorted(spark.get(i, set()) - duck.get(i, set()))[:5]
            failures.append(f"#{i} {c.definition.rule.describe()}\n  only DuckDB: {only_duck}\n"
                            f"  only Spark: {only_spark}\n{c.sql('databricks')}")
    assert not failures, f"{len(failures)} of {len(compiled)} definitions differ:\n" + "\n".join(failures[:5])
    return duck


def _resolver(library):
    return lambda segment_id, version: library[segment_id]


def test_sample_campaigns_select_the_same_customers(engines, library):
    compiled = [compile_definition(s.definition, engines.catalog, resolver=_resolver(library), segment_id=s.segment_id)
                for s in sample_campaigns()]
    members = compare(engines, compiled)
    assert all(members.get(i) for i in range(len(compiled))), "every sample campaign selects someone"


@pytest.fixture(scope="module")
def random_definitions(engines, library):
    maker = DefinitionMaker(engines.catalog, engines.gold, sorted(library), SEED)
    return maker.definitions(RANDOM_DEFINITIONS)


def test_random_definitions_cover_every_kind_of_condition(engines, random_definitions):
    seen = coverage(random_definitions, engines.catalog)
    types = {f.type for f in engines.catalog.features}
    wanted = [f"trait:{t}:{op}" for t in types for op in OPS_BY_TYPE[t]]
    wanted += [f"behavior:{m}:{c}" for m in ("orders", "spend") for c in COMPARATORS]
    wanted += [f"behavior:window:{w}" for w in ("ever", "last_days", "range", "start", "end")]
    wanted += ["behavior:negated", "behavior:filtered", "group:all", "group:any", "group:negated", "group:nested",
               "membership:segment", "membership:cluster", "membership:lookalike", "membership:negated", "split"]
    assert len(random_definitions) >= 200
    assert [w for w in wanted if not seen[w]] == []


def test_random_definitions_select_the_same_customers(engines, library, random_definitions):
    compiled = [compile_definition(d, engines.catalog, resolver=_resolver(library)) for d in random_definitions]
    members = compare(engines, compiled)
    # The comparison means something only if most definitions select some customers but not all.
    base = engines.catalog.base_count
    telling = sum(1 for i in range(len(compiled)) if 0 < len(members.get(i, ())) < base)
    assert telling >= 0.4 * len(compiled), f"only {telling} of {len(compiled)} definitions select a proper subset"
