"""Reads as the signed-in user, writes as the app's service principal (Databricks, on-behalf-of-user).

With one identity for everything, on-behalf-of-user means every user needs
MODIFY on the app's schema (and could then make themselves admin from the SQL
editor), while the service principal alone reads customer data no user's grants
limit. ``RoutingWarehouse`` splits them: every read (``arrow``, ``df``,
``scalar``, the metadata) runs with the user's token, so Unity Catalog's grants,
row filters and column masks on customer data apply to what the user sees; every
write (``execute``, ``transaction``, ``append``: the app's state, the ops log,
the gold ML tables, the exports schema, staging through the volume) runs as the
service principal, so users need no MODIFY anywhere
(docs/deploy-databricks.md lists the grants of each).

A write that reads (``INSERT ... SELECT``: a snapshot, a table export) runs as the
service principal as a whole; the app's permission checks (services/rbac.py,
services/exports/access.py) decide who may start one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from services.warehouse import Query, Step, Warehouse


class RoutingWarehouse:
    """A ``Warehouse`` that reads through ``reader`` (the user) and writes through ``writer`` (the app)."""

    transactional = False
    in_process = False

    def __init__(self, reader: Warehouse, writer: Warehouse):
        if reader.dialect != writer.dialect:
            raise ValueError("the reader and the writer must run the same SQL dialect")
        self.reader = reader
        self.writer = writer
        self.dialect = reader.dialect
        self.engine = reader.engine

    @property
    def identity_key(self) -> str:
        """Cached results hang on the reader's identity: what a user may see is what their grants allow."""
        return getattr(self.reader, "identity_key", "reader")

    # -- reads: the user's grants apply ------------------------------------------
    def arrow(self, query: Query, params: Mapping[str, Any] | None = None) -> pa.Table:
        return self.reader.arrow(query, params)

    def df(self, query: Query, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self.reader.df(query, params)

    def scalar(self, query: Query, params: Mapping[str, Any] | None = None) -> Any:
        return self.reader.scalar(query, params)

    def schemas(self) -> list[str]:
        return self.reader.schemas()

    def tables(self, schema: str) -> list[str]:
        return self.reader.tables(schema)

    def tables_of(self, schemas: Sequence[str]) -> dict[str, list[str]]:
        return self.reader.tables_of(schemas)

    def columns(self, schema: str, table: str) -> list[tuple[str, str]]:
        return self.reader.columns(schema, table)

    # -- writes: the app's own identity ---------------------------------------------
    def execute(self, query: Query, params: Mapping[str, Any] | None = None) -> None:
        self.writer.execute(query, params)

    def transaction(self, statements: list[Step]) -> None:
        self.writer.transaction(statements)

    def append(self, table: str, data: pa.Table | pd.DataFrame) -> int:
        return self.writer.append(table, data)

    def close(self) -> None:
        """Ends the reader's sessions; the writer is the app's, shared, and stays."""
        close = getattr(self.reader, "close", None)
        if close is not None:
            close()

    def __getattr__(self, name: str) -> Any:
        # Engine extras outside the protocol (path, placement, prepare) are the reader's.
        return getattr(self.reader, name)
