"""The app logs its own queries (user, page, segment) for the Cost page."""

from __future__ import annotations

import os
import time
from pathlib import Path

from services.cost import app_query_costs
from services.warehouse.duckdb_engine import DuckDBWarehouse
from services.warehouse.querylog import read_entries


def test_builder_queries_are_logged_with_user_page_and_segment(app):
    app(page="pages/builder.py", user="manager@example.com", query={"segment": "sample-beauty-enthusiasts"})
    warehouse = DuckDBWarehouse(Path(os.environ["SEGMENT_STUDIO_WAREHOUSE"]))
    # Nobody waits for the log: a background writer sends it in batches, within seconds.
    deadline = time.monotonic() + 30
    entries = read_entries(warehouse)
    while "sample-beauty-enthusiasts" not in set(entries["segment_id"]) and time.monotonic() < deadline:
        time.sleep(0.2)
        entries = read_entries(warehouse)
    assert len(entries) > 0
    assert set(entries["user"]) == {"manager@example.com"}
    assert {"home", "builder"} <= set(entries["page"])
    builder = entries[entries["segment_id"] == "sample-beauty-enthusiasts"]
    assert len(builder) >= 1 and set(builder["page"]) == {"builder"}
    assert (entries["duration_ms"] > 0).all()
    costs = app_query_costs(warehouse, price_per_warehouse_hour=3600.0)
    # At 3,600 USD per hour a query costs one dollar per second of run time.
    assert abs(costs.cost_usd - entries["duration_ms"].sum() / 1000) < 0.01
