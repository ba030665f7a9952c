"""Cached wrappers around the segment services.

Cached functions take plain values (paths, JSON text, a build marker), never
widgets or warehouses. The build marker (when the gold table was last
rebuilt) is part of every key, so a rebuild invalidates the catalog and
every estimate without clearing anything by hand.
"""

from __future__ import annotations

import streamlit as st
from sqlglot import exp

from components.warehouse import get_warehouse
from services import naming
from services.errors import SegmentStudioError
from services.quality import results as quality_results
from services.segments.catalog import (
    FeatureCatalog,
    SavedTargets,
    load_catalog,
    saved_targets,
)
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
    # The saved runs and models change more often than a build: ``catalog`` adds them.
    return load_catalog(get_warehouse(path), targets=SavedTargets())


@st.cache_data(ttl=30, show_spinner=False)
def saved_models(path: str) -> SavedTargets:
    """Clustering runs and lookalike models saved in gold, for membership conditions (cleared on save)."""
    return saved_targets(get_warehouse(path))


def catalog(path: str) -> FeatureCatalog:
    return cached_catalog(path, build_marker(path)).with_targets(saved_models(path))


def model_labels(path: str) -> dict[str, str]:
    """What the builder shows for a run or model id: its name and date, not the id."""
    return saved_models(path).labels


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
    return quality_results.field_health(get_warehouse(path))


def field_health(path: str):
    """Null rate, as-of date and failing checks per gold field (per build)."""
    return _cached_field_health(path, build_marker(path))
