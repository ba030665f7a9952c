"""The Databricks SQL engine against a fake of the connector that executes on DuckDB."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal

import databricks.sdk
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from databricks.sdk.errors import InternalError
from databricks.sql import exc as dbx
from databricks.sql.backend.thrift_backend import _retry_policy
from sqlglot import exp

from services import naming, sqlfiles
from services.errors import ConfigError, QueryError, WarehouseError, WarehouseUnavailableError
from services.pipeline.models import create_all
from services.warehouse import replace_rows
from services.warehouse.databricks_engine import PARAMETERS, DatabricksWarehouse
from services.warehouse.databricks_identity import (
    OnBehalfOfUser,
    ServicePrincipal,
    ServicePrincipalCredentials,
    identity_for,
)
from services.warehouse.databricks_settings import DatabricksSettings
from tests.services.warehouse.fake_connector import FakeConnector
from tests.services.warehouse.fake_volumes import FakeVolumes

VOLUME = "/Volumes/retail/app/staging"
ENV = {"DATABRICKS_HOST": "https://adb-42.7.azuredatabricks.net/", "DATABRICKS_WAREHOUSE_ID": "abc123",
       "SEGMENT_STUDIO_CATALOG": "retail", "SEGMENT_STUDIO_SCHEMA_TXN": "pos_prod.transactions",
       "SEGMENT_STUDIO_VOLUME": VOLUME}
TXN = naming.schema("txn")
FACT = naming.fq("txn", "fact_transactions")
PLACED_FACT = "pos_prod.transactions." + naming.table("fact_transactions")
RUNS = naming.fq("app", "app_build_runs")
PLACED_RUNS = "retail." + RUNS


class CountingConfig:
    """Stands in for databricks.sdk.core.Config; counts how often one is created."""

    created = 0

    def __init__(self, **kwargs):
        type(self).created += 1
        self.kwargs = kwargs
        self.host = kwargs.get("host") or "https://job-workspace.cloud.databricks.com"

    def authenticate(self):
        return {"Authorization": "Bearer sp-token"}


@pytest.fixture
def settings():
    return DatabricksSettings.from_sources(ENV)


@pytest.fixture
def volumes(tmp_path):
    return FakeVolumes(tmp_path / "volumes", VOLUME)


@pytest.fixture
def connector(volumes):
    connector = FakeConnector(volumes=volumes)
    # A table in the session's own catalog and schema, for the statements below.
    connector.database.execute("CREATE TABLE t (batch_id VARCHAR, x INTEGER, n INTEGER)")
    connector.database.execute("INSERT INTO t VALUES ('b1', 1, 5), ('b2', 2, 2), ('b3', 3, 9), ('b4', 4, 7)")
    yield connector
    assert connector.refused == []  # a test that provokes a refusal clears the list after checking it


def user_warehouse(settings, connector, token="token-of-ana"):
    return DatabricksWarehouse(settings, OnBehalfOfUser(token), connect=connector, files=connector.volumes)


@pytest.fixture
def built(settings, connector):
    """A warehouse with every table of the DDL created through the engine."""
    warehouse = user_warehouse(settings, connector)
    create_all(warehouse)
    connector.connections[0].sent.clear()
    return warehouse


# -- parameters --------------------------------------------------------------
def test_tree_with_named_parameter_is_sent_as_placed_text_and_native_parameters(settings, connector):
    fact = f"pos_prod__transactions.{naming.table('fact_transactions')}"  # where the fake keeps the placed table
    connector.database.execute(f"CREATE SCHEMA pos_prod__transactions; CREATE TABLE {fact} (posted_date DATE); "
                               f"INSERT INTO {fact} VALUES (DATE '2024-05-01'), (DATE '2024-05-02')")
    query = (exp.select(exp.func("COUNT", exp.Star())).from_(FACT)
             .where(exp.column("posted_date").eq(exp.Placeholder(this="as_of_date"))))
    assert user_warehouse(settings, connector).scalar(query, {"as_of_date": date(2024, 5, 1)}) == 1
    assert connector.sent == [(f"SELECT COUNT(*) FROM {PLACED_FACT} WHERE posted_date = :as_of_date",
                               {"as_of_date": date(2024, 5, 1)})]


def test_sql_text_from_a_model_file_is_placed_and_keeps_its_markers(built, connector):
    text = sqlfiles.render(sqlfiles.query("models/gold/gold_customer_features.sql"), "databricks")
    assert built.arrow(text, {"as_of_date": None}).num_rows == 0  # it runs: every table it reads exists, empty
    sent, params = connector.sent[0]
    assert ":as_of_date" in sent and params == {"as_of_date": None}
    assert f"{TXN}." not in sent
    assert f"FROM {PLACED_FACT}" in sent


def test_replacing_a_tables_rows_is_one_insert_overwrite_statement(built, connector):
    catalog = naming.fq("gold", "gold_feature_catalog")
    rows = exp.values([exp.Tuple(expressions=[exp.convert("monetary"), exp.convert("feature"), exp.convert(1),
                                              exp.convert(0), exp.convert(0), exp.convert("run-1"), exp.convert("v1"),
                                              exp.cast(exp.Literal.string("2026-11-01 06:00:00"), "TIMESTAMP")])])
    columns = ["field_name", "field_kind", "position", "row_count", "null_count", "build_id", "ddl_version",
               "built_ts"]
    for _ in range(2):
        replace_rows(built, catalog, rows, columns)
    # One statement each time, so readers of the Delta table see the old rows or the new, never none.
    assert [sql.split(" (")[0] for sql, _ in connector.sent] == [f"INSERT OVERWRITE TABLE retail.{catalog}"] * 2
    assert built.scalar(f"SELECT COUNT(*) FROM {catalog}") == 1  # replaced, not added to


def test_tables_of_several_schemas_is_one_query_per_catalog_they_are_placed_in(settings, connector):
    warehouse = user_warehouse(settings, connector)
    # txn is placed in the catalog pos_prod (schema transactions); gold and app in retail.
    connector.database.execute(
        "CREATE SCHEMA pos_prod__transactions; "
        f"CREATE TABLE pos_prod__transactions.{naming.table('fact_transactions')} (x INTEGER); "
        f"CREATE TABLE pos_prod__transactions.{naming.table('dim_customer')} (x INTEGER); "
        f"CREATE SCHEMA retail__{naming.schema('gold')}; "
        f"CREATE TABLE retail__{naming.schema('gold')}.{naming.table('gold_customer_features')} (x INTEGER)")
    found = warehouse.tables_of([TXN, naming.schema("gold"), naming.schema("app")])
    assert {k: sorted(v) for k, v in found.items()} == {
        TXN: sorted([naming.table("fact_transactions"), naming.table("dim_customer")]),
        naming.schema("gold"): [naming.table("gold_customer_features")], naming.schema("app"): []}
    # two catalogs, two queries
    assert [(sql.split(" FROM ")[1].split(" ")[0], params) for sql, params in connector.sent] == [
        ("pos_prod.information_schema.tables", {"s0": "transactions"}),
        ("retail.information_schema.tables", {"s0": naming.schema("gold"), "s1": naming.schema("app")})]


def test_no_parameters_sends_none(settings, connector):
    user_warehouse(settings, connector).execute("SELECT 1")
    assert connector.sent == [("SELECT 1", None)]


@pytest.mark.parametrize("values, sql, params, batches", [
    pytest.param(["b1", "b2", "b3"], "SELECT batch_id FROM t WHERE ARRAY_CONTAINS(:ids, batch_id) AND n > :n",
                 {"ids": ["b1", "b2", "b3"], "n": 3}, ["b1", "b3"], id="list"),
    pytest.param(("b1",), "SELECT batch_id FROM t WHERE ARRAY_CONTAINS(:ids, batch_id) AND n > :n",
                 {"ids": ["b1"], "n": 3}, ["b1"], id="tuple-of-one"),
    pytest.param({"b4", "b1"}, "SELECT batch_id FROM t WHERE ARRAY_CONTAINS(:ids, batch_id) AND n > :n",
                 {"ids": ["b1", "b4"], "n": 3}, ["b1", "b4"], id="set-sorted"),
    pytest.param([], "SELECT batch_id FROM t WHERE FALSE AND n > :n", {"n": 3}, [], id="empty-is-false"),
])
def test_a_list_in_in_is_one_array_parameter(settings, connector, values, sql, params, batches):
    query = exp.select("batch_id").from_("t").where(exp.and_(
        exp.column("batch_id").isin(exp.Placeholder(this="ids")), exp.column("n") > exp.Placeholder(this="n")))
    rows = user_warehouse(settings, connector).arrow(query.order_by("batch_id"), {"ids": values, "n": 3})
    assert rows.column("batch_id").to_pylist() == batches
    assert connector.sent == [(sql + " ORDER BY batch_id", params)]


def test_a_thousand_ids_stay_one_parameter(settings, connector):
    ids = [f"b{i}" for i in range(1_000)]
    assert user_warehouse(settings, connector).scalar("SELECT COUNT(*) FROM t WHERE batch_id IN (:ids)", {"ids": ids}) == 4
    assert connector.most_parameters() == 1


def test_lists_in_sql_text_become_arrays_and_not_in_keeps_its_not(settings, connector):
    rows = user_warehouse(settings, connector).arrow("SELECT x FROM t WHERE NOT x IN (:ids) ORDER BY x", {"ids": [1, 2]})
    assert rows.column("x").to_pylist() == [3, 4]
    assert connector.sent == [("SELECT x FROM t WHERE NOT ARRAY_CONTAINS(:ids, x) ORDER BY x", {"ids": [1, 2]})]


def test_a_list_outside_in_stays_one_array_parameter(settings, connector):
    user_warehouse(settings, connector).execute("SELECT ARRAY_CONTAINS(:ids, x) FROM t", {"ids": [1, 2]})
    assert connector.sent == [("SELECT ARRAY_CONTAINS(:ids, x) FROM t", {"ids": [1, 2]})]


def test_arrow_results_are_the_rows_the_warehouse_holds(settings, connector):
    warehouse = user_warehouse(settings, connector)
    assert warehouse.arrow("SELECT batch_id, n FROM t WHERE x <= 2 ORDER BY x").to_pylist() == [
        {"batch_id": "b1", "n": 5}, {"batch_id": "b2", "n": 2}]
    assert warehouse.df("SELECT SUM(n) AS n FROM t")["n"].tolist() == [23]
    assert warehouse.scalar("SELECT n FROM t WHERE x > 10") is None


# -- what the platform refuses -----------------------------------------------
def test_the_fake_refuses_what_the_server_refuses(connector):
    cursor = connector(session_configuration={}).cursor()
    with pytest.raises(dbx.ServerOperationError, match="Parameterized query has too many parameters: 257 parameters "
                                                       "were given but the limit is 256"):
        cursor.execute("SELECT " + ", ".join(f":p{i}" for i in range(257)), {f"p{i}": i for i in range(257)})
    with pytest.raises(dbx.ServerOperationError, match="PARSE_SYNTAX_ERROR.*'INSERT'"):
        cursor.execute("DELETE FROM t WHERE x = 1; INSERT INTO t VALUES ('b9', 9, 9)")
    with pytest.raises(dbx.ServerOperationError, match="UNBOUND_SQL_PARAMETER.*ids"):
        cursor.execute("SELECT * FROM t WHERE ARRAY_CONTAINS(:ids, x)", {})
    with pytest.raises(dbx.NotSupportedError, match="Could not infer parameter type"):
        cursor.execute("SELECT :v", {"v": object()})
    assert connector.database.execute("SELECT COUNT(*) FROM t").fetchone() == (4,)  # nothing of the two ran
    assert len(connector.refused) == 4
    connector.refused.clear()


def test_the_engine_sends_one_statement_per_call(settings, connector):
    with pytest.raises(QueryError, match="one statement per call and this text holds 2"):
        user_warehouse(settings, connector).execute("DELETE FROM t WHERE x = 1; INSERT INTO t VALUES ('b9', 9, 9)")
    assert connector.sent == []


def test_the_engine_never_sends_more_parameters_than_the_limit(settings, connector):
    params = {f"p{i}": i for i in range(PARAMETERS + 1)}
    with pytest.raises(QueryError, match="at most 255 parameters"):
        user_warehouse(settings, connector).scalar("SELECT " + " + ".join(f":p{i}" for i in params), params)
    assert connector.sent == []


# -- append: small writes bound, bulk through the volume -----------------------
def test_a_small_append_is_one_insert_of_bound_values(built, connector, volumes):
    rows = pa.table({"run_id": ["r1", "r2"], "started_ts": [datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 11)],
                     "status": ["succeeded", "failed"], "customers": [1, None]})
    assert built.append(RUNS, rows) == 2
    assert connector.sent == [
        (f"INSERT INTO {PLACED_RUNS} (`run_id`, `started_ts`, `status`, `customers`) VALUES "
         "(:v0_0, :v0_1, :v0_2, :v0_3), (:v1_0, :v1_1, :v1_2, :v1_3)",
         {"v0_0": "r1", "v0_1": datetime(2024, 5, 1, 10), "v0_2": "succeeded", "v0_3": 1,
          "v1_0": "r2", "v1_1": datetime(2024, 5, 1, 11), "v1_2": "failed", "v1_3": None}),
    ]
    assert built.arrow(f"SELECT run_id, customers, engine FROM {RUNS} ORDER BY run_id").to_pylist() == [
        {"run_id": "r1", "customers": 1, "engine": None}, {"run_id": "r2", "customers": None, "engine": None}]
    assert volumes.calls == []


def test_a_bulk_append_is_staged_in_the_volume_and_copied_in_once(built, connector, volumes):
    n = 1_000
    rows = pd.DataFrame({"run_id": [f"r{i:04d}" for i in range(n)], "status": "succeeded",
                         "started_ts": pd.Timestamp("2024-05-01 10:00"), "gold_rows": range(n),
                         "message": None})
    assert built.append(RUNS, rows) == n
    [(copy, params)] = [s for s in connector.sent if s[0].startswith("COPY INTO")]
    assert copy.startswith(f"COPY INTO {PLACED_RUNS} FROM (SELECT CAST(`run_id` AS STRING) AS `run_id`, "
                           "CAST(`started_ts` AS TIMESTAMP) AS `started_ts`, CAST(NULL AS TIMESTAMP) AS `finished_ts`")
    assert f"FROM '{VOLUME}/segment-studio/loads/" in copy and copy.endswith("FILEFORMAT = PARQUET")
    assert params is None and connector.most_parameters() <= PARAMETERS
    [upload] = [path for call, path in volumes.calls if call == "upload"]
    assert upload.endswith("/part-0.parquet") and upload.rsplit("/", 2)[0] in copy
    assert volumes.leftovers() == []  # the staged file and its folder are gone
    summary = built.arrow(f"SELECT COUNT(*) AS n, SUM(gold_rows) AS s, MIN(started_ts) AS ts, "
                          f"COUNT(message) AS m FROM {RUNS}").to_pylist()[0]
    assert summary == {"n": n, "s": sum(range(n)), "ts": datetime(2024, 5, 1, 10, tzinfo=UTC), "m": 0}


def test_a_copy_whose_answer_was_lost_is_run_again_and_lands_once(built, connector, volumes):
    connector.fail_on("COPY INTO", dbx.RequestError("connection reset"), after=True)
    rows = pa.table({"run_id": [f"r{i}" for i in range(300)], "status": ["ok"] * 300,
                     "started_ts": [datetime(2024, 5, 1)] * 300})
    assert built.append(RUNS, rows) == 300
    assert sum(1 for s, _ in connector.sent if s.startswith("COPY INTO")) == 2
    assert built.scalar(f"SELECT COUNT(*) FROM {RUNS}") == 300
    assert volumes.leftovers() == []


def test_a_bulk_append_without_a_volume_says_which_setting(connector):
    settings = DatabricksSettings.from_sources({k: v for k, v in ENV.items() if k != "SEGMENT_STUDIO_VOLUME"})
    warehouse = user_warehouse(settings, connector)
    with pytest.raises(ConfigError, match="SEGMENT_STUDIO_VOLUME"):
        warehouse.append(RUNS, pa.table({"run_id": [f"r{i}" for i in range(300)]}))


def test_a_volume_the_identity_cannot_write_is_named(built, connector):
    built.settings = DatabricksSettings.from_sources({**ENV, "SEGMENT_STUDIO_VOLUME": "/Volumes/retail/app/other"})
    with pytest.raises(WarehouseError, match="/Volumes/retail/app/other failed.*READ VOLUME and WRITE VOLUME"):
        built.append(RUNS, pa.table({"run_id": [f"r{i}" for i in range(300)]}))
    assert built.scalar(f"SELECT COUNT(*) FROM {RUNS}") == 0


def test_a_column_the_table_lacks_is_refused_before_anything_is_staged(built, volumes):
    with pytest.raises(WarehouseError, match="no column\\(s\\) colour there"):
        built.append(RUNS, pa.table({"run_id": [f"r{i}" for i in range(300)], "colour": ["red"] * 300}))
    assert volumes.calls == []


def test_big_values_go_through_the_volume_even_in_a_few_rows(built, connector, volumes):
    rows = pa.table({"run_id": ["r1", "r2"], "status": ["ok", "ok"], "started_ts": [datetime(2024, 5, 1)] * 2,
                     "message": ["x" * 400_000, "y" * 400_000]})
    built.append(RUNS, rows)
    assert any(call == "upload" for call, _ in volumes.calls)
    assert built.scalar(f"SELECT SUM(LENGTH(message)) FROM {RUNS}") == 800_000


# -- time zone -----------------------------------------------------------------
def test_timestamps_are_utc_whatever_the_warehouse_default_zone(settings, volumes):
    connector = FakeConnector(volumes=volumes, server_timezone="America/Los_Angeles")
    warehouse = user_warehouse(settings, connector)
    create_all(warehouse)
    naive, aware = datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    warehouse.append(RUNS, pa.table({"run_id": ["naive", "aware"], "status": ["ok", "ok"],
                                     "started_ts": pa.array([naive, aware.replace(tzinfo=None)], pa.timestamp("us"))}))
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {RUNS} WHERE started_ts = :ts", {"ts": aware}) == 1
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {RUNS} WHERE started_ts = :ts", {"ts": naive}) == 1
    assert warehouse.scalar("SELECT current_setting('TimeZone')") == "UTC"
    # A session that did not set TIMEZONE reads the same naive value in the warehouse's zone: 7 hours later.
    other = connector(catalog="retail").cursor()
    other.execute(f"SELECT COUNT(*) AS n FROM {PLACED_RUNS} WHERE started_ts = :ts", {"ts": naive})
    assert other.fetchall_arrow().column("n").to_pylist() == [0]


def test_decimals_dates_and_numpy_values_bind(built):
    built.execute(f"INSERT INTO {PLACED_RUNS} (run_id, status, started_ts, as_of_date, gold_rows) "
                  "VALUES (:id, :status, :ts, :day, :rows)",
                  {"id": "r1", "status": "ok", "ts": pd.Timestamp("2024-05-01 10:00"), "day": date(2024, 4, 30),
                   "rows": pd.Series([7]).iloc[0]})
    assert built.arrow(f"SELECT as_of_date, gold_rows FROM {RUNS}").to_pylist() == [
        {"as_of_date": date(2024, 4, 30), "gold_rows": 7}]
    assert built.scalar("SELECT :d * 2", {"d": Decimal("1.25")}) == Decimal("2.50")


# -- metadata ------------------------------------------------------------------
def test_metadata_reads_the_placed_catalogs_information_schema(settings, connector):
    connector.database.execute("CREATE SCHEMA pos_prod__transactions")
    for name in ("b", "a"):
        connector.database.execute(f"CREATE TABLE pos_prod__transactions.{name} (k VARCHAR, amount DECIMAL(18, 2))")
    warehouse = user_warehouse(settings, connector)
    assert warehouse.tables(TXN) == ["a", "b"]
    assert connector.sent == [("SELECT table_name FROM pos_prod.information_schema.tables "
                               "WHERE table_schema = :schema ORDER BY table_name", {"schema": "transactions"})]
    assert warehouse.columns(TXN, "a") == [("k", "STRING"), ("amount", "DECIMAL")]
    assert warehouse.target_columns(f"{TXN}.a") == [("k", "string"), ("amount", "decimal(18,2)")]


def test_schemas_answers_with_seed_names(settings, connector):
    for schema in ("pos_prod__transactions", "pos_prod__other", f"retail__{naming.schema('gold')}", "retail__default"):
        connector.database.execute(f"CREATE SCHEMA {schema}")
    assert user_warehouse(settings, connector).schemas() == sorted([TXN, naming.schema("gold")])
    assert [s for s, _ in connector.sent] == ["SELECT schema_name FROM pos_prod.information_schema.schemata",
                                              "SELECT schema_name FROM retail.information_schema.schemata"]


# -- connection settings -----------------------------------------------------
def test_connect_gets_timeouts_capped_retries_and_native_parameters(settings, connector):
    user_warehouse(settings, connector).execute("SELECT 1")
    kwargs = connector.connections[0].kwargs
    assert kwargs["server_hostname"] == "adb-42.7.azuredatabricks.net"
    assert kwargs["http_path"] == "/sql/1.0/warehouses/abc123"
    assert kwargs["catalog"] == "retail"
    assert kwargs["session_configuration"] == {"STATEMENT_TIMEOUT": "300", "TIMEZONE": "UTC"}
    assert kwargs["use_inline_params"] is False
    assert kwargs["_retry_stop_after_attempts_count"] == 3
    assert kwargs["_retry_stop_after_attempts_duration"] == 60.0
    assert kwargs["_socket_timeout"] == 60.0
    # Values the connector would silently clamp are a misconfiguration: stay inside its bounds.
    for name, (_, _, low, high) in _retry_policy.items():
        if name in kwargs:
            assert low <= kwargs[name] <= high, name


def test_configured_bounds_reach_the_connector(connector):
    settings = DatabricksSettings.from_sources({**ENV, "SEGMENT_STUDIO_STATEMENT_TIMEOUT": "45",
                                                "SEGMENT_STUDIO_CONNECT_TIMEOUT": "20", "SEGMENT_STUDIO_RETRIES": "2",
                                                "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/other"})
    user_warehouse(settings, connector).execute("SELECT 1")
    kwargs = connector.connections[0].kwargs
    assert kwargs["session_configuration"] == {"STATEMENT_TIMEOUT": "45", "TIMEZONE": "UTC"}
    assert (kwargs["_retry_stop_after_attempts_count"], kwargs["_retry_stop_after_attempts_duration"],
            kwargs["_socket_timeout"], kwargs["http_path"]) == (2, 20.0, 20.0, "/sql/1.0/warehouses/other")


# -- errors ------------------------------------------------------------------
def test_unreachable_warehouse_is_unavailable_with_the_bound_in_the_message(settings, connector):
    connector.connect_errors.append(dbx.MaxRetryDurationError("Retry request would exceed Retry policy max retry duration"))
    with pytest.raises(WarehouseUnavailableError, match=r"SQL warehouse abc123 .* did not answer within 60 s \(3 attempts\)"):
        user_warehouse(settings, connector).execute("SELECT 1")


def test_rejected_token_asks_the_user_to_sign_in_again(settings, connector):
    connector.connect_errors.append(dbx.RequestError("Error during request to server", context={"http-code": 401}))
    with pytest.raises(WarehouseUnavailableError, match="reload the page"):
        user_warehouse(settings, connector).execute("SELECT 1")


@pytest.mark.parametrize("error", [
    pytest.param(dbx.RequestError("Error during request to server: Provided OAuth token does not have required "
                                  "scopes: sql", context={"http-code": 403}), id="at-connect"),
    pytest.param(dbx.ServerOperationError("PERMISSION_DENIED: Provided OAuth token does not have required scopes: sql"),
                 id="at-statement"),
])
def test_a_user_token_without_the_sql_scope_says_what_the_admin_adds(settings, connector, error):
    """Databricks Apps forwards a user token with the app's user authorization scopes; without 'sql' no query runs."""
    if isinstance(error, dbx.RequestError):
        connector.connect_errors.append(error)
    else:
        connector.errors.append(error)
    with pytest.raises(WarehouseUnavailableError) as raised:
        user_warehouse(settings, connector).execute("SELECT 1")
    text = str(raised.value)
    assert "no 'sql' scope" in text and "user_api_scopes: [sql]" in text and "user authorization" in text
    assert "token-of-ana" not in text


def test_a_service_principal_token_without_the_scope_names_its_secret(settings, connector):
    connector.connect_errors.append(dbx.RequestError("Provided access token does not have required scopes: sql",
                                                     context={"http-code": 403}))
    warehouse = DatabricksWarehouse(settings, ServicePrincipal(), connect=connector,
                                    credentials=ServicePrincipalCredentials(settings.host, config_factory=CountingConfig))
    with pytest.raises(WarehouseUnavailableError, match="the app's service principal has a token without the 'sql' scope"):
        warehouse.execute("SELECT 1")


@pytest.mark.parametrize("error, message", [
    pytest.param(dbx.ServerOperationError("[TABLE_OR_VIEW_NOT_FOUND] The table t cannot be found"),
                 r"refused the query: \[TABLE_OR_VIEW_NOT_FOUND\].*\(query starts: SELECT \* FROM t\)", id="missing"),
    pytest.param(dbx.ServerOperationError("Query has been timed out due to STATEMENT_TIMEOUT"),
                 "ran longer than the statement timeout of 300 s", id="timeout"),
    pytest.param(dbx.ServerOperationError("[INSUFFICIENT_PERMISSIONS] User does not have SELECT on Table t"),
                 "lacks a grant .* docs/deploy-databricks.md", id="grant"),
    pytest.param(dbx.ProgrammingError("bad parameter"), "refused the query: bad parameter", id="programming"),
])
def test_statement_errors_become_query_errors(settings, connector, error, message):
    connector.errors.append(error)
    warehouse = user_warehouse(settings, connector)
    with pytest.raises(QueryError, match=message):
        warehouse.arrow("SELECT * FROM t")
    # A refused statement leaves the session usable: the next query reuses the connection.
    warehouse.execute("SELECT 1")
    assert len(connector.connections) == 1


def test_a_network_failure_mid_query_drops_the_connection(settings, connector):
    connector.errors.append(dbx.RequestError("connection reset"))
    warehouse = user_warehouse(settings, connector)
    with pytest.raises(WarehouseUnavailableError):
        warehouse.execute("SELECT 1")
    assert connector.connections[0].closed
    warehouse.execute("SELECT 1")
    assert len(connector.connections) == 2


def test_an_idle_connection_past_its_time_is_closed_not_reused(settings, connector, monkeypatch):
    import services.warehouse.databricks_engine as engine

    warehouse = user_warehouse(settings, connector)
    warehouse.execute("SELECT 1")
    monkeypatch.setattr(engine, "IDLE_SECONDS", -1.0)
    warehouse.execute("SELECT 2")
    assert connector.connections[0].closed and len(connector.connections) == 2
    warehouse.close()
    assert connector.connections[1].closed


def test_missing_configuration_is_a_config_error_before_connecting(connector):
    from services.errors import ConfigError

    with pytest.raises(ConfigError, match="DATABRICKS_WAREHOUSE_ID"):
        user_warehouse(DatabricksSettings.from_sources({"DATABRICKS_HOST": "h"}), connector).execute("SELECT 1")
    assert connector.connections == []


# -- identity ----------------------------------------------------------------
def test_two_users_never_share_a_connection(settings, connector):
    ana = user_warehouse(settings, connector, "token-of-ana")
    bo = user_warehouse(settings, connector, "token-of-bo")
    ana.execute("SELECT 1")
    bo.execute("SELECT 1")
    ana.execute("SELECT 2")
    assert [c.kwargs["access_token"] for c in connector.connections] == ["token-of-ana", "token-of-bo"]
    assert connector.connections[0].sent == [("SELECT 1", None), ("SELECT 2", None)]
    assert ana.identity_key != bo.identity_key
    assert "token-of" not in ana.identity_key and "token-of" not in repr(ana.identity)


def test_service_principal_identity_is_distinct_and_uses_the_sdk_config_lazily(settings, connector):
    CountingConfig.created = 0
    credentials = ServicePrincipalCredentials(settings.host, config_factory=CountingConfig)
    warehouse = DatabricksWarehouse(settings, ServicePrincipal(), credentials=credentials, connect=connector)
    assert CountingConfig.created == 0  # constructing the engine signs in to nothing
    warehouse.execute("SELECT 1")
    kwargs = connector.connections[0].kwargs
    assert "access_token" not in kwargs
    header_factory = kwargs["credentials_provider"]()
    assert header_factory() == {"Authorization": "Bearer sp-token"}
    header_factory = kwargs["credentials_provider"]()
    assert CountingConfig.created == 1
    assert warehouse.identity_key not in {OnBehalfOfUser("x").key, OnBehalfOfUser("y").key}


def test_identity_mode_decides_whose_token_is_used(settings):
    assert isinstance(identity_for(settings, "user-token"), ServicePrincipal)
    as_user = DatabricksSettings.from_sources({**ENV, "SEGMENT_STUDIO_IDENTITY": "user"})
    assert identity_for(as_user, "user-token") == OnBehalfOfUser("user-token")
    from services.errors import ConfigError

    with pytest.raises(ConfigError, match="x-forwarded-access-token"):
        identity_for(as_user, None)


def test_importing_the_engine_creates_no_sdk_config():
    code = ("import sys, services.warehouse.databricks_engine, services.settings; "
            "print('databricks.sdk' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_a_host_the_sdk_finds_the_workspace(connector):
    """In a job the runtime knows its workspace: the SDK config names the host."""
    settings = DatabricksSettings.from_sources({"DATABRICKS_WAREHOUSE_ID": "abc123"})
    credentials = ServicePrincipalCredentials(None, config_factory=CountingConfig)
    DatabricksWarehouse(settings, ServicePrincipal(), credentials=credentials, connect=connector).execute("SELECT 1")
    assert connector.connections[0].kwargs["server_hostname"] == "job-workspace.cloud.databricks.com"


def test_a_failed_upload_leaves_no_load_folder_behind(built, volumes, monkeypatch):
    def refuse(file_path, contents, *, overwrite=None):
        raise InternalError("the upload was cut off")

    monkeypatch.setattr(volumes, "upload", refuse)
    with pytest.raises(WarehouseError, match="the upload was cut off"):
        built.append(RUNS, pa.table({"run_id": [f"r{i}" for i in range(300)]}))
    loads = volumes.local(f"{VOLUME}/segment-studio/loads")
    assert loads.is_dir() and list(loads.iterdir()) == []


# -- the fake does what Delta and the volumes do ----------------------------------
def test_the_fake_replaces_merges_and_reads_files_as_delta_does(connector, volumes, tmp_path):
    cursor = connector(session_configuration={"TIMEZONE": "UTC"}).cursor()

    def run(sql, params=None):
        return cursor.execute(sql, params).fetchall_arrow().to_pylist()

    run("INSERT INTO t REPLACE WHERE batch_id = 'b1' SELECT 'b1', 10, 50")
    run("INSERT INTO t REPLACE WHERE batch_id = 'b1' SELECT 'b1', 10, 50")  # the same again: still one row
    assert run("SELECT x, n FROM t WHERE batch_id = 'b1'") == [{"x": 10, "n": 50}]
    with pytest.raises(dbx.ServerOperationError, match="DELTA_REPLACE_WHERE_MISMATCH"):
        run("INSERT INTO t REPLACE WHERE batch_id = 'b1' SELECT 'b9', 1, 1")
    with pytest.raises(dbx.ServerOperationError, match="MULTIPLE_SOURCE_ROW"):
        run("MERGE INTO t USING (SELECT 'b2' AS b UNION ALL SELECT 'b2') AS s ON t.batch_id = s.b "
            "WHEN MATCHED THEN UPDATE SET n = 0")
    with pytest.raises(dbx.ServerOperationError, match="UNSUPPORTED_SUBQUERY"):
        run("MERGE INTO t USING (SELECT 'b2' AS b) AS s ON t.batch_id = s.b "
            "WHEN MATCHED AND t.x IN (SELECT 2) THEN DELETE")
    run("INSERT OVERWRITE t SELECT 'b7', 7, 7")
    assert run("SELECT batch_id FROM t") == [{"batch_id": "b7"}]
    # A file in the volume, put there through the Files API, read with read_files and loaded once.
    pq.write_table(pa.table({"batch_id": ["f1", "f2"], "x": [1, 2], "n": [3, 4]}), tmp_path / "f.parquet")
    volumes.create_directory(f"{VOLUME}/drop")
    volumes.upload(f"{VOLUME}/drop/f.parquet", (tmp_path / "f.parquet").open("rb"))
    assert run(f"SELECT COUNT(*) AS c FROM read_files('{VOLUME}/drop', format => 'parquet')") == [{"c": 2}]
    copy = f"COPY INTO t FROM (SELECT batch_id, x, n FROM '{VOLUME}/drop') FILEFORMAT = PARQUET"
    assert run(copy) == [{"num_affected_rows": 2, "num_inserted_rows": 2}]
    assert run(copy) == [{"num_affected_rows": 0, "num_inserted_rows": 0}]  # the file was loaded already
    assert run("SELECT COUNT(*) AS c FROM t") == [{"c": 3}]
    with pytest.raises(dbx.ServerOperationError, match="PATH_NOT_FOUND"):
        run("SELECT * FROM read_files('/Volumes/retail/app/nowhere', format => 'parquet')")
    assert len(connector.refused) == 4
    connector.refused.clear()


def test_the_files_api_is_made_once_as_the_warehouses_own_identity(settings, connector, monkeypatch):
    made = []

    class Client:
        def __init__(self, **kwargs):
            made.append(kwargs)
            self.files = object()

    monkeypatch.setattr(databricks.sdk, "WorkspaceClient", Client)
    user = DatabricksWarehouse(settings, OnBehalfOfUser("token-of-ana"), connect=connector)
    assert user._files_api() is user._files_api()
    credentials = ServicePrincipalCredentials(settings.host, config_factory=CountingConfig)
    DatabricksWarehouse(settings, ServicePrincipal(), credentials=credentials, connect=connector)._files_api()
    assert made[0] == {"host": settings.host, "token": "token-of-ana", "auth_type": "pat"}
    assert isinstance(made[1]["config"], CountingConfig) and len(made) == 2
