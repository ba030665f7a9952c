"""The production engine: a Databricks SQL warehouse through databricks-sql-connector.

Every query is a sqlglot tree by the time it is sent: SQL text from services
(already Databricks SQL, rendered by ``sqlfiles``) is parsed once and cached.
The tree is then placed (seed schemas -> the configured ``catalog.schema``,
see ``placement``), lists bound in IN become one ARRAY parameter each (see
``parameters``), and it is rendered in the databricks dialect with ``:name``
markers that the connector binds natively.

Statements as the platform takes them:

* one statement per call: "SQL warehouses don't support multi-statement
  queries" (maintainer, databricks/databricks-sql-python#214), so a text of
  two statements is refused here, before it is sent;
* at most ``PARAMETERS`` (255) bound parameters and ``VALUE_BYTES`` of
  values per statement (databricks-sql-python v4.4.0 docs/parameters.md
  § Limitations): ``append`` sends a small write as one ``INSERT ... VALUES``
  within both, and anything larger through the staging volume (``staging``:
  Parquet, the Files API, one ``COPY INTO``);
* every statement carries query tags (``query_tags``: the app, and the page
  and segment it runs for), the connector's per-statement tags (4.2.6+;
  databricks-sql-connector==4.9.0:databricks/sql/client.py ``Cursor.execute``;
  https://docs.databricks.com/aws/en/sql/user/queries/query-tags), so
  ``system.query.history`` attributes the warehouse's time (services/cost);
* datetimes are bound as TIMESTAMP (the connector's inference) and every
  session runs in UTC (``databricks_identity.connect_arguments``), so a naive
  datetime, which the app always means as UTC, is read as the instant it is.

One ``DatabricksWarehouse`` serves one identity. The connector's connections
may not be shared between threads (DB-API threadsafety 1), and Streamlit runs
each session on its own thread, so connections live in a small pool and
each call checks one out for its duration.

Transactions: Databricks SQL commits every statement on its own (Delta), so
``transactional`` is False and ``transaction`` runs its statements in order on
one connection, stopping at the first failure; it cannot undo the statements
before it. Writes that must be atomic are one statement each (``INSERT
OVERWRITE``, ``MERGE``, ``INSERT ... REPLACE WHERE``, ``COPY INTO``): see
services/pipeline/models.py.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlglot
from databricks.sql import exc as dbx
from sqlglot import exp

from services.errors import ConfigError, QueryError, WarehouseError, WarehouseUnavailableError, databricks_api_errors
from services.warehouse import Query, Rows, Step, first_cell, first_line, staging
from services.warehouse.databricks_identity import (
    Identity,
    OnBehalfOfUser,
    ServicePrincipalCredentials,
    connect_arguments,
)
from services.warehouse.databricks_settings import DatabricksSettings
from services.warehouse.parameters import lists_as_arrays
from services.warehouse.placement import Placement, place

DIALECT = "databricks"
#: bound parameters per statement: "at most 255 parameter markers" (connector docs/parameters.md)
PARAMETERS = 255
#: bytes of bound values per statement: the documented cap is 1 MB for all of them; half leaves
#: room for how the connector encodes each value
VALUE_BYTES = 500_000
#: the tag every statement carries (``query_tags['app']`` in system.query.history)
APP_TAG = "segment-studio"
#: a pooled connection idle longer than this is closed rather than reused: the
#: warehouse ends idle sessions, and a dead one would fail the next query
IDLE_SECONDS = 600.0


@lru_cache(maxsize=2048)
def _parsed(text: str) -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(text, read=DIALECT) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise QueryError(f"cannot read the query as Databricks SQL: {exc}") from None
    if len(statements) != 1:
        # A SQL warehouse runs one statement per call (databricks/databricks-sql-python#214).
        raise QueryError(f"Databricks SQL runs one statement per call and this text holds {len(statements)} "
                         f"(query starts: {first_line(text)}); send them one by one (sqlfiles.statements)")
    return statements[0]


@lru_cache(maxsize=2048)
def _rendered(tree_sql: str, placement: Placement) -> str:
    return place(_parsed(tree_sql), placement).sql(dialect=DIALECT)


def _bindable(value: Any) -> Any:
    """A value as the connector can bind it: Python scalars, UTC datetimes, lists of them."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Bound as TIMESTAMP either way; an aware one keeps its offset in the text the connector sends.
        return value.astimezone(UTC)
    if isinstance(value, (list, tuple)):
        return [_bindable(v) for v in value]
    return value


def _value_bytes(values) -> int:
    return sum(len(v) if isinstance(v, (str, bytes)) else 16 for v in values)


#: a token without a scope the call needs: "Provided OAuth token does not have required scopes: sql"
#: (the platform's words, reported for Databricks Apps user authorization in databrickslabs/ontos#288 and
#: /work/notes/databricks.md §5; "Provided access token ..." for a PAT)
_MISSING_SCOPE = re.compile(r"does not have (?:the )?required scopes?:?\s*'?([\w.:-]+(?:\s*,\s*[\w.:-]+)*)", re.I)
_REFUSED = re.compile(r"\b(401|403)\b|unauthori[sz]ed|forbidden|invalid access token|token (has )?expired", re.I)


class DatabricksWarehouse:
    """A ``Warehouse`` on a Databricks SQL warehouse, for one identity."""

    dialect = DIALECT
    engine = "Databricks SQL"
    #: every statement commits on its own: see the module docstring
    transactional = False
    in_process = False

    def __init__(self, settings: DatabricksSettings, identity: Identity, *,
                 credentials: ServicePrincipalCredentials | None = None,
                 connect: Callable[..., Any] | None = None, files: Any | None = None, pool_size: int = 4):
        """``connect`` stands for ``databricks.sql.connect`` and ``files`` for the SDK's Files API
        (``WorkspaceClient().files``) in tests; both are made on first use otherwise."""
        self.settings = settings
        self.identity = identity
        self.placement = settings.placement
        # One SDK config per warehouse, created on its first connection (not here).
        self._credentials = credentials or (ServicePrincipalCredentials(settings.host)
                                            if not isinstance(identity, OnBehalfOfUser) else None)
        self._connect = connect
        self._files = files
        self._pool_size = pool_size
        self._idle: list[tuple[float, Any]] = []  # (when it was returned, connection), newest last
        self._lock = threading.Lock()
        self._target_columns: dict[str, list[tuple[str, str]]] = {}
        #: the page's and segment's tags for a statement run now (the query log's context,
        #: components/warehouse.py sets it); every statement names the app either way
        self.query_tags: Callable[[], Mapping[str, str]] | None = None

    @property
    def path(self) -> str:
        """Where the warehouse is, for status lines (``path`` of the DuckDB engine)."""
        where = self.settings.http_path or f"warehouse {self.settings.warehouse_id or '?'}"
        return f"{self.settings.host or '?'} {where}"

    @property
    def identity_key(self) -> str:
        return self.identity.key

    # -- rendering -------------------------------------------------------
    def prepare(self, query: Query, params: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """(SQL text, parameters) exactly as they are sent to the warehouse."""
        bound = {name: _bindable(value) for name, value in (params or {}).items()}
        has_lists = any(isinstance(v, (list, set, frozenset)) for v in bound.values())
        if isinstance(query, str) and not has_lists and len(bound) <= PARAMETERS:
            return _rendered(query, self.placement), bound
        tree = _parsed(query) if isinstance(query, str) else query
        tree, bound = lists_as_arrays(tree, bound)
        if len(bound) > PARAMETERS:
            raise QueryError(f"a statement binds at most {PARAMETERS} parameters on Databricks SQL and this one has "
                             f"{len(bound)}; pass a list as one ARRAY parameter or load rows with append")
        return place(tree, self.placement).sql(dialect=DIALECT), bound

    # -- connections -----------------------------------------------------
    def _open(self):
        connect = self._connect
        if connect is None:
            from databricks import sql as connector

            connect = connector.connect
        arguments = connect_arguments(self.settings, self.identity, credentials=self._credentials)
        try:
            return connect(**arguments)
        except dbx.Error as exc:
            raise self._translate(exc, None) from exc

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        now = time.monotonic()
        with self._lock:
            stale = [c for returned, c in self._idle if now - returned > IDLE_SECONDS]
            self._idle = [(returned, c) for returned, c in self._idle if now - returned <= IDLE_SECONDS]
            con = self._idle.pop()[1] if self._idle else None
        for old in stale:
            self._close_quietly(old)
        if con is None:
            con = self._open()
        healthy = False
        try:
            yield con
            healthy = True
        except QueryError:
            healthy = True  # the statement failed, the session is fine
            raise
        finally:
            with self._lock:
                if healthy and len(self._idle) < self._pool_size:
                    self._idle.append((time.monotonic(), con))
                    con = None
            if con is not None:
                self._close_quietly(con)

    @staticmethod
    def _close_quietly(con) -> None:
        try:
            con.close()
        except dbx.Error:  # a broken session may refuse to close; it is dropped either way
            pass

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for _, con in idle:
            self._close_quietly(con)

    # -- errors ----------------------------------------------------------
    def _translate(self, exc: dbx.Error, sql: str | None) -> WarehouseError:
        where = f"SQL warehouse {self.settings.warehouse_id or self.settings.http_path} on {self.settings.host}"
        message = str(exc) or type(exc).__name__
        scope = _MISSING_SCOPE.search(message)
        if scope:
            return WarehouseUnavailableError(self._missing_scope(scope.group(1), where))
        if isinstance(exc, (dbx.OperationalError, dbx.InterfaceError)):  # RequestError and its retries included
            code = (getattr(exc, "context", None) or {}).get("http-code")
            if code in (401, 403) or _REFUSED.search(message):
                again = ("reload the page to sign in again" if isinstance(self.identity, OnBehalfOfUser)
                         else "check the app's service principal and its CAN USE permission on the warehouse")
                return WarehouseUnavailableError(f"Databricks refused {self.identity.description} for the {where} "
                                                 f"({message}); {again}")
            return WarehouseUnavailableError(
                f"the {where} did not answer within {self.settings.connect_timeout_seconds} s "
                f"({self.settings.retries} attempts): {message}. A stopped warehouse takes a few minutes to start; "
                "try again shortly, and check that it exists and the app may use it (CAN USE)")
        query = f" (query starts: {first_line(sql)})" if sql else ""
        lowered = message.lower()
        if "timeout" in lowered or "timed out" in lowered:
            return QueryError(f"the query ran longer than the statement timeout of "
                              f"{self.settings.statement_timeout_seconds} s and the warehouse cancelled it{query}")
        if "permission" in lowered or "insufficient_privileges" in lowered or "access denied" in lowered:
            return QueryError(f"{self.identity.description} lacks a grant this query needs: {message}{query}. "
                              "docs/deploy-databricks.md lists the grants")
        return QueryError(f"Databricks SQL refused the query: {message}{query}")

    def _missing_scope(self, scopes: str, where: str) -> str:
        if isinstance(self.identity, OnBehalfOfUser):
            # Databricks Apps forwards the user's token with the scopes the app's user authorization
            # lists; the default ones give no SQL (https://docs.databricks.com/aws/en/dev-tools/
            # databricks-apps/auth). A user consents again after the list changes (databrickslabs/ontos#288).
            return (f"your Databricks sign-in has no '{scopes}' scope, which Segment Studio needs to query the "
                    f"{where} as you. An admin adds 'sql' to the app's user authorization scopes (databricks.yml: "
                    "user_api_scopes: [sql], or the app's Edit > User authorization in the workspace) and redeploys; "
                    "then reload the app (clear its cookie if it does not ask you to consent again)")
        return (f"{self.identity.description} has a token without the '{scopes}' scope, which the {where} needs: "
                "give its OAuth secret the 'sql' scope (or all APIs), or run as the app's own service principal")

    # -- running ---------------------------------------------------------
    def _run(self, con, query: Query, params: Mapping[str, Any] | None):
        sql, bound = self.prepare(query, params)
        cursor = con.cursor()
        try:
            cursor.execute(sql, bound or None, query_tags=self._tags())
        except dbx.Error as exc:
            cursor.close()
            raise self._translate(exc, sql) from exc
        return cursor, sql

    def _tags(self) -> dict[str, str]:
        extra = self.query_tags() if self.query_tags is not None else {}
        return {"app": APP_TAG, **{key: str(value) for key, value in extra.items() if value}}

    def arrow(self, query: Query, params: Mapping[str, Any] | None = None) -> pa.Table:
        with self._connection() as con:
            cursor, sql = self._run(con, query, params)
            try:
                return cursor.fetchall_arrow()
            except dbx.Error as exc:
                raise self._translate(exc, sql) from exc
            finally:
                cursor.close()

    def df(self, query: Query, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self.arrow(query, params).to_pandas()

    def scalar(self, query: Query, params: Mapping[str, Any] | None = None) -> Any:
        return first_cell(self.arrow(query, params))

    def execute(self, query: Query, params: Mapping[str, Any] | None = None) -> None:
        with self._connection() as con:
            cursor, _ = self._run(con, query, params)
            cursor.close()

    def transaction(self, statements: list[Step]) -> None:
        """Run the steps in order (see the module docstring: no rollback); ``Rows`` go as ``append``
        sends them, small ones as one bound INSERT, large ones through the staging volume."""
        run: list[tuple[Query, Mapping[str, Any] | None]] = []
        for step in [*statements, None]:
            if isinstance(step, tuple):
                run.append(step)
                continue
            if run:  # the statements so far, on one connection, given back before a load checks one out
                with self._connection() as con:
                    for query, params in run:
                        cursor, _ = self._run(con, query, params)
                        cursor.close()
                run = []
            if isinstance(step, Rows):
                self.append(step.table, step.data)

    def append(self, table: str, data: pa.Table | pd.DataFrame) -> int:
        """Insert rows by column name (columns the rows lack are NULL); one statement either way.

        Rows that fit one statement's parameters (``PARAMETERS``, ``VALUE_BYTES``) go as one
        ``INSERT ... VALUES`` of bound values: the app's own small writes (an audit row, a saved
        segment). Anything larger goes through the staging volume (``staging``).
        """
        if len(data) == 0:
            return 0
        if isinstance(data, pd.DataFrame):
            data = pa.Table.from_pandas(data, preserve_index=False)
        rows = data.to_pylist() if data.num_rows * data.num_columns <= PARAMETERS else None
        if rows is not None and _value_bytes(v for row in rows for v in row.values()) <= VALUE_BYTES:
            self.execute(*self._insert_values(table, data.column_names, rows))
        else:
            self._load_through_volume(table, data)
        return data.num_rows

    @staticmethod
    def _insert_values(table: str, columns: list[str], rows: list[dict[str, Any]]) -> tuple[exp.Insert, dict[str, Any]]:
        target = exp.Schema(this=exp.to_table(table), expressions=[exp.to_identifier(c, quoted=True) for c in columns])
        params = {f"v{r}_{c}": row[name] for r, row in enumerate(rows) for c, name in enumerate(columns)}
        values = exp.values([exp.Tuple(expressions=[exp.Placeholder(this=f"v{r}_{c}") for c in range(len(columns))])
                             for r in range(len(rows))])
        return exp.Insert(this=target, expression=values), params

    # -- the staging volume ----------------------------------------------
    def _files_api(self) -> Any:
        """The SDK's Files API as this identity (``WorkspaceClient().files``), made on first use."""
        with self._lock:
            if self._files is None:
                from databricks.sdk import WorkspaceClient

                if isinstance(self.identity, OnBehalfOfUser):
                    # auth_type pins the user's token: an App's environment also holds the SP's OAuth secret.
                    client = WorkspaceClient(host=self.settings.host, token=self.identity.token, auth_type="pat")
                else:
                    client = WorkspaceClient(config=self._credentials.config())
                self._files = client.files
            return self._files

    def target_columns(self, table: str, *, fresh: bool = False) -> list[tuple[str, str]]:
        """(column, full Databricks type) of a table, in order; read once per table and kept
        (``fresh`` reads it again)."""
        if fresh or table not in self._target_columns:
            schema, name = table.split(".")
            loc = self.placement.location(schema)
            query = (exp.select("column_name", "full_data_type")
                     .from_(self._information_schema("columns", loc.catalog))
                     .where(exp.and_(exp.column("table_schema").eq(exp.Placeholder(this="schema")),
                                     exp.column("table_name").eq(exp.Placeholder(this="table"))))
                     .order_by("ordinal_position"))
            rows = self.arrow(query, {"schema": loc.schema, "table": name}).to_pylist()
            if not rows:
                raise WarehouseError(f"cannot load rows into {table}: the table does not exist at {loc}.{name}")
            self._target_columns[table] = [(r["column_name"], r["full_data_type"]) for r in rows]
        return self._target_columns[table]

    def _load_through_volume(self, table: str, data: pa.Table) -> None:
        volume = self.settings.volume
        if not volume:
            raise ConfigError(f"loading {data.num_rows:,} rows into {table} needs a staging volume: more than one "
                              f"statement's {PARAMETERS} parameters go through Unity Catalog. Set SEGMENT_STUDIO_VOLUME "
                              "to /Volumes/<catalog>/<schema>/<volume> (app.yaml binds it from the staging-volume "
                              "resource; docs/deploy-databricks.md)")
        staging.load(self, table, data, volume=volume, files=self._files_api(), errors=databricks_api_errors())

    # -- metadata --------------------------------------------------------
    def _information_schema(self, view: str, catalog: str | None) -> exp.Table:
        # Each catalog has its own information_schema; without a configured
        # catalog the session's current catalog is the one placed schemas use.
        return exp.table_(view, db="information_schema", catalog=catalog)

    def schemas(self) -> list[str]:
        """The project's (seed) schema names that exist where they are placed."""
        present = set()
        for catalog in sorted({loc.catalog for _, loc in self.placement.locations}, key=lambda c: c or ""):
            query = exp.select("schema_name").from_(self._information_schema("schemata", catalog))
            for name in self.arrow(query).column(0).to_pylist():
                seed = self.placement.seed_schema(catalog, name)
                if seed:
                    present.add(seed)
        return sorted(present)

    def tables(self, schema: str) -> list[str]:
        loc = self.placement.location(schema)
        query = (exp.select("table_name").from_(self._information_schema("tables", loc.catalog))
                 .where(exp.column("table_schema").eq(exp.Placeholder(this="schema"))).order_by("table_name"))
        return self.arrow(query, {"schema": loc.schema}).column(0).to_pylist()

    def tables_of(self, schemas: Sequence[str]) -> dict[str, list[str]]:
        """One query per catalog the schemas are placed in (one, unless schemas are spread over catalogs)."""
        found: dict[str, list[str]] = {schema: [] for schema in schemas}
        by_catalog: dict[str | None, dict[str, str]] = {}
        for schema in schemas:
            loc = self.placement.location(schema)
            by_catalog.setdefault(loc.catalog, {})[loc.schema] = schema
        for catalog, placed in sorted(by_catalog.items(), key=lambda kv: kv[0] or ""):
            query = (exp.select("table_schema", "table_name").from_(self._information_schema("tables", catalog))
                     .where(exp.column("table_schema").isin(*[exp.Placeholder(this=f"s{i}") for i in range(len(placed))]))
                     .order_by("table_schema", "table_name"))
            rows = self.arrow(query, {f"s{i}": name for i, name in enumerate(placed)}).to_pylist()
            for r in rows:
                found[placed[r["table_schema"]]].append(r["table_name"])
        return found

    def columns(self, schema: str, table: str) -> list[tuple[str, str]]:
        loc = self.placement.location(schema)
        query = (exp.select("column_name", "data_type").from_(self._information_schema("columns", loc.catalog))
                 .where(exp.and_(exp.column("table_schema").eq(exp.Placeholder(this="schema")),
                                 exp.column("table_name").eq(exp.Placeholder(this="table"))))
                 .order_by("ordinal_position"))
        rows = self.arrow(query, {"schema": loc.schema, "table": table}).to_pylist()
        return [(r["column_name"], r["data_type"]) for r in rows]
