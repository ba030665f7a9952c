"""The pipeline's models, in build order, and how one is materialised.

A model is one SELECT in ``sql/models/<layer>/<name>.sql``; its target table is
declared by DDL in ``sql/ddl/``. Materialising replaces the target's contents
in one transaction (TRUNCATE, then INSERT of the model's columns in the
target's order), so a failed model leaves the previous contents in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from sqlglot import exp

from services import naming, sqlfiles
from services.errors import WarehouseError


@dataclass(frozen=True)
class Model:
    name: str
    path: str
    source: str
    target: str

    @property
    def target_fq(self) -> str:
        return naming.fq(self.source, self.target)


MODELS: tuple[Model, ...] = (
    Model("silver_raw_transactions", "models/silver/silver_raw_transactions.sql", "txn", "raw_transactions"),
    Model("silver_fact_transactions", "models/silver/silver_fact_transactions.sql", "txn", "fact_transactions"),
    Model("silver_dim_customer", "models/silver/silver_dim_customer.sql", "txn", "dim_customer"),
    Model("silver_fact_settlements", "models/silver/silver_fact_settlements.sql", "txn", "fact_settlements"),
    Model("gold_customer_features", "models/gold/gold_customer_features.sql", "gold", "gold_customer_features"),
    Model("gold_customer_category_spend", "models/gold/gold_customer_category_spend.sql", "gold", "gold_customer_category_spend"),
)

DDL_FILES = ("ddl/ingest.sql", "ddl/ops.sql", "ddl/gov.sql", "ddl/cost.sql", "ddl/txn.sql", "ddl/gold.sql", "ddl/app.sql")


def create_all(warehouse) -> None:
    """Create every schema and table that does not exist yet (safe to repeat)."""
    for path in DDL_FILES:
        for statement in sqlfiles.statements(path, warehouse.dialect):
            warehouse.execute(statement)


def insert_statement(model: Model, columns: list[str]) -> exp.Expression:
    """``INSERT INTO target (cols) SELECT cols FROM (<model>) AS model``."""
    body = sqlfiles.query(model.path)
    select = exp.select(*[exp.column(c, table="model", quoted=True) for c in columns]).from_(
        body.subquery("model")
    )
    target = exp.to_table(model.target_fq)
    return exp.insert(select, target, columns=[exp.to_identifier(c, quoted=True) for c in columns])


def materialise(warehouse, model: Model, params: Mapping[str, Any]) -> int:
    """Replace the model's target with the model's rows; return the row count."""
    schema, table = model.target_fq.split(".")
    columns = [name for name, _ in warehouse.columns(schema, table)]
    if not columns:
        raise WarehouseError(f"target table {model.target_fq} of model {model.name} does not exist")
    insert = insert_statement(model, columns)
    wanted = sqlfiles.placeholders(insert)
    bound = {k: v for k, v in params.items() if k in wanted}
    missing = wanted - bound.keys()
    if missing:
        raise WarehouseError(f"model {model.name} needs parameters {sorted(missing)}")
    warehouse.transaction([
        (f"TRUNCATE TABLE {model.target_fq}", None),
        (insert, bound),
    ])
    return int(warehouse.scalar(f"SELECT COUNT(*) FROM {model.target_fq}"))
