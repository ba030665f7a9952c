"""Saved clustering runs on a real DuckDB: SQL membership equals the in-memory model,
and each cluster's rule explanation, run as a segment, has the precision and recall it claims."""

from __future__ import annotations

import dataclasses

import pytest

from services.discovery import fitting, store
from services.discovery.profiles import cluster_name
from services.errors import SpecError
from services.segments.catalog import saved_targets
from services.segments.compiler import compile_definition
from services.segments.spec import Group, SegmentDefinition

FEATURES = ("recency_days", "frequency", "monetary", "online_share", "discount_share")


def members(warehouse, catalog, definition: SegmentDefinition) -> set[str]:
    compiled = compile_definition(definition, catalog)
    return set(warehouse.arrow(compiled.members_query()).column("customer_id").to_pylist())


@pytest.fixture(scope="module")
def run(scratch_warehouse, scratch_catalog):
    result, timings = fitting.run_clustering(
        scratch_warehouse, scratch_catalog, features=FEATURES, algorithm="kmeans", k=4, scaling="log1p",
        random_state=0, author="test@example.com")
    assert timings.total_s > 0
    return result


@pytest.fixture(scope="module")
def catalog_with_runs(scratch_warehouse, scratch_catalog, run):
    return scratch_catalog.with_targets(saved_targets(scratch_warehouse))


def test_the_run_is_saved_with_its_profile(scratch_warehouse, run):
    loaded = store.load_run(scratch_warehouse, run.run_id)
    assert loaded.cluster_ids == (1, 2, 3, 4) == run.cluster_ids
    assert loaded.features == FEATURES and loaded.scaling == "log1p" and loaded.k == 4
    summary = loaded.profile.summary
    assert summary["size"].sum() == run.customers == len(run.labels)
    assert summary["share"].sum() == pytest.approx(1.0)
    assert summary["revenue_share"].sum() == pytest.approx(1.0)
    assert list(summary["size"]) == sorted(summary["size"], reverse=True)
    assert set(loaded.profile.zscores.columns) >= set(FEATURES)
    assert summary["name"].is_unique


def test_every_cluster_in_sql_is_the_in_memory_cluster(scratch_warehouse, catalog_with_runs, run):
    saved = store.assignments(scratch_warehouse, run.run_id)
    assert saved.sort_index().equals(run.labels.sort_index().astype(saved.dtype))
    for cluster in run.cluster_ids:
        expected = set(run.labels.index[run.labels == cluster])
        assert members(scratch_warehouse, catalog_with_runs, run.segment(cluster)) == expected


def test_rule_explanations_match_their_clusters_as_claimed(scratch_warehouse, catalog_with_runs, run):
    assert run.profile.rules, "k-means on these features should give at least one explainable cluster"
    for cluster, rule in run.profile.rules.items():
        cluster_members = set(run.labels.index[run.labels == cluster])
        selected = members(scratch_warehouse, catalog_with_runs, rule.definition)
        hits = len(selected & cluster_members)
        assert len(selected) == rule.selected
        assert hits / len(selected) == pytest.approx(rule.precision)
        assert hits / len(cluster_members) == pytest.approx(rule.recall)
        # a rule is an ordinary definition: JSON round trip, traits only
        assert SegmentDefinition.from_json(rule.definition.to_json()) == rule.definition
    best = max(r.precision * r.recall for r in run.profile.rules.values())
    assert best > 0.5


def test_a_map_selection_is_a_static_segment(scratch_warehouse, scratch_catalog, run):
    chosen = list(run.labels.index[:25]) + ["no-such-customer"]
    selection = store.save_selection(scratch_warehouse, chosen, name="Lasso on the map",
                                            author="test@example.com", as_of_date=scratch_catalog.as_of_date,
                                            source_run_id=run.run_id)
    assert selection.customers == 25 and selection.kind == "selection"
    catalog = scratch_catalog.with_targets(saved_targets(scratch_warehouse))
    assert members(scratch_warehouse, catalog, selection.segment(1)) == set(chosen[:25])
    assert selection.run_id not in set(store.list_runs(scratch_warehouse)["run_id"])


def test_an_empty_selection_is_refused(scratch_warehouse):
    with pytest.raises(SpecError, match="selection is empty"):
        store.save_selection(scratch_warehouse, [], name="x", author="a", as_of_date=None)


def test_unknown_runs_and_clusters_are_refused_by_the_catalog(catalog_with_runs, run):
    with pytest.raises(SpecError, match="does not exist"):
        compile_definition(SegmentDefinition("x", Group("all", (
            dataclasses.replace(run.membership(1), run_id="run-missing"),))), catalog_with_runs)
    with pytest.raises(SpecError, match="has no cluster 9"):
        compile_definition(SegmentDefinition("x", Group("all", (run.membership(9),))), catalog_with_runs)


def test_features_outside_the_catalog_are_refused(scratch_warehouse, scratch_catalog):
    with pytest.raises(SpecError, match="not in the feature catalog"):
        fitting.run_clustering(scratch_warehouse, scratch_catalog, features=("monetary", "x; drop table"),
                                    author="a")
    with pytest.raises(SpecError, match="category field"):
        fitting.run_clustering(scratch_warehouse, scratch_catalog, features=("region",), author="a")


def test_names_come_from_the_most_distinctive_features(scratch_catalog):
    import pandas as pd

    z = pd.Series({"monetary": 1.4, "frequency": 0.9, "online_share": 0.6, "recency_days": 0.1})
    assert cluster_name(z, scratch_catalog) == "High spend, frequent, online"
    assert cluster_name(-z, scratch_catalog) == "Low spend, infrequent, in-store"
    assert cluster_name(z * 0.1, scratch_catalog) == "Typical customers"


def test_saved_runs_survive_a_full_rebuild(scratch_warehouse, scratch_catalog, run):
    from services.build import run_pipeline

    before = store.assignments(scratch_warehouse, run.run_id)
    run_pipeline(scratch_warehouse, full_refresh=True)
    after = store.assignments(scratch_warehouse, run.run_id)
    assert after.equals(before)
    catalog = scratch_catalog.with_targets(saved_targets(scratch_warehouse))
    assert members(scratch_warehouse, catalog, run.segment(2)) == set(run.labels.index[run.labels == 2])
