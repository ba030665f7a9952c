"""Sample campaigns: at least eight, each with a brief, installed on build, compiling
for both dialects and running."""

from __future__ import annotations

import sqlglot

from services.segments.campaigns import sample_campaigns
from services.segments.catalog import load_catalog
from services.segments.compiler import compile_definition
from services.segments.library import SegmentLibrary


def test_at_least_eight_campaigns_with_briefs():
    samples = sample_campaigns()
    assert len(samples) >= 8
    for sample in samples:
        assert sample.segment_id.startswith("sample-")
        assert {"goal", "channel", "offer", "kpi", "holdout_pct"} <= set(sample.brief)
        if sample.brief["holdout_pct"]:
            assert sample.definition.split.control_pct == sample.brief["holdout_pct"]


def test_every_sample_compiles_for_both_dialects_and_runs(demo_warehouse):
    catalog = load_catalog(demo_warehouse)
    for sample in sample_campaigns():
        compiled = compile_definition(sample.definition, catalog, segment_id=sample.segment_id)
        for dialect in ("databricks", "duckdb"):
            text = compiled.sql(dialect)
            assert sqlglot.parse_one(text, read=dialect) is not None
        members = demo_warehouse.df(compiled.sql("duckdb"))
        assert len(members) > 0, sample.segment_id
        assert members["customer_id"].is_unique
        if sample.definition.split is not None:
            assert set(members["split_group"]) <= {"control", "treatment"}


def test_build_installed_the_samples_with_their_counts(demo_warehouse):
    library = SegmentLibrary(demo_warehouse)
    listed = library.list()
    samples = {s.segment_id for s in sample_campaigns()}
    assert samples <= set(listed["segment_id"])
    catalog = load_catalog(demo_warehouse)
    for sample_id in samples:
        saved = library.get(sample_id)
        compiled = compile_definition(saved.definition, catalog, segment_id=sample_id)
        assert saved.audience_size == demo_warehouse.scalar(compiled.count_query())
        assert library.info(sample_id)["brief"]["goal"]
