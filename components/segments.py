"""Cached wrappers around the segment services.

Cached functions take plain values (paths, JSON text, a build marker), never
widgets or warehouses. The build marker (when the gold table was last
rebuilt) is part of every key, so a rebuild invalidates the catalog and
every estimate without clearing anything by hand.

A page makes one ``workspace`` per rerun (the cached catalog, the library) and
compiles through it; what it compiled is handed to the cached functions as an
unhashed ``_compiled`` argument (Streamlit leaves parameters named with a leading
underscore out of the key), so a cache miss computes from it instead of compiling
again. The definition's JSON is only the key.
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
from services.segments.compiler import CompiledSegment
from services.segments.estimate import Estimate, estimate, overlaps, preview
from services.segments.library import SegmentLibrary
from services.segments.workspace import Workspace


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


def workspace(path: str) -> Workspace:
    """Compiling and saving for this rerun: the cached catalog (with the saved runs and models) and the library."""
    return Workspace(get_warehouse(path), catalog=catalog(path), library=library(path))


def _key(compiled: CompiledSegment) -> str:
    return compiled.definition.to_json(indent=None)


@st.cache_data(ttl=600, max_entries=500, show_spinner=False)
def _cached_estimate(path: str, marker: str, definition_json: str, segment_key: str,
                     _compiled: CompiledSegment) -> Estimate:
    return estimate(get_warehouse(path), _compiled)


def cached_estimate(path: str, compiled: CompiledSegment) -> Estimate:
    return _cached_estimate(path, build_marker(path), _key(compiled), compiled.segment_key, compiled)


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _cached_overlaps(path: str, marker: str, definition_json: str, library_version: str,
                     _workspace: Workspace, _compiled: CompiledSegment):
    others = {}
    for row in _workspace.library.list().itertuples():
        try:
            _, others[row.segment_id] = _workspace.compile_saved(row.segment_id)
        except SegmentStudioError:  # a saved segment that no longer compiles is left out of the overlap
            continue
    return overlaps(_workspace.warehouse, _compiled, others)


def cached_overlaps(path: str, ws: Workspace, compiled: CompiledSegment, library_version: str):
    """Overlap with every saved segment, by segment id; ``library_version`` changes when segments are saved."""
    return _cached_overlaps(path, build_marker(path), _key(compiled), library_version, ws, compiled)


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _cached_preview(path: str, marker: str, definition_json: str, show_pii: bool, _compiled: CompiledSegment):
    return preview(get_warehouse(path), _compiled, limit=25, show_pii=show_pii)


def cached_preview(path: str, compiled: CompiledSegment, show_pii: bool):
    return _cached_preview(path, build_marker(path), _key(compiled), show_pii, compiled)


@st.cache_data(ttl=10, show_spinner=False)
def cached_library(path: str, search: str, include_archived: bool):
    return library(path).list(search=search or None, include_archived=include_archived)


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_field_health(path: str, marker: str):
    return quality_results.field_health(get_warehouse(path))


def field_health(path: str):
    """Null rate, as-of date and failing checks per gold field (per build)."""
    return _cached_field_health(path, build_marker(path))
