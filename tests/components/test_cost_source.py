"""The Cost page's source for the app's own queries: the platform's system tables on Databricks, the query log on DuckDB."""

from __future__ import annotations

from datetime import datetime

import pytest

from components import cost as cost_component
from services import clock
from services.settings import Settings
from services.warehouse.querylog import LoggedWarehouse
from tests.services.test_cost_platform import SYSTEM_TABLES
from tests.services.warehouse.fake_connector import fake_databricks

DATABRICKS = {"SEGMENT_STUDIO_ENGINE": "databricks", "DATABRICKS_HOST": "https://h", "DATABRICKS_WAREHOUSE_ID": "wh1"}


def test_on_databricks_the_page_reads_the_system_tables_of_its_warehouse(tmp_path, monkeypatch):
    warehouse, connector = fake_databricks(tmp_path)
    connector.database.execute(SYSTEM_TABLES)
    monkeypatch.setattr(cost_component, "get_warehouse", lambda path: warehouse)
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 6, 12, 9, 0))  # 30 days back: from 13 May
    cost_component.platform_query_costs.clear()
    costs = cost_component.query_costs("databricks:service-principal", Settings.from_env(DATABRICKS), 99.0)
    # The hand-checked answer of tests/services/test_cost_platform.py: the typed price plays no part.
    assert (costs.queries, costs.cost_usd) == (4, pytest.approx(15.0))
    assert all("system." in sql for sql, _ in connector.sent)


def test_on_duckdb_the_page_prices_the_apps_own_log(tmp_path, empty_warehouse, monkeypatch):
    logged = LoggedWarehouse(empty_warehouse)
    with logged.context(user="ana@example.com", page="builder"):
        logged.scalar("SELECT 1")
    logged.flush()
    monkeypatch.setattr(cost_component, "get_warehouse", lambda path: empty_warehouse)
    cost_component.app_query_costs.clear()
    settings = Settings.from_env({"SEGMENT_STUDIO_WAREHOUSE": str(tmp_path / "w.duckdb")})
    costs = cost_component.query_costs(str(tmp_path / "w.duckdb"), settings, 3600.0)
    assert costs.queries == 1 and list(costs.by_page["page"]) == ["builder"]
