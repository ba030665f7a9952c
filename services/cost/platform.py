"""What the app's statements cost on Databricks, from the platform's own records.

On Databricks every statement the app sends carries query tags (app, page,
segment: ``services/warehouse/databricks_engine.py``), so the platform's
``system.query.history`` is the app's query log, and ``system.billing.usage``
priced at ``system.billing.list_prices`` is what its SQL warehouse cost
(https://docs.databricks.com/en/admin/system-tables/query-history.html,
https://docs.databricks.com/admin/system-tables/billing,
https://docs.databricks.com/en/admin/system-tables/pricing.html). One statement
(``sql/cost/platform_query_costs.sql``) shares each hour's list cost among the
statements that started in it, by task time: a list-price estimate, since a
warehouse is billed by the hour and never per statement. The app's own query log
(``queries.app_query_costs``) is the source on DuckDB; the Cost page picks by engine.

Reading the system tables needs ``USE CATALOG system``, ``USE SCHEMA`` and ``SELECT`` on
``system.billing`` and ``system.query`` for whoever runs the query (admins only by default).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from services import sqlfiles
from services.cost.queries import AppQueryCosts
from services.errors import ConfigError
from services.warehouse import Warehouse

COLUMNS = ("usage_hour", "page", "segment_id", "total_duration_ms", "produced_rows", "cost_usd", "hour_cost_usd")


def _summed(statements: pd.DataFrame, key: str) -> pd.DataFrame:
    grouped = statements.groupby(key, as_index=False).agg(queries=("cost_usd", "size"), rows=("rows", "sum"),
                                                         duration_s=("duration_s", "sum"),
                                                         cost_usd=("cost_usd", "sum"))
    return grouped.sort_values(["cost_usd", key], ascending=[False, True], ignore_index=True)


def platform_query_costs(warehouse: Warehouse, *, warehouse_id: str, since: dt.date) -> AppQueryCosts:
    """The app's tagged statements on SQL warehouse ``warehouse_id`` since ``since``, priced per page and segment.

    ``price_per_warehouse_hour`` is the warehouse's average list cost per hour over the hours
    the app used it (each hour counted once, whatever ran in it).
    """
    if not warehouse_id:
        raise ConfigError("the app's cost on Databricks is read by its SQL warehouse's id: set DATABRICKS_WAREHOUSE_ID "
                          "(app.yaml binds it from the sql-warehouse resource)")
    statements = warehouse.df(sqlfiles.query("cost/platform_query_costs.sql"),
                              {"warehouse_id": warehouse_id, "since": since})
    statements = statements.astype({"total_duration_ms": float, "cost_usd": float}).fillna(
        {"page": "", "segment_id": "", "produced_rows": 0, "total_duration_ms": 0.0})
    statements["duration_s"] = statements["total_duration_ms"] / 1000.0
    statements["rows"] = statements["produced_rows"].astype("int64")
    statements["page"] = statements["page"].replace("", "(no page)")
    hours = statements.drop_duplicates("usage_hour")["hour_cost_usd"].astype(float).dropna()
    return AppQueryCosts(
        price_per_warehouse_hour=float(hours.sum() / len(hours)) if len(hours) else 0.0,
        queries=len(statements),
        duration_s=float(statements["duration_s"].sum()),
        cost_usd=float(statements["cost_usd"].sum()),
        by_page=_summed(statements, "page"),
        by_segment=_summed(statements[statements["segment_id"] != ""], "segment_id"),
    )
