"""The embedded engine: one DuckDB file, run in UTC.

DuckDB connections are not safe to share between threads, but cursors of one
connection are; every call here takes its own cursor, so one
``DuckDBWarehouse`` serves many Streamlit sessions at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from services.errors import WarehouseError
from services.warehouse import Query, first_line


class DuckDBWarehouse:
    """A ``Warehouse`` on a DuckDB database file (or ``:memory:``)."""

    dialect = "duckdb"
    engine = "DuckDB"

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False, threads: int | None = None):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open the DuckDB warehouse at {self.path}: {exc}") from exc
        # Databricks TIMESTAMP renders as TIMESTAMPTZ in DuckDB; pinning the
        # session to UTC keeps both engines' dates identical.
        self._con.execute("SET TimeZone = 'UTC'")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------
    def render(self, query: Query) -> str:
        return query.sql(dialect=self.dialect) if isinstance(query, exp.Expression) else query

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def _run(self, cur: duckdb.DuckDBPyConnection, query: Query, params: Mapping[str, Any] | None):
        sql = self.render(query)
        try:
            result = cur.execute(sql, dict(params) if params else None)
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB query failed: {exc} (query starts: {first_line(sql)})") from exc
        if result is None:
            raise WarehouseError("DuckDB found no statement to run in the query text")
        return result

    # -- Warehouse protocol ----------------------------------------------
    def arrow(self, query: Query, params: Mapping[str, Any] | None = None) -> pa.Table:
        with self._cursor() as cur:
            result = self._run(cur, query, params).to_arrow_table()
            return result

    def df(self, query: Query, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        with self._cursor() as cur:
            return self._run(cur, query, params).fetchdf()

    def scalar(self, query: Query, params: Mapping[str, Any] | None = None) -> Any:
        with self._cursor() as cur:
            row = self._run(cur, query, params).fetchone()
        return None if row is None else row[0]

    def execute(self, query: Query, params: Mapping[str, Any] | None = None) -> None:
        with self._cursor() as cur:
            self._run(cur, query, params)

    def transaction(self, statements: list[tuple[Query, Mapping[str, Any] | None]]) -> None:
        """Run several statements in one transaction: all land or none."""
        with self._cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                for query, params in statements:
                    self._run(cur, query, params)
            except WarehouseError:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def append(self, table: str, data: pa.Table | pd.DataFrame) -> int:
        if len(data) == 0:
            return 0
        with self._cursor() as cur:
            try:
                cur.register("_incoming", data)
                insert = exp.insert(exp.select("*").from_("_incoming"), exp.to_table(table))
                insert.set("by_name", True)  # columns matched by name, so frames need not list every column
                cur.execute(insert.sql(dialect=self.dialect))
                cur.unregister("_incoming")
            except duckdb.Error as exc:
                raise WarehouseError(f"loading {len(data)} rows into {table} failed: {exc}") from exc
        return len(data)

    def schemas(self) -> list[str]:
        return self.arrow(
            "SELECT schema_name FROM information_schema.schemata "
            "WHERE catalog_name = current_database() ORDER BY 1"
        ).column(0).to_pylist()

    def tables(self, schema: str) -> list[str]:
        rows = self.arrow(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = $schema ORDER BY 1",
            {"schema": schema},
        ).column(0).to_pylist()
        return rows

    def tables_of(self, schemas: Sequence[str]) -> dict[str, list[str]]:
        rows = self.arrow(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND list_contains($schemas, table_schema) ORDER BY 1, 2",
            {"schemas": list(schemas)},
        ).to_pylist()
        found: dict[str, list[str]] = {schema: [] for schema in schemas}
        for r in rows:
            found[r["table_schema"]].append(r["table_name"])
        return found

    def columns(self, schema: str, table: str) -> list[tuple[str, str]]:
        rows = self.arrow(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = $schema AND table_name = $table "
            "ORDER BY ordinal_position",
            {"schema": schema, "table": table},
        ).to_pylist()
        return [(r["column_name"], r["data_type"]) for r in rows]

    def close(self) -> None:
        self._con.close()
