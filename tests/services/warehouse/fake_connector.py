"""A stand-in for databricks-sql-connector that behaves like a Databricks SQL warehouse.

``FakeConnector`` is what the engine calls instead of ``databricks.sql.connect``.
It is as strict as the service and real in its answers:

* it refuses a statement with more than 256 bound parameters, with the
  server's message ("Parameterized query has too many parameters: N
  parameters were given but the limit is 256", databricks/databricks-sqlalchemy#24),
  and one whose values pass 1 MB ("The maximum size of all parameterized
  values cannot exceed 1MB", databricks-sql-python v4.4.0 docs/parameters.md);
* it refuses more than one statement per call ("SQL warehouses don't support
  multi-statement queries", databricks/databricks-sql-python#214), text it
  cannot read as Databricks SQL, a marker with no value, and a value the
  connector could not bind (it asks the connector's own
  ``dbsql_parameter_from_primitive``);
* it EXECUTES every statement on the DuckDB database the test provides
  (``fake_sql``: names placed in catalogs, Delta's statements, volumes), so
  the rows that come back are real;
* it records every (operation, parameters) pair its cursors were sent, the
  per-statement ``query_tags`` each came with (``tagged``: the keyword of
  ``Cursor.execute`` in databricks-sql-connector==4.9.0:databricks/sql/client.py),
  and every refusal in ``refused``, which a test asserts empty;
* ``row_filters`` ({table name as sent, unplaced: predicate}) is a Unity Catalog
  row filter on this identity: every read of the table through this connector
  sees only the rows the predicate keeps, as a filter function keyed on the
  caller does (https://docs.databricks.com/aws/en/tables/row-and-column-filters);
  a statement's write target is not filtered.

``connector.volumes`` is the Files API of the same volumes COPY INTO reads:
pass it to the engine as ``files``. ``fail_on(fragment, error)`` makes the
next statement containing ``fragment`` fail, before it runs or after (an
interruption mid-build, an answer lost after a commit);
``errors`` fails the next statement whatever it is; ``connect_errors`` the
next connection.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlglot
from databricks.sql.parameters.native import dbsql_parameter_from_primitive
from sqlglot import exp

from services.warehouse.databricks_engine import DatabricksWarehouse
from services.warehouse.databricks_identity import ServicePrincipal, ServicePrincipalCredentials
from services.warehouse.databricks_settings import DatabricksSettings
from tests.services.warehouse.fake_sql import SqlWarehouseSession, refused
from tests.services.warehouse.fake_volumes import FakeVolumes

#: what the server accepts per statement
MAX_PARAMETERS = 256
MAX_VALUE_BYTES = 1_000_000
#: the session catalog when the connection names none (a workspace's default)
DEFAULT_CATALOG = "main"


def _value_bytes(value) -> int:
    if isinstance(value, (list, tuple)):
        return sum(_value_bytes(v) for v in value)
    return len(str(value).encode("utf-8")) if value is not None else 0


class FakeCursor:
    def __init__(self, connection: FakeConnection):
        self.connection = connection
        self.description = None
        self.closed = False
        self._result: pa.Table | None = None

    def execute(self, operation, parameters=None, *, query_tags=None):
        connector = self.connection.connector
        with connector.lock:
            error, after = connector.take_error(operation)
            self.connection.sent.append((operation, parameters))
            self.connection.tagged.append((operation, dict(query_tags) if query_tags is not None else None))
        if error is not None and not after:
            raise error
        try:
            tree = connector.filtered(connector.check(operation, parameters))
            self._result = self.connection.session.run(tree, dict(parameters or {}))
        except Exception as exc:
            with connector.lock:
                connector.refused.append((operation, str(exc)))
            raise
        if error is not None:
            raise error  # the statement ran and committed; its answer is lost
        self.description = [(name, None, None, None, None, None, None) for name in self._result.column_names]
        return self

    def fetchall_arrow(self):
        return self._result

    def close(self):
        self.closed = True


class FakeConnection:
    def __init__(self, connector: FakeConnector, kwargs: dict):
        self.connector = connector
        self.kwargs = kwargs
        self.sent: list[tuple[str, dict | None]] = []
        self.tagged: list[tuple[str, dict | None]] = []
        self.closed = False
        settings = kwargs.get("session_configuration") or {}
        self.session = SqlWarehouseSession(
            connector.database.cursor(), catalog=kwargs.get("catalog") or DEFAULT_CATALOG,
            timezone=settings.get("TIMEZONE") or connector.server_timezone,
            volumes=connector.volumes, loaded=connector.loaded)

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True
        self.session.duck.close()


class FakeConnector:
    def __init__(self, database: duckdb.DuckDBPyConnection | str | Path | None = None, *,
                 volumes: FakeVolumes | None = None, server_timezone: str = "UTC",
                 row_filters: dict[str, str] | None = None):
        """``database``: the DuckDB the statements run on (a new in-memory one by default);
        ``server_timezone``: the warehouse's default zone, which a session's TIMEZONE overrides."""
        if database is None or isinstance(database, (str, Path)):
            database = duckdb.connect(str(database or ":memory:"))
        self.database = database
        self.volumes = volumes
        self.server_timezone = server_timezone
        self.row_filters = {name.lower(): sqlglot.parse_one(rule, read="databricks")
                            for name, rule in (row_filters or {}).items()}
        self.connections: list[FakeConnection] = []
        self.errors: list[Exception] = []
        self.connect_errors: list[Exception] = []
        self.refused: list[tuple[str, str]] = []
        #: COPY INTO's memory: table -> volume files loaded into it
        self.loaded: dict[str, set[str]] = {}
        self._failures: list[tuple[str, Exception, bool]] = []
        self.lock = threading.Lock()

    def __call__(self, **kwargs):
        if self.connect_errors:
            raise self.connect_errors.pop(0)
        con = FakeConnection(self, kwargs)
        with self.lock:
            self.connections.append(con)
        return con

    @property
    def sent(self) -> list[tuple[str, dict | None]]:
        return [s for con in self.connections for s in con.sent]

    @property
    def tagged(self) -> list[tuple[str, dict | None]]:
        """(operation, the query_tags it was sent with) for every statement, in the order of ``sent``."""
        return [t for con in self.connections for t in con.tagged]

    def fail_on(self, fragment: str, error: Exception, *, after: bool = False) -> None:
        """The next statement whose text contains ``fragment`` fails with ``error``: before it
        runs, or with ``after`` once it has run (the connection dropped before the answer came)."""
        self._failures.append((fragment, error, after))

    def take_error(self, operation: str) -> tuple[Exception | None, bool]:
        for i, (fragment, error, after) in enumerate(self._failures):
            if fragment in operation:
                del self._failures[i]
                return error, after
        return (self.errors.pop(0) if self.errors else None), False

    # -- what the server checks before it runs anything ----------------------------
    def check(self, operation: str, parameters) -> exp.Expression:
        """The one statement of ``operation``, parsed; refused as the service refuses it."""
        parameters = dict(parameters or {})
        for name, value in parameters.items():
            dbsql_parameter_from_primitive(value, name=name)  # NotSupportedError, as the connector refuses
        if len(parameters) > MAX_PARAMETERS:
            raise refused(f"BAD_REQUEST: Parameterized query has too many parameters: {len(parameters)} parameters "
                          f"were given but the limit is {MAX_PARAMETERS}.")
        size = sum(_value_bytes(v) for v in parameters.values())
        if size > MAX_VALUE_BYTES:
            raise refused(f"BAD_REQUEST: the parameter values take {size} bytes; the limit is 1MB")
        try:
            statements = [s for s in sqlglot.parse(operation, read="databricks") if s is not None]
        except sqlglot.errors.ParseError as exc:
            raise refused(f"[PARSE_SYNTAX_ERROR] Syntax error: {exc}") from None
        if len(statements) != 1:
            extra = statements[1].key.upper() if len(statements) > 1 else "end of input"
            raise refused(f"[PARSE_SYNTAX_ERROR] Syntax error at or near '{extra}': extra input "
                          f"({len(statements)} statements in one call)")
        [tree] = statements
        unbound = sorted({p.name for p in tree.find_all(exp.Placeholder)} - parameters.keys())
        if unbound:
            raise refused(f"[UNBOUND_SQL_PARAMETER] Found the unbound parameter: {unbound[0]}")
        return tree

    def filtered(self, tree: exp.Expression) -> exp.Expression:
        """``tree`` with every read of a row-filtered table through the filter (the write target as is)."""
        if not self.row_filters:
            return tree
        targets = {id(tree.this)} if isinstance(tree, (exp.Insert, exp.Create, exp.Merge, exp.Delete, exp.Update)) else set()
        for node in list(tree.find_all(exp.Table)):
            name = ".".join(p.name for p in node.parts[-2:]).lower()
            rule = self.row_filters.get(name)
            if rule is None or id(node) in targets or id(node.parent) in targets:
                continue
            kept = exp.select("*").from_(node.copy().as_("filtered")).where(rule.copy())
            node.replace(kept.subquery(node.alias_or_name))
        return tree

    # -- what a test asserts afterwards ----------------------------------------------
    def most_parameters(self) -> int:
        return max((len(p or {}) for _, p in self.sent), default=0)


#: the staging volume of ``fake_databricks`` warehouses
VOLUME = "/Volumes/retail/app/staging"


def fake_databricks(root: str | Path, *, database: duckdb.DuckDBPyConnection | str | Path | None = None,
                    env: dict[str, str] | None = None, server_timezone: str = "UTC"):
    """(a DatabricksWarehouse as the app's service principal would use it, its FakeConnector) on DuckDB.

    Every table lives in catalog ``retail`` (DuckDB schemas ``retail__<seed schema>``) and bulk
    rows are staged in ``VOLUME``, a folder under ``root``.
    """
    class _Config:  # the SDK config the credentials would make: no network in tests
        host = "https://adb-1.1.azuredatabricks.net"

        def authenticate(self):
            return {"Authorization": "Bearer test"}

    volumes = FakeVolumes(Path(root) / "volumes", VOLUME)
    connector = FakeConnector(database, volumes=volumes, server_timezone=server_timezone)
    settings = DatabricksSettings.from_sources({
        "DATABRICKS_HOST": _Config.host, "DATABRICKS_WAREHOUSE_ID": "fake", "SEGMENT_STUDIO_CATALOG": "retail",
        "SEGMENT_STUDIO_VOLUME": VOLUME, **(env or {})})
    credentials = ServicePrincipalCredentials(settings.host, config_factory=lambda **_: _Config())
    warehouse = DatabricksWarehouse(settings, ServicePrincipal(), credentials=credentials, connect=connector,
                                    files=volumes)
    return warehouse, connector
