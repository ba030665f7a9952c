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

from services import checkpoints
from services.errors import WarehouseError, WarehouseUnavailableError
from services.warehouse import Query, Rows, Step, first_line


def _open_error(path: str, exc: duckdb.Error) -> WarehouseError:
    """Why the file cannot be opened, in one line that names the file, not where it lives on the server
    (the message may reach a page)."""
    name = Path(path).name
    if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
        # DuckDB lets one process write a file: here, most likely a command-line build, import or export.
        return WarehouseUnavailableError(f"the warehouse file {name} is in use by another process (a command-line "
                                         "build, import or export); try again when it has finished")
    detail = str(exc).replace(str(Path(path).resolve()), name).replace(path, name).splitlines()[0]
    return WarehouseError(f"cannot open the DuckDB warehouse {name}: {detail}")


class DuckDBWarehouse:
    """A ``Warehouse`` on a DuckDB database file (or ``:memory:``)."""

    dialect = "duckdb"
    engine = "DuckDB"
    transactional = True
    in_process = True

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False, threads: int | None = None):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise _open_error(self.path, exc) from exc
        # Databricks TIMESTAMP renders as TIMESTAMPTZ in DuckDB; pinning the
        # database to UTC keeps both engines' dates identical whatever the machine's
        # zone. GLOBAL: every query runs on a cursor, a connection of its own that
        # would start in the machine's zone (TZ) with a plain SET on this one.
        self._con.execute("SET GLOBAL TimeZone = 'UTC'")
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

    def transaction(self, statements: list[Step]) -> None:
        """Run several statements (and ``Rows`` to insert) in one transaction: all land or none."""
        with self._cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                for i, step in enumerate(statements):
                    if i:
                        checkpoints.midway()
                    if isinstance(step, Rows):
                        self._insert(cur, step.table, step.data)
                    else:
                        self._run(cur, *step)
            except WarehouseError:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def append(self, table: str, data: pa.Table | pd.DataFrame) -> int:
        if len(data) == 0:
            return 0
        with self._cursor() as cur:
            self._insert(cur, table, data)
        return len(data)

    def _insert(self, cur: duckdb.DuckDBPyConnection, table: str, data: pa.Table | pd.DataFrame) -> None:
        if len(data) == 0:
            return
        try:
            cur.register("_incoming", data)
            insert = exp.insert(exp.select("*").from_("_incoming"), exp.to_table(table))
            insert.set("by_name", True)  # columns matched by name, so frames need not list every column
            cur.execute(insert.sql(dialect=self.dialect))
            cur.unregister("_incoming")
        except duckdb.Error as exc:
            raise WarehouseError(f"loading {len(data)} rows into {table} failed: {exc}") from exc

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
