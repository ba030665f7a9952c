"""The app's cost on Databricks, read from the platform's system tables through the executing fake warehouse.

Small ``system.billing.usage``, ``system.billing.list_prices`` and ``system.query.history``
tables with hand-made rows (columns as in docs/system-tables: billing, pricing, query-history)
and answers worked out by hand:

* the app's warehouse ``wh1`` ran 10 DBU in 10:00-11:00 on 10 June ($1.00 a DBU from 1 June:
  $10), 4 DBU in 11:00-12:00 ($4), and 10 DBU in 09:00-10:00 on 20 May ($0.70 then: $7);
  another warehouse's 100 DBU are not the app's;
* in the 10:00 hour the app ran 3 s (builder, seg-1) and 1 s (builder) of task time beside 6 s
  of someone else's, so it pays $3 and $1 of the hour's $10; at 11:00 its one statement
  (exports, seg-1) pays the whole $4; on 20 May its one statement (library) the whole $7.
"""

from __future__ import annotations

import datetime as dt

import pytest

from services.cost.platform import platform_query_costs
from services.errors import ConfigError
from tests.services.warehouse.fake_connector import fake_databricks

SYSTEM_TABLES = """
CREATE SCHEMA system__billing;
CREATE SCHEMA system__query;
CREATE TABLE system__billing.usage (
    record_id VARCHAR, sku_name VARCHAR, cloud VARCHAR, usage_unit VARCHAR, usage_quantity DECIMAL(18, 6),
    usage_start_time TIMESTAMPTZ, usage_end_time TIMESTAMPTZ, usage_date DATE,
    usage_metadata STRUCT(warehouse_id VARCHAR, app_id VARCHAR), billing_origin_product VARCHAR);
CREATE TABLE system__billing.list_prices (
    sku_name VARCHAR, cloud VARCHAR, usage_unit VARCHAR, currency_code VARCHAR,
    price_start_time TIMESTAMPTZ, price_end_time TIMESTAMPTZ,
    pricing STRUCT("default" DECIMAL(30, 18), effective_list STRUCT("default" DECIMAL(30, 18))));
CREATE TABLE system__query.history (
    statement_id VARCHAR, executed_by VARCHAR, start_time TIMESTAMPTZ,
    compute STRUCT(type VARCHAR, warehouse_id VARCHAR), query_tags MAP(VARCHAR, VARCHAR),
    total_duration_ms BIGINT, total_task_duration_ms BIGINT, produced_rows BIGINT);
INSERT INTO system__billing.list_prices VALUES
    ('PREMIUM_SERVERLESS_SQL', 'AWS', 'DBU', 'USD', '2026-01-01 00:00:00+00', '2026-06-01 00:00:00+00',
     {'default': 0.70, 'effective_list': {'default': 0.70}}),
    ('PREMIUM_SERVERLESS_SQL', 'AWS', 'DBU', 'USD', '2026-06-01 00:00:00+00', NULL,
     {'default': 1.00, 'effective_list': {'default': 1.00}}),
    ('PREMIUM_SERVERLESS_SQL', 'AZURE', 'DBU', 'USD', '2026-01-01 00:00:00+00', NULL,
     {'default': 9.00, 'effective_list': {'default': 9.00}});
INSERT INTO system__billing.usage VALUES
    ('u1', 'PREMIUM_SERVERLESS_SQL', 'AWS', 'DBU', 10, '2026-06-10 10:00:00+00', '2026-06-10 11:00:00+00', '2026-06-10',
     {'warehouse_id': 'wh1', 'app_id': NULL}, 'SQL'),
    ('u2', 'PREMIUM_SERVERLESS_SQL', 'AWS', 'DBU', 4, '2026-06-10 11:00:00+00', '2026-06-10 12:00:00+00', '2026-06-10',
     {'warehouse_id': 'wh1', 'app_id': NULL}, 'SQL'),
    ('u3', 'PREMIUM_SERVERLESS_SQL', 'AWS', 'DBU', 10, '2026-05-20 09:00:00+00', '2026-05-20 10:00:00+00', '2026-05-20',
     {'warehouse_id': 'wh1', 'app_id': NULL}, 'SQL'),
    ('u4', 'PREMIUM_SERVERLESS_SQL', 'AWS', 'DBU', 100, '2026-06-10 10:00:00+00', '2026-06-10 11:00:00+00', '2026-06-10',
     {'warehouse_id': 'wh2', 'app_id': NULL}, 'SQL');
INSERT INTO system__query.history VALUES
    ('s1', 'ana@example.com', '2026-06-10 10:05:00+00', {'type': 'WAREHOUSE', 'warehouse_id': 'wh1'},
     MAP {'app': 'segment-studio', 'page': 'builder', 'segment_id': 'seg-1'}, 1000, 3000, 5),
    ('s2', 'ana@example.com', '2026-06-10 10:10:00+00', {'type': 'WAREHOUSE', 'warehouse_id': 'wh1'},
     MAP {'app': 'segment-studio', 'page': 'builder'}, 500, 1000, 1),
    ('s3', 'eve@example.com', '2026-06-10 10:20:00+00', {'type': 'WAREHOUSE', 'warehouse_id': 'wh1'},
     MAP {'team': 'finance'}, 9000, 6000, 70),
    ('s4', 'bo@example.com', '2026-06-10 11:15:00+00', {'type': 'WAREHOUSE', 'warehouse_id': 'wh1'},
     MAP {'app': 'segment-studio', 'page': 'exports', 'segment_id': 'seg-1'}, 2000, 2000, 100),
    ('s5', 'bo@example.com', '2026-05-20 09:30:00+00', {'type': 'WAREHOUSE', 'warehouse_id': 'wh1'},
     MAP {'app': 'segment-studio', 'page': 'library'}, 250, 1000, 2),
    ('s6', 'ana@example.com', '2026-06-10 10:00:00+00', {'type': 'WAREHOUSE', 'warehouse_id': 'wh2'},
     MAP {'app': 'segment-studio', 'page': 'builder'}, 800, 800, 1),
    ('s7', 'ana@example.com', '2026-04-01 08:00:00+00', {'type': 'WAREHOUSE', 'warehouse_id': 'wh1'},
     MAP {'app': 'segment-studio', 'page': 'home'}, 100, 100, 1);
"""


@pytest.fixture
def platform(tmp_path):
    warehouse, connector = fake_databricks(tmp_path)
    connector.database.execute(SYSTEM_TABLES)
    yield warehouse, connector
    assert connector.refused == []
    warehouse.close()


def test_the_apps_statements_are_priced_per_page_and_segment_from_the_system_tables(platform):
    warehouse, connector = platform
    costs = platform_query_costs(warehouse, warehouse_id="wh1", since=dt.date(2026, 5, 1))
    assert costs.queries == 4
    assert costs.duration_s == pytest.approx(3.75)
    assert costs.cost_usd == pytest.approx(15.0)
    # The hours the app used: $10, $4 and $7.
    assert costs.price_per_warehouse_hour == pytest.approx(7.0)
    assert costs.by_page.to_dict("records") == [
        {"page": "library", "queries": 1, "rows": 2, "duration_s": pytest.approx(0.25), "cost_usd": pytest.approx(7.0)},
        {"page": "builder", "queries": 2, "rows": 6, "duration_s": pytest.approx(1.5), "cost_usd": pytest.approx(4.0)},
        {"page": "exports", "queries": 1, "rows": 100, "duration_s": pytest.approx(2.0), "cost_usd": pytest.approx(4.0)},
    ]
    assert costs.by_segment.to_dict("records") == [
        {"segment_id": "seg-1", "queries": 2, "rows": 105, "duration_s": pytest.approx(3.0),
         "cost_usd": pytest.approx(7.0)}]
    # One statement, on the system tables, bound to the warehouse and the window.
    [(sql, params)] = connector.sent
    assert "system.query.history" in sql and "system.billing.list_prices" in sql
    assert params == {"warehouse_id": "wh1", "since": dt.date(2026, 5, 1)}


def test_the_window_starts_on_since(platform):
    warehouse, _ = platform
    costs = platform_query_costs(warehouse, warehouse_id="wh1", since=dt.date(2026, 6, 1))
    assert costs.queries == 3 and costs.cost_usd == pytest.approx(8.0)
    assert list(costs.by_page["page"]) == ["builder", "exports"]


def test_no_statements_is_no_cost(platform):
    warehouse, _ = platform
    costs = platform_query_costs(warehouse, warehouse_id="wh9", since=dt.date(2026, 1, 1))
    assert (costs.queries, costs.cost_usd, costs.price_per_warehouse_hour) == (0, 0.0, 0.0)
    assert costs.by_page.empty and costs.by_segment.empty


def test_without_a_warehouse_id_it_says_which_setting(platform):
    warehouse, _ = platform
    with pytest.raises(ConfigError, match="DATABRICKS_WAREHOUSE_ID"):
        platform_query_costs(warehouse, warehouse_id="", since=dt.date(2026, 1, 1))
