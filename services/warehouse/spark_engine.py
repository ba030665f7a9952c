"""A ``Warehouse`` on Apache Spark (pyspark): local mode in tests, any master by configuration.

The engine speaks the ``databricks`` dialect: trees are rendered with
sqlglot's Databricks generator and SQL files run exactly as written for
Databricks, so the tests prove that what the app writes for Databricks runs
on Spark. Values are bound as named parameters (``:name``) through
``spark.sql(query, args=...)``; results come back as Arrow.

pyspark is an optional dependency (the ``spark`` extra, and ``dev`` for the
tests): it is imported only when a session is built or an error is
translated, never when this module is imported, so the app can import the
warehouse package without it.

What OSS Spark without Delta Lake cannot do, and what this engine does about it:

* Tables are plain parquet datasource tables (no Delta jar here). Their
  ``CREATE TABLE`` rejects ``CONSTRAINT ... PRIMARY KEY / FOREIGN KEY``,
  which Delta on Unity Catalog accepts as informational constraints, so the
  engine removes those clauses from ``CREATE TABLE`` unless it is told the
  catalog takes them (``key_constraints=True``). Keys are verified by the
  data-quality checks on every engine anyway.
* ``DELETE``, ``UPDATE``, ``MERGE`` and ``INSERT ... REPLACE WHERE`` need a
  table format that supports row changes (Delta). On parquet tables Spark
  refuses them and the engine raises ``WarehouseError`` saying so. Spark has
  no transactions, so models are written as on Databricks
  (services/pipeline/models.py): the full models with ``INSERT OVERWRITE``,
  which runs here, the incremental ones (silver, by batch or key) with
  ``REPLACE WHERE`` and ``MERGE``, which need Delta, as do the batch
  bookkeeping and the build-run record. Every segment query runs as written.
  ``COPY INTO`` and ``read_files`` are Databricks SQL's own. Configure a
  Delta-enabled session to run the rest.
* ``local_session`` keeps Spark's in-memory catalog: tables are forgotten
  when the session ends, and a new session refuses to reuse a warehouse
  directory holding their files (LOCATION_ALREADY_EXISTS), so each local
  session gets a fresh directory. A cluster with a metastore or Unity
  Catalog keeps its tables.
* There are no multi-statement transactions on Spark (nor on Delta):
  ``transaction`` runs its statements in order and stops at the first
  failure, so statements that ran before it stay (``transactional`` is
  False). The pipeline writes each model's batch bookkeeping after its data,
  so a failed build is repaired by the next run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import sqlglot
from sqlglot import exp

from services import checkpoints, sqlfiles
from services.errors import WarehouseError
from services.warehouse import Query, Rows, Step, first_cell, first_line

if TYPE_CHECKING:  # pragma: no cover - typing only; pyspark stays optional
    from pyspark.sql import DataFrame, SparkSession

#: Session settings that make local Spark behave like a Databricks SQL warehouse.
DATABRICKS_LIKE_CONF = {
    "spark.sql.session.timeZone": "UTC",
    # Databricks SQL warehouses run with ANSI mode on: overflow and bad casts fail.
    "spark.sql.ansi.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}



def local_session(*, warehouse_dir: str | Path | None = None, master: str = "local[2]",
                  shuffle_partitions: int = 4, conf: Mapping[str, str] | None = None) -> SparkSession:
    """Get or create a Spark session configured like Databricks SQL (UTC, ANSI)."""
    from pyspark.sql import SparkSession

    warehouse_dir = Path(warehouse_dir or tempfile.mkdtemp(prefix="segment-studio-spark-"))
    builder = SparkSession.builder.master(master).appName("segment-studio")
    settings = {
        **DATABRICKS_LIKE_CONF,
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.sql.warehouse.dir": str(warehouse_dir / "warehouse"),
        # Keep the local metastore's files with the warehouse, not in the working directory.
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={warehouse_dir / 'derby'}",
        **dict(conf or {}),
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _spark_errors() -> tuple[type[BaseException], ...]:
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


class SparkWarehouse:
    """A ``Warehouse`` on a Spark session (build one with ``local_session`` or pass your own)."""

    dialect = "databricks"
    engine = "Spark"
    #: no multi-statement transactions (see the module docstring); models are written as on Databricks
    transactional = False
    in_process = False

    def __init__(self, session: SparkSession, *, key_constraints: bool = False):
        self.session = session
        #: whether CREATE TABLE may keep informational PRIMARY/FOREIGN KEY clauses
        self.key_constraints = key_constraints

    # -- plumbing ---------------------------------------------------------
    def render(self, query: Query) -> str:
        if isinstance(query, str):
            query = self._ddl_tree(query) or query
        if isinstance(query, exp.Expression):
            if isinstance(query, exp.Create) and not self.key_constraints:
                query = sqlfiles.drop_key_constraints(query)
            return query.sql(dialect=self.dialect)
        return query

    @staticmethod
    def _ddl_tree(sql: str) -> exp.Expression | None:
        # DDL arrives as text from sql/ddl; only CREATE TABLE needs its keys taken out.
        if not sql.lstrip()[:12].upper().startswith("CREATE TABLE"):
            return None
        return sqlglot.parse_one(sql, read="databricks")

    def _frame(self, query: Query, params: Mapping[str, Any] | None) -> DataFrame:
        sql = self.render(query)
        errors = _spark_errors()
        try:
            return self.session.sql(sql, args=dict(params)) if params else self.session.sql(sql)
        except errors as exc:
            raise self._error(exc, sql) from exc

    def _error(self, exc: BaseException, sql: str) -> WarehouseError:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        try:
            tree = sqlglot.parse_one(sql, read=self.dialect) if sql.strip() else None
        except sqlglot.errors.ParseError:
            tree = None
        if isinstance(tree, (exp.Delete, exp.Update, exp.Merge)) or (
                isinstance(tree, exp.Insert) and tree.args.get("where") is not None):
            message += (" (DELETE, UPDATE, MERGE and INSERT ... REPLACE WHERE need Delta tables; this Spark "
                        "session writes plain parquet tables, see services/warehouse/spark_engine.py)")
        return WarehouseError(f"Spark query failed: {message} (query starts: {first_line(sql)})")

    def _collect(self, query: Query, params: Mapping[str, Any] | None) -> pa.Table:
        frame = self._frame(query, params)
        try:
            return frame.toArrow()
        except _spark_errors() as exc:
            raise self._error(exc, self.render(query)) from exc

    # -- Warehouse protocol ----------------------------------------------
    def arrow(self, query: Query, params: Mapping[str, Any] | None = None) -> pa.Table:
        return self._collect(query, params)

    def df(self, query: Query, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self._collect(query, params).to_pandas()

    def scalar(self, query: Query, params: Mapping[str, Any] | None = None) -> Any:
        # Through Arrow, so timestamps come back in UTC whatever the Python process's zone.
        return first_cell(self._collect(query, params))

    def execute(self, query: Query, params: Mapping[str, Any] | None = None) -> None:
        # spark.sql runs commands (DDL, INSERT, TRUNCATE) eagerly; a SELECT here is not computed.
        self._frame(query, params)

    def transaction(self, statements: list[Step]) -> None:
        """Run the statements (and ``Rows`` inserts) in order, stopping at the first failure.

        Spark has no multi-statement transactions: statements that ran before
        a failure stay (see the module docstring).
        """
        for i, step in enumerate(statements):
            if i:
                checkpoints.midway()
            if isinstance(step, Rows):
                self.append(step.table, step.data)
            else:
                self.execute(*step)

    def append(self, table: str, data: pa.Table | pd.DataFrame) -> int:
        if len(data) == 0:
            return 0
        arrow = pa.Table.from_pandas(data, preserve_index=False) if isinstance(data, pd.DataFrame) else data
        from pyspark.sql import functions as F

        errors = _spark_errors()
        try:
            target = self.session.table(table).schema
            incoming = self.session.createDataFrame(arrow)
            present = set(incoming.columns)
            # Columns are matched by name; ones the data lacks are NULL, as in DuckDB's INSERT BY NAME.
            columns = [
                (incoming[field.name] if field.name in present else F.lit(None)).cast(field.dataType).alias(field.name)
                for field in target.fields
            ]
            unknown = present - {field.name for field in target.fields}
            if unknown:
                raise WarehouseError(f"loading into {table}: no column(s) {', '.join(sorted(unknown))} there")
            incoming.select(*columns).write.insertInto(table)
        except errors as exc:
            raise WarehouseError(f"loading {len(arrow)} rows into {table} failed: {exc}") from exc
        return len(arrow)

    def schemas(self) -> list[str]:
        return sorted(d.name for d in self.session.catalog.listDatabases())

    def tables(self, schema: str) -> list[str]:
        if not self.session.catalog.databaseExists(schema):
            return []
        return sorted(t.name for t in self.session.catalog.listTables(schema) if not t.isTemporary)

    def tables_of(self, schemas: Sequence[str]) -> dict[str, list[str]]:
        return {schema: self.tables(schema) for schema in schemas}

    def columns(self, schema: str, table: str) -> list[tuple[str, str]]:
        name = ".".join((schema, table))
        if not self.session.catalog.tableExists(name):
            return []
        return [(field.name, field.dataType.simpleString()) for field in self.session.table(name).schema.fields]

    def close(self) -> None:
        """Leave the session running: it may be shared (one per process in tests)."""
