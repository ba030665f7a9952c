"""The warehouse connection and status, cached for every session of the app.

Everything cached here is keyed by a warehouse key (``warehouse_key``): the
DuckDB file's path locally, exactly as before; on Databricks the engine and
the identity the queries run as. With on-behalf-of-user identity every user
has their own key, so no connection and no cached result is ever shared
between users; with the app's service principal there is one key for all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

from components.progress import progress_bar
from components.request import forwarded_access_token, settings as session_settings
from services.build import build, run_pipeline
from services.errors import ConfigError, SegmentStudioError, WarehouseError
from services.settings import Settings
from services.status import (
    WarehouseStatus,
    expected_full_build_seconds,
    warehouse_status,
)
from services.warehouse import Warehouse
from services.warehouse.databricks_engine import DatabricksWarehouse
from services.warehouse.databricks_identity import identity_for
from services.warehouse.duckdb_engine import DuckDBWarehouse
from services.warehouse.querylog import LoggedWarehouse, QueryContext
from services.warehouse.roundtrips import CountingWarehouse

DATABRICKS_KEY_PREFIX = "databricks:"


def warehouse_key(settings: Settings, access_token: str | None = None) -> str:
    """The key every cached warehouse, connection and result of this session hangs on.

    ``access_token`` is the signed-in user's forwarded token; when it is not
    given it is read from the request (only used with on-behalf-of-user identity).
    """
    if settings.engine != "databricks":
        return str(settings.warehouse_path)
    return DATABRICKS_KEY_PREFIX + _databricks_identity(settings, access_token).key


def _databricks_identity(settings: Settings, access_token: str | None = None):
    if access_token is None and settings.databricks.identity == "user":
        access_token = forwarded_access_token()
    return identity_for(settings.databricks, access_token)


def _release(warehouse: LoggedWarehouse) -> None:
    # An evicted Databricks identity closes its sessions on the warehouse; the
    # DuckDB file stays open for the life of the process, as it always has.
    if warehouse.engine != "DuckDB":
        warehouse.inner.close()


@st.cache_resource(show_spinner=False, max_entries=64, on_release=_release)
def get_warehouse(path: str) -> LoggedWarehouse:
    """One warehouse per key (see ``warehouse_key``): a DuckDB file, or one Databricks identity.

    DuckDB: one connection per app process; each query takes its own cursor.
    Databricks: a small pool of connections for one identity, opened lazily.
    Every query the app runs is logged (who, page, segment, duration, rows) to
    the ops source, which the Cost page turns into cost per page and segment.
    Under the log, every round trip is counted (``CountingWarehouse``): tests hold
    each interaction to its budget, and bench/remote.py slows each one down.
    """
    settings = session_settings()
    if not path.startswith(DATABRICKS_KEY_PREFIX):
        return _logged(DuckDBWarehouse(path), settings)
    identity = _databricks_identity(settings)
    if DATABRICKS_KEY_PREFIX + identity.key != path:
        # Only the session that owns an identity can open its warehouse.
        raise ConfigError("this session's Databricks identity does not match the warehouse it asked for; reload the page")
    return _logged(DatabricksWarehouse(settings.databricks, identity), settings)


def _logged(engine: Warehouse, settings: Settings) -> LoggedWarehouse:
    counted = CountingWarehouse(engine, latency_s=settings.latency_ms / 1000, trace=settings.round_trip_trace)
    return LoggedWarehouse(counted, batch_size=20, fallback_context=_session_context)


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
    warehouse = get_warehouse(warehouse_key(settings))
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
    warehouse = get_warehouse(warehouse_key(settings))
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


T = TypeVar("T")


def ready_or_stop(settings: Settings, load: Callable[[str], T], *, failure: str = "The warehouse is not ready") -> T:
    """``load(warehouse key)`` once the warehouse is built; ``failure`` and the reason in the page (and stop) when it cannot be."""
    try:
        ensure_built(settings)
        return load(warehouse_key(settings))
    except SegmentStudioError as exc:
        st.error(f"{failure}: {exc}")
        st.stop()


def ensure_built(settings: Settings) -> WarehouseStatus:
    """Build the demo warehouse on first start, or bring one built by an earlier version up to date."""
    path = warehouse_key(settings)
    status = cached_status(path)
    if settings.engine == "databricks":
        # The customer's data is never replaced by demo data from a page view: the scheduled
        # build job (databricks.yml) builds gold, and creates what a new version adds.
        if status.is_built:
            return status
        raise WarehouseError("the gold tables are not built on the Databricks SQL warehouse yet: run the "
                             "segment-studio build job (see docs/deploy-databricks.md), then reload")
    if status.is_built and not status.missing_tables:
        return status
    if status.is_built:
        # A build adds the new tables and fills them from what has landed; nothing is regenerated.
        return _build_in_page(settings, path, f"Upgrading the warehouse: {len(status.missing_tables)} new "
                                              "table(s) to create and fill. This happens once.")
    return _build_in_page(settings, path, "No warehouse yet: building the demo retail warehouse. "
                                          "This happens once and takes a minute or two.")


def _build_in_page(settings: Settings, path: str, message: str) -> WarehouseStatus:
    st.info(message)
    with progress_bar() as progress:
        build(get_warehouse(path), customers=settings.demo_customers, seed=settings.demo_seed, progress=progress)
    cached_status.clear()
    return cached_status(path)


@st.cache_data(ttl=60, show_spinner=False)
def expected_rebuild(path: str) -> float | None:
    return expected_full_build_seconds(get_warehouse(path).inner)


def rebuild(settings: Settings, *, progress):
    """A full refresh of the pipeline; clears every cached figure afterwards."""
    result = run_pipeline(get_warehouse(warehouse_key(settings)), full_refresh=True, progress=progress)
    st.cache_data.clear()
    return result
