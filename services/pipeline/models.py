"""The pipeline's models, in build order, and how one is materialised.

A model is one SELECT in ``sql/models/<layer>/<name>.sql``; its target table is
declared by DDL in ``sql/ddl/``. How a model is materialised, dbt style:

* ``full``: the target's contents are replaced by the model's rows;
* ``append``: only landed batches the model has not processed yet are read
  (a filter on the model's input CTE) and added; nothing else is rewritten;
* ``merge``: the keys found in new batches are re-derived from all their
  landings (so a redelivery replaces its row) and a key the model no longer
  derives is deleted;
* ``on_new_batches``: a full rebuild, but only when its input has new batches
  or an upstream incremental model changed; otherwise it is left as it is;
* ``computed``: no SQL model; the build computes the rows in Python (``COMPUTED``).

A full refresh (``build --full-refresh``), or a first build, rebuilds an
incremental model from everything landed.

**The batch record.** ``app_model_batches`` holds one row per (model, landed
batch) whose rows are in the model's target. It is what the next build
compares with the landing zone: a batch without a row there is new. How the
record is kept with the data depends on the warehouse (``statements.py``
builds each statement):

* With transactions (``Warehouse.transactional``, DuckDB), the data and the
  record change in one transaction: the old state or the new, nothing between.
* Without them (Databricks SQL: Delta commits each statement on its own, and
  multi-table transactions are a preview that takes no ``INSERT OVERWRITE``,
  docs.databricks.com/aws/en/transactions), every model is written by exactly
  one atomic, idempotent statement, **the data first, then the record**:

  ============== =================================================================
  full           ``INSERT OVERWRITE target SELECT ...`` (no record)
  rebuild        ``INSERT OVERWRITE target SELECT ...``, then the model's whole
                 record replaced: ``INSERT INTO batches REPLACE WHERE model_name = m``
  append         ``INSERT INTO target REPLACE WHERE batch_id IN (new) SELECT ...``,
                 then ``INSERT INTO batches REPLACE WHERE model_name = m AND
                 batch_id IN (new) VALUES ...``
  merge          ``MERGE INTO target`` (update, insert, delete of the touched keys
                 the model no longer derives), then the same record statement
  ============== =================================================================

  Readers see the old table or the new one, never an empty or half-written
  one. An interruption can fall before the data (nothing changed), between the
  data and the record, or after both. Between, the data holds batches the
  record lacks; the next build takes them as new and writes them again with
  the same statement, which *replaces* their rows (REPLACE WHERE on their
  batch ids, MERGE on their keys, OVERWRITE of everything) instead of adding
  to them, then records them. So a batch's rows are in the target at most
  once, and in it exactly once after the next build that finishes. The record
  never runs ahead of the data: a batch recorded is a batch landed.

Spark without Delta (the equivalence tests) writes the ``full`` models with
``INSERT OVERWRITE``; REPLACE WHERE and MERGE need Delta there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from services import naming, sqlfiles
from services.errors import WarehouseError
from services.pipeline import statements as sql
from services.pipeline.statements import BATCHES_TABLE, filtered_body, insert_statement
from services.sqlterms import column
from services.warehouse import Warehouse, count_rows


@dataclass(frozen=True)
class Model:
    name: str
    path: str
    source: str
    target: str
    materialisation: str = "full"
    #: table whose batch_id column lists the batches the model reads
    batch_source: str | None = None
    #: the model's CTE that reads its input; incremental runs filter it
    input_cte: str | None = None
    #: merge key
    key: str | None = None
    #: upstream models whose changes may force an ``on_new_batches`` rebuild
    upstream: tuple[str, ...] = ()
    #: physical order of the rows written (DuckDB keeps insertion order and skips
    #: row groups by their min/max, so a filter on the leading columns reads
    #: less; on Databricks the same columns suit liquid clustering)
    order_by: tuple[str, ...] = ()

    @property
    def target_fq(self) -> str:
        return naming.fq(self.source, self.target)


STG = naming.fq("txn", "stg_transactions")
RAW = naming.fq("txn", "raw_transactions")
CDC = naming.fq("ingest", "stage_cdc")

MODELS: tuple[Model, ...] = (
    Model("silver_raw_transactions", "models/silver/silver_raw_transactions.sql", "txn", "raw_transactions",
          "append", batch_source=STG, input_cte="source"),
    Model("silver_fact_transactions", "models/silver/silver_fact_transactions.sql", "txn", "fact_transactions",
          "merge", batch_source=RAW, input_cte="raw", key="transaction_id", order_by=("customer_id", "posted_ts")),
    # What behavioural conditions read, stored by category, then posting date. A behavioural
    # condition filters a date window and, in most retail segments (every sample campaign),
    # categories; DuckDB skips the row groups outside both by their min/max, so "bought beauty
    # twice in 90 days" reads a sixtieth of the table. A window without a category skips by
    # date within each category's run. The facts themselves stay in customer order, which the
    # gold aggregations need. Incremental like the facts: a build with nothing new landed
    # leaves it alone. On Databricks the same columns suit liquid clustering.
    Model("gold_customer_activity", "models/gold/gold_customer_activity.sql", "gold", "gold_customer_activity",
          "merge", batch_source=RAW, input_cte="facts", key="transaction_id",
          order_by=("category", "posted_date", "customer_id")),
    Model("silver_dim_customer", "models/silver/silver_dim_customer.sql", "txn", "dim_customer",
          "on_new_batches", batch_source=CDC, upstream=("silver_fact_transactions",)),
    Model("silver_fact_settlements", "models/silver/silver_fact_settlements.sql", "txn", "fact_settlements"),
    # Stored by RFM segment and lifecycle stage, the builder's two first-class pickers: most
    # segments filter on them, and sorted they are skipped by row group instead of compared per row.
    Model("gold_customer_features", "models/gold/gold_customer_features.sql", "gold", "gold_customer_features",
          order_by=("rfm_segment", "lifecycle_stage", "customer_id")),
    Model("gold_customer_category_spend", "models/gold/gold_customer_category_spend.sql", "gold", "gold_customer_category_spend"),
)

#: Tables the build computes in Python, not from a SQL model: each has a contract where a model would
#: keep its own (``<path>.yml``), and is written in one statement. The feature catalog comes after the
#: data-quality checks, whose verdict it carries (services/segments/catalog_writer.py).
COMPUTED: tuple[Model, ...] = (
    Model("gold_feature_catalog", "models/gold/gold_feature_catalog", "gold", "gold_feature_catalog", "computed"),
)

DDL_FILES = ("ddl/ingest.sql", "ddl/ops.sql", "ddl/gov.sql", "ddl/cost.sql", "ddl/txn.sql", "ddl/gold.sql", "ddl/app.sql",
             "ddl/exports.sql")


def create_all(warehouse: Warehouse) -> None:
    """Create every schema and table that does not exist yet (safe to repeat)."""
    for path in DDL_FILES:
        for statement in sqlfiles.statements(path, warehouse.dialect):
            warehouse.execute(statement)


#: tables the app writes as it is used, which no build fills: a warehouse that lacks only these (an
#: earlier version's, after an upgrade) gets them created at once, with no pipeline run
APP_STATE_TABLES = frozenset(naming.fq("app", name) for name in (
    "app_segments", "app_segment_versions", "app_audit_log", "app_role_assignments", "app_role_bindings",
    "app_export_jobs", "app_export_snapshots", "app_export_tables", "app_export_schedules",
    "app_export_schedule_runs", "app_job_runs"))


def create_tables(warehouse: Warehouse, tables: Iterable[str]) -> None:
    """Create the ``schema.table`` names given, as their DDL says (one statement each, nothing else)."""
    wanted = set(tables)
    for path in DDL_FILES:
        for tree in sqlfiles.parse(path):
            if isinstance(tree, exp.Create) and tree.kind == "TABLE" \
                    and f"{tree.this.this.db}.{tree.this.this.name}" in wanted:
                warehouse.execute(sqlfiles.render(tree, warehouse.dialect))


def defined_tables() -> list[tuple[str, str]]:
    """(schema, table) of every table the DDL files create."""
    return [(tree.this.this.db, tree.this.this.name) for path in DDL_FILES for tree in sqlfiles.parse(path)
            if isinstance(tree, exp.Create) and tree.kind == "TABLE"]


def missing_tables(warehouse: Warehouse, *, present: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Tables the DDL defines that the warehouse lacks: it was built by an earlier version.

    ``present`` (schema -> its tables) saves listing them again when the caller already has.
    """
    if present is None:
        schemas = set(warehouse.schemas())
        present = {s: warehouse.tables(s) for s in {schema for schema, _ in defined_tables()} & schemas}
    tables = {schema: set(names) for schema, names in present.items()}
    return [f"{schema}.{table}" for schema, table in defined_tables() if table not in tables.get(schema, set())]


def landed_batches(warehouse: Warehouse, table: str) -> list[str]:
    return sorted(warehouse.arrow(exp.select(column("batch_id")).distinct().from_(table)
                                  .where(column("batch_id").is_(exp.null()).not_())).column(0).to_pylist())


def processed_batches(warehouse: Warehouse, model: Model) -> set[str]:
    return set(warehouse.arrow(exp.select(column("batch_id")).from_(BATCHES_TABLE).where(
        exp.EQ(this=column("model_name"), expression=exp.Literal.string(model.name)))).column(0).to_pylist())


@dataclass(frozen=True)
class Materialised:
    rows: int          # rows in the target afterwards
    changed: bool      # whether anything was written
    how: str           # full, append, merge or skipped
    batches: tuple[str, ...] = ()   # landed batches processed by this run


def materialise(warehouse: Warehouse, model: Model, params: Mapping[str, Any], *, run_id: str = "adhoc",
                full_refresh: bool = False, upstream_changed: bool = False) -> Materialised:
    """Bring the model's target up to date; see the module docstring for the modes and the batch record."""
    schema, table = model.target_fq.split(".")
    columns = [name for name, _ in warehouse.columns(schema, table)]
    if not columns:
        raise WarehouseError(f"target table {model.target_fq} of model {model.name} does not exist")
    new: list[str] = []
    how = "full"
    if model.materialisation != "full":
        landed = landed_batches(warehouse, model.batch_source)
        done = processed_batches(warehouse, model)
        new = [b for b in landed if b not in done]
        if not (full_refresh or new or (model.materialisation == "on_new_batches" and upstream_changed)):
            return Materialised(_count(warehouse, model), False, "skipped")
        if full_refresh or not done or model.materialisation == "on_new_batches":
            how, new = "rebuild", landed
        else:
            how = model.materialisation
    wanted = sqlfiles.placeholders(filtered_body(model, None))
    bound = {k: v for k, v in params.items() if k in wanted}
    missing = wanted - bound.keys()
    if missing:
        raise WarehouseError(f"model {model.name} needs parameters {sorted(missing)}")
    if warehouse.transactional:
        warehouse.transaction(_in_one_transaction(model, columns, how, new, run_id, bound))
    else:
        for statement, values in _one_atomic_statement_each(model, columns, how, new, run_id, bound):
            warehouse.execute(statement, values)
    return Materialised(_count(warehouse, model), True, "full" if how == "rebuild" else how, tuple(new))


Statements = list[tuple[exp.Expression, Mapping[str, Any] | None]]


def _in_one_transaction(model: Model, columns: list[str], how: str, new: list[str], run_id: str,
                        bound: Mapping[str, Any]) -> Statements:
    """Plain statements for one transaction: the data and the batch record land together."""
    statements: Statements = []
    if how == "rebuild":
        statements.append((sql.forget_batches(model), None))
    if how == "append":
        statements.append((insert_statement(model, columns, condition=sql.in_batches(new)), bound))
    elif how == "merge":
        statements.append((sql.delete_touched(model, new), None))
        statements.append((insert_statement(model, columns, condition=column(model.key).isin(
            query=sql.touched_keys(model, new))), bound))
    else:
        statements.append((exp.TruncateTable(expressions=[exp.to_table(model.target_fq)]), None))
        statements.append((insert_statement(model, columns), bound))
    record = sql.record_batches(model, new, run_id) if model.materialisation != "full" else None
    if record is not None:
        statements.append((record, None))
    return statements


def _one_atomic_statement_each(model: Model, columns: list[str], how: str, new: list[str], run_id: str,
                               bound: Mapping[str, Any]) -> Statements:
    """The data's one atomic statement, then the record's (the order the module docstring relies on)."""
    if how == "append":
        data = sql.replace_batches_statement(model, columns, new)
    elif how == "merge":
        data = sql.merge_statement(model, columns, new)
    else:
        data = sql.overwrite_statement(model, columns)
    statements: Statements = [(data, bound)]
    if model.materialisation != "full":
        statements.append((sql.replace_record(model, new, run_id, whole=how == "rebuild"), None))
    return statements


def _count(warehouse: Warehouse, model: Model) -> int:
    return count_rows(warehouse, model.target_fq)
