"""Reads as the signed-in user, writes as the app's service principal, through the executing fake warehouse."""

from __future__ import annotations

import pandas as pd
from sqlglot import exp

from services import naming
from services.pipeline.models import create_all
from services.warehouse.databricks_engine import DatabricksWarehouse
from services.warehouse.databricks_identity import OnBehalfOfUser
from services.warehouse.routing import RoutingWarehouse
from tests.services.warehouse.fake_connector import FakeConnector, fake_databricks

LOG = naming.fq("ops", "fact_logs")


def routed(tmp_path):
    """(routing warehouse, the service principal's connector, the user's connector) on one DuckDB database."""
    app, app_connector = fake_databricks(tmp_path)
    user_connector = FakeConnector(app_connector.database, volumes=app_connector.volumes)
    user = DatabricksWarehouse(app.settings, OnBehalfOfUser("token-of-ana"), connect=user_connector,
                               files=app_connector.volumes)
    return RoutingWarehouse(user, app), app_connector, user_connector


def test_reads_run_as_the_user_and_writes_as_the_service_principal(tmp_path):
    warehouse, app, user = routed(tmp_path)
    create_all(warehouse)
    assert user.sent == [] and app.sent  # DDL is a write
    writes = len(app.sent)
    row = pd.DataFrame({"log_id": ["l1"], "service_id": ["segment-studio"], "instance_id": ["i"], "message_ts": [pd.Timestamp("2026-06-01")], "log_level": ["INFO"],
                        "message": ["hello"], "duration_ms": [3]})
    assert warehouse.append(LOG, row) == 1
    count = warehouse.scalar(exp.select(exp.func("COUNT", exp.Star())).from_(LOG))
    assert count == 1
    assert [sql for sql, _ in user.sent] == [f"SELECT COUNT(*) FROM retail.{LOG}"]
    assert len(app.sent) > writes and all("COUNT(*)" not in sql for sql, _ in app.sent[writes:])
    # Each connection is its identity's: the user's token never reaches the app's sessions.
    assert {c.kwargs.get("access_token") for c in user.connections} == {"token-of-ana"}
    assert all("access_token" not in c.kwargs for c in app.connections)
    assert app.refused == [] and user.refused == []


def test_bulk_rows_are_staged_as_the_service_principal(tmp_path):
    warehouse, app, user = routed(tmp_path)
    create_all(warehouse)
    rows = pd.DataFrame({"log_id": [f"l{i}" for i in range(300)], "service_id": "segment-studio", "instance_id": "i", "message_ts": pd.Timestamp("2026-06-01"),
                         "log_level": "INFO", "message": "bulk", "duration_ms": 1})
    assert warehouse.append(LOG, rows) == 300
    assert any(sql.startswith("COPY INTO") for sql, _ in app.sent) and not any("COPY" in sql for sql, _ in user.sent)
    assert warehouse.scalar(exp.select(exp.func("COUNT", exp.Star())).from_(LOG)) == 300
    assert app.volumes.leftovers() == []


def test_cached_results_hang_on_the_users_identity(tmp_path):
    warehouse, _, _ = routed(tmp_path)
    assert warehouse.identity_key == OnBehalfOfUser("token-of-ana").key
