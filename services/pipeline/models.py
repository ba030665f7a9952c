"""The pipeline's models, in build order, and how one is materialised.

A model is one SELECT in ``sql/models/<layer>/<name>.sql``; its target table is
declared by DDL in ``sql/ddl/``. How a model is materialised, dbt style:

* ``full``: the target's contents are replaced in one transaction (TRUNCATE,
  then INSERT of the model's columns in the target's order);
* ``append``: only landed batches the model has not processed yet are read
  (a filter on the model's input CTE) and appended; nothing is rewritten;
* ``merge``: the keys found in new batches are deleted from the target and
  re-derived from all their landings (so a redelivery replaces its row);
* ``on_new_batches``: a full rebuild, but only when its input has new batches
  or an upstream incremental model changed; otherwise it is left as it is;
* ``computed``: no SQL model; the build computes the rows in Python (``COMPUTED``).

Which batches a model has processed is recorded in ``app_model_batches`` in
the same transaction as the data, so an interrupted build resumes correctly.
A full refresh (``build --full-refresh``) rebuilds every model from scratch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from services import naming, sqlfiles
from services.clock import now
from services.errors import WarehouseError
from services.sqlterms import column
from services.warehouse import Warehouse, count_rows

BATCHES_TABLE = naming.fq("app", "app_model_batches")


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

DDL_FILES = ("ddl/ingest.sql", "ddl/ops.sql", "ddl/gov.sql", "ddl/cost.sql", "ddl/txn.sql", "ddl/gold.sql", "ddl/app.sql")


def create_all(warehouse: Warehouse) -> None:
    """Create every schema and table that does not exist yet (safe to repeat)."""
    for path in DDL_FILES:
        for statement in sqlfiles.statements(path, warehouse.dialect):
            warehouse.execute(statement)


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


def _in_batches(batches: list[str]) -> exp.Expression:
    return column("batch_id").isin(*[exp.Literal.string(b) for b in batches])


def filtered_body(model: Model, condition: exp.Expression | None) -> exp.Expression:
    """The model's SELECT, with ``condition`` added to its input CTE."""
    body = sqlfiles.query(model.path)
    if condition is None:
        return body
    for cte in body.find_all(exp.CTE):
        if cte.alias == model.input_cte:
            cte.set("this", cte.this.where(condition))
            return body
    raise WarehouseError(f"model {model.name} has no input CTE named {model.input_cte!r}")


def insert_statement(model: Model, columns: list[str], *, condition: exp.Expression | None = None) -> exp.Expression:
    """``INSERT INTO target (cols) SELECT cols FROM (<model>) AS model``."""
    select = exp.select(*[exp.column(c, table="model", quoted=True) for c in columns]).from_(
        filtered_body(model, condition).subquery("model")
    )
    if model.order_by:
        select = select.order_by(*[exp.column(c, table="model", quoted=True) for c in model.order_by])
    target = exp.to_table(model.target_fq)
    return exp.insert(select, target, columns=[exp.to_identifier(c, quoted=True) for c in columns])


def landed_batches(warehouse: Warehouse, table: str) -> list[str]:
    return sorted(warehouse.arrow(exp.select(column("batch_id")).distinct().from_(table)
                                  .where(column("batch_id").is_(exp.null()).not_())).column(0).to_pylist())


def processed_batches(warehouse: Warehouse, model: Model) -> set[str]:
    return set(warehouse.arrow(exp.select(column("batch_id")).from_(BATCHES_TABLE).where(
        exp.EQ(this=column("model_name"), expression=exp.Literal.string(model.name)))).column(0).to_pylist())


def _record_batches(model: Model, batches: list[str], run_id: str) -> exp.Expression | None:
    if not batches:
        return None
    ts = exp.cast(exp.Literal.string(now().isoformat(sep=" ")), "TIMESTAMP")
    rows = [exp.Tuple(expressions=[exp.Literal.string(model.name), exp.Literal.string(b), exp.Literal.string(run_id), ts.copy()])
            for b in batches]
    return exp.insert(exp.values(rows), BATCHES_TABLE,
                      columns=[exp.to_identifier(c) for c in ("model_name", "batch_id", "run_id", "processed_ts")])


def _forget_batches(model: Model) -> exp.Expression:
    return exp.delete(BATCHES_TABLE, where=exp.EQ(this=column("model_name"), expression=exp.Literal.string(model.name)))


@dataclass(frozen=True)
class Materialised:
    rows: int          # rows in the target afterwards
    changed: bool      # whether anything was written
    how: str           # full, append, merge or skipped
    batches: tuple[str, ...] = ()   # landed batches processed by this run


def materialise(warehouse: Warehouse, model: Model, params: Mapping[str, Any], *, run_id: str = "adhoc",
                full_refresh: bool = False, upstream_changed: bool = False) -> Materialised:
    """Bring the model's target up to date; see the module docstring for the modes."""
    schema, table = model.target_fq.split(".")
    columns = [name for name, _ in warehouse.columns(schema, table)]
    if not columns:
        raise WarehouseError(f"target table {model.target_fq} of model {model.name} does not exist")
    statements: list[tuple[Any, Mapping[str, Any] | None]] = []
    new: list[str] = []
    how = "full"
    if model.materialisation != "full":
        landed = landed_batches(warehouse, model.batch_source)
        done = processed_batches(warehouse, model)
        new = [b for b in landed if b not in done]
        first_time = not done
        if not (full_refresh or new or (model.materialisation == "on_new_batches" and upstream_changed)):
            return Materialised(_count(warehouse, model), False, "skipped")
        if full_refresh or first_time or model.materialisation == "on_new_batches":
            statements.append((_forget_batches(model), None))
            new = landed
        elif model.materialisation == "append":
            how = "append"
        else:
            how = "merge"
    condition = None
    if how == "append":
        condition = _in_batches(new)
    elif how == "merge":
        touched = exp.select(column(model.key)).from_(model.batch_source).where(_in_batches(new))
        condition = column(model.key).isin(query=touched)
        statements.append((exp.delete(model.target_fq, where=column(model.key).isin(query=touched.copy())), None))
    else:
        statements.append((exp.TruncateTable(expressions=[exp.to_table(model.target_fq)]), None))
    insert = insert_statement(model, columns, condition=condition)
    wanted = sqlfiles.placeholders(insert)
    bound = {k: v for k, v in params.items() if k in wanted}
    missing = wanted - bound.keys()
    if missing:
        raise WarehouseError(f"model {model.name} needs parameters {sorted(missing)}")
    statements.append((insert, bound))
    record = _record_batches(model, new, run_id) if model.materialisation != "full" else None
    if record is not None:
        statements.append((record, None))
    warehouse.transaction(statements)
    return Materialised(_count(warehouse, model), True, how, tuple(new))


def _count(warehouse: Warehouse, model: Model) -> int:
    return count_rows(warehouse, model.target_fq)
