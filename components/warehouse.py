"""The warehouse connection, its status, and what its last build wrote, cached for every session.

Everything cached here is keyed by a warehouse key (``warehouse_key``): the
DuckDB file's path locally, exactly as before; on Databricks the engine and
the identity the queries run as. With on-behalf-of-user identity every user
has their own key, so no connection and no cached result is ever shared
between users, and the warehouse holding the user's token lives in the
session's state, not in a process-wide cache (``get_warehouse``); with the
app's service principal there is one key and one warehouse for all.

The feature catalog the last build wrote (``built_catalog``) is read once per
key and kept until a build writes another: a build in this process forgets it,
and a build elsewhere (the Databricks job, the CLI) is noticed by a background
check of the catalog's build id at most once a minute, which no one waits for.
A page is ready when that catalog reads and was written by this version's DDL
(``ready_or_stop``, checked at the same time as the page's own first reads);
otherwise the warehouse is built or brought up to date first. The query log is
written by a background thread, never on the request path, and only on DuckDB: on
Databricks each statement is tagged with its page and segment instead, and
``system.query.history`` is the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import streamlit as st

from components.background import Kept, together
from components.files import file_stores
from components.progress import progress_bar
from components.request import forwarded_access_token, settings as session_settings
from services.build import build, build_new
from services.errors import ConfigError, SegmentStudioError, WarehouseError
from services.exports.jobs import recover_interrupted
from services.pipeline.models import APP_STATE_TABLES, create_tables
from services.segments.catalog import FeatureCatalog, catalog_marker, read_catalog
from services.segments.catalog_writer import ddl_version
from services.settings import Settings
from services.status import WarehouseStatus, warehouse_status
from services.warehouse import Warehouse
from services.warehouse.databricks_engine import DatabricksWarehouse
from services.warehouse.databricks_identity import OnBehalfOfUser, ServicePrincipal, identity_for
from services.warehouse.duckdb_engine import DuckDBWarehouse
from services.warehouse.querylog import LoggedWarehouse, QueryContext
from services.warehouse.roundtrips import CountingWarehouse
from services.warehouse.routing import RoutingWarehouse

DATABRICKS_KEY_PREFIX = "databricks:"
#: the keys of on-behalf-of-user identities (``OnBehalfOfUser.key`` starts "user-")
USER_KEY_PREFIX = DATABRICKS_KEY_PREFIX + "user-"
#: the session-state slot of the session's own warehouse: (key, warehouse)
SESSION_WAREHOUSE = "databricks_user_warehouse"
#: seconds between writes of the query log (a full batch is written at once)
QUERY_LOG_FLUSH_S = 5.0
#: how old the kept catalog may get before a request checks, in the background, for a newer build
CATALOG_CHECK_S = 60.0


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


def get_warehouse(path: str) -> LoggedWarehouse:
    """The warehouse of a key (see ``warehouse_key``).

    A signed-in user's own token (on-behalf-of-user) lives with their session, never in a
    process-wide cache: the warehouse made from it is kept in the session's state, so no other
    session and no thread the session did not start can reach it, and it goes with the session.
    The DuckDB file and the app's service principal are one warehouse for the whole process.
    """
    if path.startswith(USER_KEY_PREFIX):
        return _session_warehouse(path)
    return _shared_warehouse(path)


def _session_warehouse(path: str) -> LoggedWarehouse:
    held = st.session_state.get(SESSION_WAREHOUSE)
    if held is not None and held[0] == path:
        return held[1]
    settings = session_settings()
    identity = _databricks_identity(settings)
    if DATABRICKS_KEY_PREFIX + identity.key != path:
        # Only the session that holds a token can open a warehouse with it.
        raise ConfigError("this session's Databricks identity does not match the warehouse it asked for; reload the page")
    if held is not None:
        _release(held[1])  # the proxy forwarded a fresh token: the old one's sessions end now
    # Reads run with the user's token (their grants on customer data apply), writes as the app's
    # service principal (users need no MODIFY on the app's schema): services/warehouse/routing.py.
    routed = RoutingWarehouse(DatabricksWarehouse(settings.databricks, identity), _app_writer())
    warehouse = _logged(routed, settings)
    st.session_state[SESSION_WAREHOUSE] = (path, warehouse)
    return warehouse


@st.cache_resource(show_spinner=False)
def _app_writer() -> DatabricksWarehouse:
    """The app's service principal on the SQL warehouse: it writes the app's state for every user."""
    return DatabricksWarehouse(session_settings().databricks, ServicePrincipal())


@st.cache_resource(show_spinner=False, max_entries=64, on_release=_release)
def _shared_warehouse(path: str) -> LoggedWarehouse:
    """One warehouse per key for the whole process: a DuckDB file, or the app's service principal.

    DuckDB: one connection per app process; each query takes its own cursor.
    Databricks: a small pool of connections for one identity, opened lazily.
    Every query the app runs is logged (who, page, segment, duration, rows) to
    the ops source, which the Cost page turns into cost per page and segment.
    Under the log, every round trip is counted (``CountingWarehouse``): tests hold
    each interaction to its budget, and bench/remote.py slows each one down.
    """
    settings = session_settings()
    if not path.startswith(DATABRICKS_KEY_PREFIX):
        if not Path(path).exists():
            # Never created empty by a read: the first build makes the file, whole (ensure_built).
            raise WarehouseError("the warehouse is not built yet")
        duckdb = DuckDBWarehouse(path)
        # This process is now the only one that may write the file (DuckDB's lock): jobs a stopped
        # app or a killed command left running are orphans. Marked failed before any job starts here.
        recover_interrupted(duckdb, output_dir=Path(settings.export_dir), stores=file_stores(settings))
        return _logged(duckdb, settings)
    identity = _databricks_identity(settings)
    if DATABRICKS_KEY_PREFIX + identity.key != path or isinstance(identity, OnBehalfOfUser):
        # Only the session that owns an identity can open its warehouse; a user's never lands here.
        raise ConfigError("this session's Databricks identity does not match the warehouse it asked for; reload the page")
    return _logged(DatabricksWarehouse(settings.databricks, identity), settings)


#: ``get_warehouse.clear()`` lets go of every process-wide warehouse (a stopped app, in tests)
get_warehouse.clear = _shared_warehouse.clear


def _logged(engine: Warehouse, settings: Settings) -> LoggedWarehouse:
    counted = CountingWarehouse(engine, latency_s=settings.latency_ms / 1000, trace=settings.round_trip_trace)
    engines = [engine.reader, engine.writer] if isinstance(engine, RoutingWarehouse) else [engine]
    on_databricks = all(isinstance(e, DatabricksWarehouse) for e in engines)
    # On Databricks system.query.history is the log (every statement tagged with its page and
    # segment): the app writes no row of its own per query. The app's log stays for DuckDB.
    logged = LoggedWarehouse(counted, batch_size=20, fallback_context=_session_context,
                             flush_every_s=QUERY_LOG_FLUSH_S, write_log=not on_databricks)
    if on_databricks:
        for each in engines:
            # The shared writer's tags read the calling thread's context, whichever session set this.
            each.query_tags = logged.query_tags
    return logged


def _session_context() -> QueryContext | None:
    """Who runs the current script, read from the session (works on Streamlit's worker threads)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:
        return None
    values = st.session_state.get("query_context")
    return QueryContext(*values) if values else None


@contextmanager
def query_attribution(settings: Settings, user: str, page: str) -> Iterator[None]:
    """Attribute the queries of one script run to the user and page (the log is written in the background).

    A warehouse that cannot be opened (another process holds the DuckDB file) stops the page
    with the reason in one line.
    """
    if _not_built_yet(settings):
        # The page builds it (ensure_built); its queries go unattributed this once.
        yield
        return
    try:
        warehouse = get_warehouse(warehouse_key(settings))
    except SegmentStudioError as exc:
        st.error(f"Segment Studio cannot open its warehouse: {exc}")
        st.stop()
    st.session_state["query_context"] = (user, page, "")
    with warehouse.context(user=user, page=page):
        yield


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


_catalogs: Kept[FeatureCatalog] = Kept("catalog", max_age_s=CATALOG_CHECK_S)


def built_catalog(path: str) -> FeatureCatalog:
    """The feature catalog the last build wrote (one query the first time), kept until a build writes another."""
    warehouse = get_warehouse(path)
    return _catalogs.get(path, lambda: read_catalog(warehouse), refresh=lambda held: _newer(warehouse, held))


def _newer(warehouse: Warehouse, held: FeatureCatalog) -> FeatureCatalog:
    # One small query; the whole catalog is read again only when a build wrote another.
    return held if catalog_marker(warehouse) == held.marker else read_catalog(warehouse)


def forget_catalog(path: str) -> None:
    """After a build in this process: the next request reads the new catalog."""
    _catalogs.forget(path)


def _catalog_ready(settings: Settings, path: str) -> bool:
    try:
        catalog = built_catalog(path)
    except SegmentStudioError:
        return False
    # On Databricks the build job brings tables up to date, never a page view (see ensure_built).
    return settings.engine == "databricks" or catalog.ddl_version == ddl_version()


def _attempt(load: Callable[[str], T], path: str) -> tuple[T | None, SegmentStudioError | None]:
    try:
        return load(path), None
    except SegmentStudioError as exc:
        return None, exc


def ready_or_stop(settings: Settings, load: Callable[[str], T], *, failure: str = "The warehouse is not ready") -> T:
    """``load(warehouse key)`` once the warehouse is built; ``failure`` and the reason in the page (and stop) when it cannot be.

    Whether it is built is asked at the same time as ``load`` runs (the kept catalog costs
    nothing once read): only when it is not, the warehouse is built or brought up to date
    and ``load`` runs again.
    """
    path = warehouse_key(settings)
    try:
        ready, (value, error) = together(lambda: _catalog_ready(settings, path), lambda: _attempt(load, path))
        if not ready:
            ensure_built(settings)  # a build here forgets the kept catalog
            value, error = _attempt(load, path)
        if error is not None:
            raise error
        return value
    except SegmentStudioError as exc:
        st.error(f"{failure}: {exc}")
        st.stop()


def _not_built_yet(settings: Settings) -> bool:
    """A local warehouse file that does not exist yet (the first start)."""
    return settings.engine != "databricks" and not Path(settings.warehouse_path).exists()


def ensure_built(settings: Settings) -> WarehouseStatus:
    """Build the demo warehouse on first start, or bring one built by an earlier version up to date."""
    path = warehouse_key(settings)
    if _not_built_yet(settings):
        st.info("No warehouse yet: building the demo retail warehouse. This happens once and takes a minute or two.")
        with progress_bar() as progress:
            # Built beside the file and moved into place whole: a stopped app leaves no half-built warehouse.
            build_new(Path(settings.warehouse_path), customers=settings.demo_customers, seed=settings.demo_seed,
                      demo_end=settings.demo_window_end(), progress=progress)
        cached_status.clear()
    status = cached_status(path)
    if status.is_built and status.missing_tables and set(status.missing_tables) <= APP_STATE_TABLES:
        # Tables the app fills as it is used (a new version's): created now, one statement each, on
        # either engine; nothing to fill, so no build, and on Databricks no wait for the build job.
        create_tables(get_warehouse(path), status.missing_tables)
        cached_status.clear()
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
        build(get_warehouse(path), customers=settings.demo_customers, seed=settings.demo_seed,
              demo_end=settings.demo_window_end(), progress=progress)
    cached_status.clear()
    forget_catalog(path)
    return cached_status(path)


def expected_rebuild(path: str) -> float | None:
    """How long a full rebuild should take: read with the status (the same read of the build records)."""
    return cached_status(path).expected_rebuild_s
