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

A write that reads customer data (``INSERT ... SELECT`` of a snapshot, ``CREATE
... AS SELECT`` or ``MERGE ... USING`` of a table export) must not run whole as
the service principal, whom no user's row filter or column mask limits: a user who
may see the Italians would export the French too. Its query is read as the user
(their grants apply), the rows staged as the service principal in a table of the
app schema made for that statement, and the statement then reads the staged rows
instead; the staging table is dropped afterwards. The statement itself stays one
statement, as atomic as before. A write that reads only the app's own state (the
app, ops and exports schemas, which only the service principal writes) runs as is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlglot import exp

from services import naming
from services.warehouse import Query, Rows, Step, Warehouse

#: schemas only the app's service principal writes: reading them as it shows nobody more than they may see
APP_OWNED = frozenset(naming.schema(s) for s in ("app", "ops", naming.EXPORTS))
#: the staged rows of one write that reads customer data, in the app schema
STAGED_PREFIX = naming.table("app_routed_")


def _source(statement: exp.Expression) -> exp.Query | None:
    """The query a write reads its rows from (None for a statement that reads none)."""
    if isinstance(statement, (exp.Insert, exp.Create)):
        source = statement.expression
    elif isinstance(statement, exp.Merge):
        source = statement.args.get("using")
        source = source.this if isinstance(source, exp.Subquery) else source
    else:
        return None
    return source if isinstance(source, exp.Query) else None


def _reads_customer_data(query: exp.Query) -> bool:
    # Every table the app reads is schema-qualified; an unqualified name is one of the query's CTEs.
    return any(table.db and table.db not in APP_OWNED for table in query.find_all(exp.Table))


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
        with self._read_as_user([(query, params)]) as [(statement, bound)]:
            self.writer.execute(statement, bound)

    def transaction(self, statements: list[Step]) -> None:
        with self._read_as_user(statements) as steps:
            self.writer.transaction(steps)

    @contextmanager
    def _read_as_user(self, steps: list[Step]) -> Iterator[list[Step]]:
        """``steps`` with each customer-data read replaced by the rows the user read, staged (see above)."""
        staged: list[str] = []
        out: list[Step] = []
        try:
            for step in steps:
                out.append(step if isinstance(step, Rows) else self._staged(step, staged))
            yield out
        finally:
            for table in staged:
                self.writer.execute(exp.Drop(tables=[exp.to_table(table)], kind="TABLE", exists=True))

    def _staged(self, step: tuple[Query, Mapping[str, Any] | None], staged: list[str]) -> Step:
        query, params = step
        source = _source(query) if isinstance(query, exp.Expression) else None
        if source is None or not _reads_customer_data(source):
            return step
        rows = self.reader.arrow(source, params)
        table = f"{naming.schema('app')}.{STAGED_PREFIX}{uuid.uuid4().hex[:16]}"
        # The table takes the query's own column types from a read that returns no row: nothing of
        # the service principal's wider view lands in it, only what the user read, appended next.
        empty = exp.select("*").from_(source.copy().subquery("s")).limit(0)
        self.writer.execute(exp.Create(this=exp.to_table(table), kind="TABLE", expression=empty), params)
        staged.append(table)
        self.writer.append(table, rows)
        statement = query.copy()
        replacement = exp.select("*").from_(table)
        if isinstance(statement, exp.Merge):
            statement.set("using", replacement.subquery(statement.args["using"].alias_or_name))
        else:
            statement.set("expression", replacement)
        left = {p.name for p in statement.find_all(exp.Placeholder)}
        return statement, ({k: v for k, v in params.items() if k in left} or None) if params else None

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
