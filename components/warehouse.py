"""The warehouse connection and status, cached for every session of the app."""

from __future__ import annotations

import streamlit as st

from services.pipeline.runner import build
from services.settings import Settings
from services.status import WarehouseStatus, warehouse_status
from services.warehouse.duckdb_engine import DuckDBWarehouse


@st.cache_resource(show_spinner=False)
def get_warehouse(path: str) -> DuckDBWarehouse:
    """One DuckDB connection per app process; each query takes its own cursor."""
    return DuckDBWarehouse(path)


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
