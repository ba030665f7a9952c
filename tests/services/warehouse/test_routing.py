"""Reads as the signed-in user, writes as the app's service principal, through the executing fake warehouse."""

from __future__ import annotations

import pandas as pd
from sqlglot import exp

from services import naming
from services.exports.table import merge_statement
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


PEOPLE = naming.fq("txn", "test_people")
SNAPSHOTS = naming.fq("app", "app_export_snapshots")


def filtered_routing(tmp_path):
    """A routing warehouse whose user sees, through a row filter on PEOPLE, only the Italians (2 of 5)."""
    app, app_connector = fake_databricks(tmp_path)
    user_connector = FakeConnector(app_connector.database, volumes=app_connector.volumes,
                                   row_filters={PEOPLE: "country = 'IT'"})
    user = DatabricksWarehouse(app.settings, OnBehalfOfUser("token-of-ana"), connect=user_connector,
                               files=app_connector.volumes)
    warehouse = RoutingWarehouse(user, app)
    create_all(warehouse)
    warehouse.execute(exp.Create(this=exp.to_table(PEOPLE), kind="TABLE", expression=exp.select(
        exp.column("customer_id"), exp.column("country")).from_(exp.values(
            [("c1", "IT"), ("c2", "FR"), ("c3", "IT"), ("c4", "DE"), ("c5", "FR")], "v",
            ["customer_id", "country"]))))
    return warehouse, app_connector, user_connector


def people(country: str | None = None) -> exp.Select:
    query = exp.select(exp.column("customer_id"), exp.column("country")).from_(PEOPLE)
    return query.where(exp.column("country").eq(exp.Literal.string(country))) if country else query


def ids(warehouse, table: str) -> list[str]:
    """What the table holds, read as the service principal sees it (no row filter)."""
    return sorted(warehouse.writer.arrow(exp.select("customer_id").from_(table)).column(0).to_pylist())


def test_a_write_that_reads_customer_data_sees_only_what_the_user_may_see(tmp_path):
    """A table export, a snapshot and a merge write only the rows the user's row filter lets them read.

    Before, an ``INSERT ... SELECT`` or ``CREATE ... AS SELECT`` ran whole as the service principal,
    whom no user's row filter limits: a user who sees the Italians exported the French too.
    """
    warehouse, app, user = filtered_routing(tmp_path)
    assert sorted(warehouse.arrow(people()).column(0).to_pylist()) == ["c1", "c3"]  # the filter works
    exported = naming.fq("exports", "people")
    warehouse.execute(exp.Create(this=exp.Table(db=exp.to_identifier(naming.schema("exports"))), kind="SCHEMA",
                                 exists=True))
    warehouse.execute(exp.Create(this=exp.to_table(exported), kind="TABLE", replace=True, expression=people()))
    assert ids(warehouse, exported) == ["c1", "c3"]

    insert = exp.insert(exp.select(exp.Literal.string("j1").as_("job_id"), exp.Literal.string("s").as_("segment_id"),
                                   exp.Literal.string("csv").as_("destination"), exp.Literal.string("").as_("target"),
                                   exp.column("customer_id")).from_(people().subquery("m")), SNAPSHOTS)
    insert.set("where", exp.column("job_id").eq(exp.Literal.string("j1")))
    warehouse.execute(insert)
    assert ids(warehouse, SNAPSHOTS) == ["c1", "c3"]

    # A transaction: its reading steps are read as the user first, then land together.
    warehouse.execute(exp.update(PEOPLE, {"country": exp.Literal.string("IT")},
                                 where=exp.column("customer_id").eq(exp.Literal.string("c2"))))
    warehouse.transaction([
        (exp.Create(this=exp.to_table(exported), kind="TABLE", replace=True, expression=people()), None),
        (exp.delete(SNAPSHOTS, where=exp.column("job_id").eq(exp.Literal.string("j1"))), None),
    ])
    assert ids(warehouse, exported) == ["c1", "c2", "c3"] and ids(warehouse, SNAPSHOTS) == []
    # Nothing staged on the way stays behind: no table, no file.
    assert not [t for t in warehouse.writer.tables(naming.schema("app")) if "routed" in t]
    assert app.volumes.leftovers() == []
    # The rows were read with the user's token, the statements written with the app's.
    assert any("test_people" in sql for sql, _ in user.sent)
    assert app.refused == [] and user.refused == []


def test_a_merge_from_customer_data_merges_only_the_users_rows(tmp_path):
    warehouse, _, _ = filtered_routing(tmp_path)
    exported = naming.fq("exports", "people")
    warehouse.execute(exp.Create(this=exp.Table(db=exp.to_identifier(naming.schema("exports"))), kind="SCHEMA",
                                 exists=True))
    warehouse.execute(exp.Create(this=exp.to_table(exported), kind="TABLE", expression=exp.select(
        exp.Literal.string("c9").as_("customer_id"), exp.Literal.string("IT").as_("country"))))
    warehouse.execute(merge_statement(exp.to_table(exported), people(), ["customer_id", "country"], "customer_id"))
    assert ids(warehouse, exported) == ["c1", "c3"]  # c9 left, the French never came in


def test_a_write_that_reads_only_the_apps_own_tables_stays_one_statement(tmp_path):
    warehouse, app, user = filtered_routing(tmp_path)
    warehouse.append(SNAPSHOTS, pd.DataFrame({"job_id": ["j1"], "segment_id": ["s"], "destination": ["csv"],
                                              "target": [""], "customer_id": ["c2"]}))
    before = len(user.sent)
    copy = exp.insert(exp.select("*").from_(SNAPSHOTS), SNAPSHOTS)
    warehouse.execute(copy)
    assert len(user.sent) == before  # nothing read as the user: the app's own state
    assert ids(warehouse, SNAPSHOTS) == ["c2", "c2"]
