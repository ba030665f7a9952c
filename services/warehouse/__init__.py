"""The ``Warehouse`` protocol: the one way services talk to an engine.

Services receive a warehouse as an argument; nothing reaches for a global
connection. Queries are sqlglot expressions (rendered for the engine's
dialect at the last step) or SQL text in the engine's dialect, with values
bound as named parameters (``$name`` in DuckDB, ``:name`` on Databricks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
from sqlglot import exp

from services.warehouse.placement import Placement

Query = str | exp.Expression


@dataclass(frozen=True)
class Rows:
    """Rows inserted by column name into an existing table, as one step of ``Warehouse.transaction``
    (what ``append`` does on its own), so a load of several tables lands whole or not at all."""

    table: str
    data: pa.Table | pd.DataFrame


#: one step of a transaction: a statement with its bound parameters, or rows to insert
Step = tuple[Query, Mapping[str, Any] | None] | Rows


def count_rows(warehouse: Warehouse, table: str, *, where: exp.Expression | None = None) -> int:
    """``SELECT COUNT(*) FROM table [WHERE ...]`` as a tree, for any engine."""
    query = exp.select(exp.func("COUNT", exp.Star())).from_(exp.to_table(table))
    return int(warehouse.scalar(query.where(where) if where is not None else query) or 0)


def replace_rows(warehouse: Warehouse, table: str, rows: exp.Expression, columns: Sequence[str]) -> None:
    """Replace every row of ``table`` by ``rows`` (a SELECT or VALUES giving ``columns``) in one atomic write.

    Databricks and Spark take one ``INSERT OVERWRITE`` statement (a Delta table's readers see the
    old rows or the new, never none); DuckDB has no such statement and deletes and inserts in one
    transaction.
    """
    names = [exp.to_identifier(c, quoted=True) for c in columns]
    if warehouse.dialect == "duckdb":
        warehouse.transaction([(exp.delete(table), None), (exp.insert(rows, table, columns=names), None)])
    else:
        warehouse.execute(exp.insert(rows, table, columns=names, overwrite=True))


def first_line(sql: str) -> str:
    """The start of a query's text, for an error message that says which query failed."""
    return sql.strip().splitlines()[0][:200] if sql.strip() else ""


def first_cell(table: pa.Table) -> Any:
    """The first column of the first row of an Arrow result (None when it is empty): ``scalar`` over Arrow."""
    return table.column(0)[0].as_py() if table.num_rows and table.num_columns else None


class Warehouse(Protocol):
    """What every engine (DuckDB, Spark, Databricks SQL) provides."""

    #: sqlglot dialect name the engine runs (``duckdb``, ``spark``, ``databricks``).
    dialect: str
    #: human-readable engine name for the UI.
    engine: str
    #: whether ``transaction`` is one real transaction (all statements land or none). Where it
    #: is not (Databricks SQL, Spark), a write that must be atomic is one statement of its own:
    #: services/pipeline/models.py says how each model is written there.
    transactional: bool
    #: whether the data lives in this process, so rows the app already holds are appended
    #: without an upload (DuckDB); elsewhere a copy of data the warehouse has stays inside it.
    in_process: bool

    def arrow(self, query: Query, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run a query and return its rows as an Arrow table."""

    def df(self, query: Query, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a query and return its rows as a pandas DataFrame."""

    def scalar(self, query: Query, params: Mapping[str, Any] | None = None) -> Any:
        """Run a query and return the first column of the first row (or None)."""

    def execute(self, query: Query, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns nothing of interest."""

    def transaction(self, statements: list[Step]) -> None:
        """Run (query, params) pairs and ``Rows`` in order; in one transaction (all land or none) where
        ``transactional``."""

    def append(self, table: str, data: pa.Table | pd.DataFrame) -> int:
        """Insert rows by column name into an existing table; return the count."""

    def schemas(self) -> list[str]:
        """Schema names."""

    def tables(self, schema: str) -> list[str]:
        """Table names in a schema."""

    def tables_of(self, schemas: Sequence[str]) -> dict[str, list[str]]:
        """Table names of several schemas at once (a schema that does not exist has none)."""

    def columns(self, schema: str, table: str) -> list[tuple[str, str]]:
        """(column name, type) pairs of a table, in order."""


def placement_of(warehouse: Warehouse) -> Placement:
    """Where the warehouse keeps each project schema (a Databricks warehouse's configured
    placement; none for DuckDB and Spark), through any wrapper that delegates to an ``inner`` one."""
    while warehouse is not None:
        placement = getattr(warehouse, "placement", None)
        if isinstance(placement, Placement):
            return placement
        warehouse = getattr(warehouse, "inner", None)
    return Placement()
