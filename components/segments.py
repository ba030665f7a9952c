"""Cached wrappers around the segment services.

Cached functions take plain values (paths, JSON text, a build marker), never
widgets or warehouses. The build marker (the build id and as-of date of the
feature catalog the last build wrote, kept in memory: no round trip) is part of
every key, so a build invalidates the catalog and every estimate without
clearing anything by hand, and nothing built on it needs a short TTL.

A page makes one ``workspace`` per rerun (the kept catalog, the library) and
compiles through it; what it compiled is handed to the cached functions as an
unhashed ``_compiled`` argument (Streamlit leaves parameters named with a leading
underscore out of the key), so a cache miss computes from it instead of compiling
again. The definition's JSON is only the key. The saved clustering runs and
lookalike models are read only when a rule needs them (a membership condition).
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from components.warehouse import built_catalog, get_warehouse
from services.errors import SegmentStudioError
from services.quality.results import FieldHealth
from services.segments.catalog import FeatureCatalog, SavedTargets, saved_targets
from services.segments.compiler import CompiledSegment
from services.segments.estimate import Estimate, estimate, overlaps, preview
from services.segments.library import SavedVersion, SegmentLibrary, latest_versions
from services.segments.workspace import Workspace


def build_marker(path: str) -> str:
    """The build the cached figures describe: the kept catalog's build id and as-of date."""
    return built_catalog(path).marker


@st.cache_data(ttl=30, show_spinner=False)
def saved_models(path: str) -> SavedTargets:
    """Clustering runs and lookalike models saved in gold, for membership conditions (cleared on save)."""
    return saved_targets(get_warehouse(path))


def catalog(path: str) -> FeatureCatalog:
    """The feature catalog the last build wrote (with no saved runs or models: ``Workspace.catalog_for`` adds them)."""
    return built_catalog(path)


def library(path: str, *, known: Iterable[SavedVersion] = ()) -> SegmentLibrary:
    """The segment library; ``known`` versions (a cached list's latest ones) are never read again."""
    return SegmentLibrary(get_warehouse(path), known=known)


def workspace(path: str, *, known: Iterable[SavedVersion] = ()) -> Workspace:
    """Compiling and saving for this rerun: the kept catalog, the library, and the saved runs and models if needed."""
    return Workspace(get_warehouse(path), catalog=catalog(path), library=library(path, known=known),
                     targets=lambda: saved_models(path))


def listed_versions(path: str) -> tuple[SavedVersion, ...]:
    """The latest version of every saved segment, as the cached list read them (no round trip of its own)."""
    return latest_versions(cached_library(path, "", False))


def _key(compiled: CompiledSegment) -> str:
    return compiled.definition.to_json(indent=None)


@st.cache_data(max_entries=500, show_spinner=False)
def _cached_estimate(path: str, marker: str, definition_json: str, segment_key: str,
                     _compiled: CompiledSegment) -> Estimate:
    return estimate(get_warehouse(path), _compiled)


def cached_estimate(path: str, compiled: CompiledSegment) -> Estimate:
    return _cached_estimate(path, build_marker(path), _key(compiled), compiled.segment_key, compiled)


@st.cache_data(max_entries=200, show_spinner=False)
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


@st.cache_data(max_entries=200, show_spinner=False)
def _cached_preview(path: str, marker: str, definition_json: str, show_pii: bool, _compiled: CompiledSegment):
    return preview(get_warehouse(path), _compiled, limit=25, show_pii=show_pii)


def cached_preview(path: str, compiled: CompiledSegment, show_pii: bool):
    return _cached_preview(path, build_marker(path), _key(compiled), show_pii, compiled)


# Saved segments change with saves, which clear it; the TTL only bounds how late a save made
# by another process (the CLI, a job) shows.
@st.cache_data(max_entries=200, show_spinner=False)
def cached_history(path: str, segment_id: str, latest_version: int) -> tuple[SavedVersion, ...]:
    """Every version of a segment, newest first: one query per segment and latest version (a save
    makes a new latest version, so a new key; nothing older ever changes)."""
    return library(path).history(segment_id)


@st.cache_data(ttl=60, max_entries=50, show_spinner=False)
def cached_library(path: str, search: str, include_archived: bool):
    return library(path).list(search=search or None, include_archived=include_archived)


def field_health(path: str) -> dict[str, FieldHealth]:
    """Null rate, as-of date and failing checks per gold field, as the last build found them (in the catalog)."""
    return built_catalog(path).health
