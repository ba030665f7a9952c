"""The warehouse connection and status, cached for every session of the app."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import streamlit as st

from services.errors import SegmentStudioError
from services.pipeline.runner import build
from services.querylog import LoggedWarehouse, QueryContext
from services.settings import Settings
from services.status import WarehouseStatus, warehouse_status
from services.warehouse.duckdb_engine import DuckDBWarehouse


@st.cache_resource(show_spinner=False)
def get_warehouse(path: str) -> LoggedWarehouse:
    """One DuckDB connection per app process; each query takes its own cursor.

    Every query the app runs is logged (who, page, segment, duration, rows) to
    the ops source, which the Cost page turns into cost per page and segment.
    """
    return LoggedWarehouse(DuckDBWarehouse(path), batch_size=20, fallback_context=_session_context)


def _session_context() -> QueryContext | None:
    """Who runs the current script, read from the session (works on Streamlit's worker threads)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:
        return None
    values = st.session_state.get("query_context")
    return QueryContext(*values) if values else None


@contextmanager
def query_attribution(settings: Settings, user: str, page: str) -> Iterator[None]:
    """Attribute the queries of one script run to the user and page; write the log after it."""
    warehouse = get_warehouse(str(settings.warehouse_path))
    st.session_state["query_context"] = (user, page, "")
    try:
        with warehouse.context(user=user, page=page):
            yield
    finally:
        try:
            warehouse.flush()
        except SegmentStudioError:
            # The query log must never take a page down with it; entries stay buffered.
            pass


@contextmanager
def attribute_segment(settings: Settings, segment_id: str | None) -> Iterator[None]:
    """A block whose queries are attributed to a segment as well (same user and page)."""
    warehouse = get_warehouse(str(settings.warehouse_path))
    user, page, _ = st.session_state.get("query_context", ("", "", ""))
    st.session_state["query_context"] = (user, page, segment_id or "")
    try:
        with warehouse.context(user=user, page=page, segment_id=segment_id):
            yield
    finally:
        st.session_state["query_context"] = (user, page, "")


@st.cache_data(ttl=60, show_spinner=False)
def cached_status(path: str) -> WarehouseStatus:
    return warehouse_status(get_warehouse(path))


def ensure_built(settings: Settings) -> WarehouseStatus:
    """Build the demo warehouse on first start, with progress in the page."""
    path = str(settings.warehouse_path)
    status = cached_status(path)
    if status.is_built:
        return status
    st.info("No warehouse yet: building the demo retail warehouse. This happens once and takes a minute or two.")
    bar = st.progress(0.0, text="starting")
    build(get_warehouse(path), customers=settings.demo_customers, seed=settings.demo_seed,
          progress=lambda step, fraction: bar.progress(min(max(fraction, 0.0), 1.0), text=step))
    bar.empty()
    cached_status.clear()
    return cached_status(path)


@st.cache_data(ttl=60, show_spinner=False)
def expected_rebuild(path: str) -> float | None:
    from services.status import expected_full_build_seconds

    return expected_full_build_seconds(get_warehouse(path).inner)


def rebuild(settings: Settings, *, progress):
    """A full refresh of the pipeline; clears every cached figure afterwards."""
    from services.pipeline.runner import run_pipeline

    result = run_pipeline(get_warehouse(str(settings.warehouse_path)), full_refresh=True, progress=progress)
    st.cache_data.clear()
    return result
