"""Cached wrappers around the segment services.

Cached functions take plain values (paths, JSON text, a build marker), never
widgets or warehouses. The build marker (when the gold table was last
rebuilt) is part of every key, so a rebuild invalidates the catalog and
every estimate without clearing anything by hand.
"""

from __future__ import annotations

import dataclasses

import streamlit as st
from sqlglot import exp

from components.warehouse import get_warehouse
from services import naming
from services.errors import SegmentStudioError
from services.segments.catalog import FeatureCatalog, load_catalog
from services.segments.compiler import CompiledSegment, compile_definition
from services.segments.estimate import Estimate, estimate, overlaps, preview
from services.segments.library import SegmentLibrary
from services.segments.spec import SegmentDefinition


@st.cache_data(ttl=30, show_spinner=False)
def build_marker(path: str) -> str:
    value = get_warehouse(path).scalar(
        exp.select(exp.func("MAX", exp.column("finished_ts"))).from_(naming.fq("app", "app_build_runs"))
        .where(exp.EQ(this=exp.column("status"), expression=exp.Literal.string("succeeded"))))
    return str(value)


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_catalog(path: str, marker: str) -> FeatureCatalog:
    return load_catalog(get_warehouse(path))


@st.cache_data(ttl=30, show_spinner=False)
def saved_models(path: str) -> tuple[dict[str, tuple[int, ...]], tuple[str, ...], dict[str, str]]:
    """Clustering runs and lookalike models saved in gold, for membership conditions (cleared on save):
    {run_id: cluster ids}, model ids, and the name a person gave each run, selection and model."""
    from services.cluster_runs import catalog_runs, list_runs
    from services.lookalike_store import list_models

    warehouse = get_warehouse(path)
    runs = list_runs(warehouse, kind=None)
    models = list_models(warehouse)
    labels = {r.run_id: f"{r.name} ({r.kind}, {r.created_ts:%Y-%m-%d})" for r in runs.itertuples()}
    labels.update({m.model_id: f"{m.name} ({m.created_ts:%Y-%m-%d})" for m in models.itertuples()})
    return catalog_runs(warehouse), tuple(models["model_id"]), labels


def catalog(path: str) -> FeatureCatalog:
    runs, models, _ = saved_models(path)
    return dataclasses.replace(cached_catalog(path, build_marker(path)), cluster_runs=runs, lookalike_models=models)


def model_labels(path: str) -> dict[str, str]:
    """What the builder shows for a run or model id: its name and date, not the id."""
    return saved_models(path)[2]


def library(path: str) -> SegmentLibrary:
    return SegmentLibrary(get_warehouse(path))


def compile_json(path: str, definition_json: str, segment_id: str | None = None) -> CompiledSegment:
    definition = SegmentDefinition.from_json(definition_json)
    return compile_definition(definition, catalog(path), resolver=library(path).resolver, segment_id=segment_id)


@st.cache_data(ttl=600, max_entries=500, show_spinner=False)
def cached_estimate(path: str, marker: str, definition_json: str, segment_id: str | None) -> Estimate:
    return estimate(get_warehouse(path), compile_json(path, definition_json, segment_id))


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def cached_overlaps(path: str, marker: str, definition_json: str, library_version: str):
    lib = library(path)
    saved = lib.list()
    others = {}
    for row in saved.head(12).itertuples():
        try:
            others[row.name] = compile_json(path, lib.get(row.segment_id).definition.to_json(), row.segment_id)
        except SegmentStudioError:  # a saved segment that no longer compiles is left out of the overlap
            continue
    return overlaps(get_warehouse(path), compile_json(path, definition_json), others)


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def cached_preview(path: str, marker: str, definition_json: str, show_pii: bool):
    return preview(get_warehouse(path), compile_json(path, definition_json), limit=25, show_pii=show_pii)


@st.cache_data(ttl=10, show_spinner=False)
def cached_library(path: str, search: str, include_archived: bool):
    return library(path).list(search=search or None, include_archived=include_archived)


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_field_health(path: str, marker: str):
    from services.quality.results import field_health

    return field_health(get_warehouse(path))


def field_health(path: str):
    """Null rate, as-of date and failing checks per gold field (per build)."""
    return _cached_field_health(path, build_marker(path))
