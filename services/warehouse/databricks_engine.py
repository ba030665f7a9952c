"""The production engine: a Databricks SQL warehouse through databricks-sql-connector.

Every query is a sqlglot tree by the time it is sent: SQL text from services
(already Databricks SQL, rendered by ``sqlfiles``) is parsed once and cached.
The tree is then placed (seed schemas -> the configured ``catalog.schema``,
see ``placement``), lists bound in IN are expanded to one marker each (see
``parameters``), and it is rendered in the databricks dialect with ``:name``
markers that the connector binds natively.

One ``DatabricksWarehouse`` serves one identity. The connector's connections
may not be shared between threads (DB-API threadsafety 1), and Streamlit runs
each session on its own thread, so connections live in a small pool and
each call checks one out for its duration.

Transactions: Databricks SQL commits every statement on its own (Delta),
so ``transaction`` runs its statements in order on one connection and stops
at the first failure; it cannot undo the statements before it. For a model
rebuilt in full the next build repairs that; an incremental append stopped
between its INSERT and its batch record would take that batch in twice.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import pandas as pd
import pyarrow as pa
import sqlglot
from databricks.sql import exc as dbx
from sqlglot import exp

from services.errors import QueryError, WarehouseError, WarehouseUnavailableError
from services.warehouse import Query, first_cell, first_line
from services.warehouse.databricks_identity import (
    Identity,
    OnBehalfOfUser,
    ServicePrincipalCredentials,
    connect_arguments,
)
from services.warehouse.databricks_settings import DatabricksSettings
from services.warehouse.parameters import expand_in_lists
from services.warehouse.placement import Placement, place

DIALECT = "databricks"
#: rows per INSERT ... VALUES statement in ``append``; keeps each statement's
#: parameter count (rows x columns) in the low thousands
APPEND_PARAMETERS = 2_000
#: a pooled connection idle longer than this is closed rather than reused: the
#: warehouse ends idle sessions, and a dead one would fail the next query
IDLE_SECONDS = 600.0


@lru_cache(maxsize=2048)
def _parsed(text: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(text, read=DIALECT)
    except sqlglot.errors.ParseError as exc:
        raise QueryError(f"cannot read the query as Databricks SQL: {exc}") from None


@lru_cache(maxsize=2048)
def _rendered(tree_sql: str, placement: Placement) -> str:
    return place(_parsed(tree_sql), placement).sql(dialect=DIALECT)


_REFUSED = re.compile(r"\b(401|403)\b|unauthori[sz]ed|forbidden|invalid access token|token (has )?expired", re.I)


class DatabricksWarehouse:
    """A ``Warehouse`` on a Databricks SQL warehouse, for one identity."""

    dialect = DIALECT
    engine = "Databricks SQL"

    def __init__(self, settings: DatabricksSettings, identity: Identity, *,
                 credentials: ServicePrincipalCredentials | None = None,
                 connect: Callable[..., Any] | None = None, pool_size: int = 4):
        self.settings = settings
        self.identity = identity
        self.placement = settings.placement
        # One SDK config per warehouse, created on its first connection (not here).
        self._credentials = credentials or (ServicePrincipalCredentials(settings.host)
                                            if not isinstance(identity, OnBehalfOfUser) else None)
        self._connect = connect
        self._pool_size = pool_size
        self._idle: list[tuple[float, Any]] = []  # (when it was returned, connection), newest last
        self._lock = threading.Lock()

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
        has_lists = any(isinstance(v, (list, tuple, set, frozenset)) for v in (params or {}).values())
        if isinstance(query, str) and not has_lists:
            return _rendered(query, self.placement), dict(params or {})
        tree = _parsed(query) if isinstance(query, str) else query
        tree, bound = expand_in_lists(tree, params)
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

    # -- running ---------------------------------------------------------
    def _run(self, con, query: Query, params: Mapping[str, Any] | None):
        sql, bound = self.prepare(query, params)
        cursor = con.cursor()
        try:
            cursor.execute(sql, bound or None)
        except dbx.Error as exc:
            cursor.close()
            raise self._translate(exc, sql) from exc
        return cursor, sql

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

    def transaction(self, statements: list[tuple[Query, Mapping[str, Any] | None]]) -> None:
        """Run the statements in order on one connection (see the module docstring: no rollback)."""
        with self._connection() as con:
            for query, params in statements:
                cursor, _ = self._run(con, query, params)
                cursor.close()

    def append(self, table: str, data: pa.Table | pd.DataFrame) -> int:
        """INSERT ... VALUES with every value a bound parameter, in batches.

        Meant for the app's own small writes (audit rows, the query log, the
        segment library); bulk data reaches Databricks through its own
        ingestion, not through the app.
        """
        if len(data) == 0:
            return 0
        if isinstance(data, pd.DataFrame):
            data = pa.Table.from_pandas(data, preserve_index=False)
        columns = data.column_names
        rows = data.to_pylist()  # Python values (datetime, Decimal, None) the connector can bind
        per_statement = max(1, APPEND_PARAMETERS // max(1, len(columns)))
        target = exp.Schema(this=exp.to_table(table), expressions=[exp.to_identifier(c, quoted=True) for c in columns])
        statements = []
        for start in range(0, len(rows), per_statement):
            batch = rows[start:start + per_statement]
            params = {f"v{r}_{c}": row[name] for r, row in enumerate(batch) for c, name in enumerate(columns)}
            values = exp.values([exp.Tuple(expressions=[exp.Placeholder(this=f"v{r}_{c}") for c in range(len(columns))])
                                 for r in range(len(batch))])
            statements.append((exp.Insert(this=target.copy(), expression=values), params))
        self.transaction(statements)
        return len(rows)

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
