"""The Databricks SQL engine against a recording fake of the connector."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pyarrow as pa
import pytest
from databricks.sql import exc as dbx
from databricks.sql.backend.thrift_backend import _retry_policy
from sqlglot import exp

from services import naming, sqlfiles
from services.errors import QueryError, WarehouseUnavailableError
from services.warehouse import replace_rows
from services.warehouse.databricks_engine import DatabricksWarehouse
from services.warehouse.databricks_identity import (
    OnBehalfOfUser,
    ServicePrincipal,
    ServicePrincipalCredentials,
    identity_for,
)
from services.warehouse.databricks_settings import DatabricksSettings
from tests.services.warehouse.fake_connector import FakeConnector

ENV = {"DATABRICKS_HOST": "https://adb-42.7.azuredatabricks.net/", "DATABRICKS_WAREHOUSE_ID": "abc123",
       "SEGMENT_STUDIO_CATALOG": "retail", "SEGMENT_STUDIO_SCHEMA_TXN": "pos_prod.transactions"}
TXN = naming.schema("txn")
FACT = naming.fq("txn", "fact_transactions")
PLACED_FACT = "pos_prod.transactions." + naming.table("fact_transactions")


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
def connector():
    return FakeConnector()


def user_warehouse(settings, connector, token="token-of-ana"):
    return DatabricksWarehouse(settings, OnBehalfOfUser(token), connect=connector)


# -- parameters --------------------------------------------------------------
def test_tree_with_named_parameter_is_sent_as_placed_text_and_native_parameters(settings, connector):
    warehouse = user_warehouse(settings, connector)
    query = (exp.select(exp.func("COUNT", exp.Star())).from_(FACT)
             .where(exp.column("posted_date").eq(exp.Placeholder(this="as_of_date"))))
    warehouse.scalar(query, {"as_of_date": date(2024, 5, 1)})
    assert connector.sent == [(f"SELECT COUNT(*) FROM {PLACED_FACT} WHERE posted_date = :as_of_date",
                               {"as_of_date": date(2024, 5, 1)})]


def test_sql_text_from_a_model_file_is_placed_and_keeps_its_markers(settings, connector):
    warehouse = user_warehouse(settings, connector)
    text = sqlfiles.render(sqlfiles.query("models/gold/gold_customer_features.sql"), "databricks")
    warehouse.execute(text, {"as_of_date": None})
    sent, params = connector.sent[0]
    assert ":as_of_date" in sent and params == {"as_of_date": None}
    assert f"{TXN}." not in sent
    assert f"FROM {PLACED_FACT}" in sent


def test_replacing_a_tables_rows_is_one_insert_overwrite_statement(settings, connector):
    warehouse = user_warehouse(settings, connector)
    rows = exp.values([exp.Tuple(expressions=[exp.convert("monetary"), exp.convert(1)])])
    replace_rows(warehouse, naming.fq("gold", "gold_feature_catalog"), rows, ["field_name", "position"])
    # One statement, so readers of the Delta table see the old rows or the new, never none.
    assert connector.sent == [(f"INSERT OVERWRITE TABLE retail.{naming.fq('gold', 'gold_feature_catalog')} "
                               "(`field_name`, `position`) VALUES ('monetary', 1)", None)]


def test_tables_of_several_schemas_is_one_query_per_catalog_they_are_placed_in(settings, connector):
    warehouse = user_warehouse(settings, connector)
    connector.results.append(pa.table({"table_schema": ["transactions", "transactions"],
                                       "table_name": [naming.table("fact_transactions"), naming.table("dim_customer")]}))
    connector.results.append(pa.table({"table_schema": [naming.schema("gold")],
                                       "table_name": [naming.table("gold_customer_features")]}))
    found = warehouse.tables_of([TXN, naming.schema("gold"), naming.schema("app")])
    assert found == {TXN: [naming.table("fact_transactions"), naming.table("dim_customer")],
                     naming.schema("gold"): [naming.table("gold_customer_features")], naming.schema("app"): []}
    # txn is placed in the catalog pos_prod; gold and app in retail: two catalogs, two queries.
    assert [(sql.split(" FROM ")[1].split(" ")[0], params) for sql, params in connector.sent] == [
        ("pos_prod.information_schema.tables", {"s0": "transactions"}),
        ("retail.information_schema.tables", {"s0": naming.schema("gold"), "s1": naming.schema("app")})]


def test_no_parameters_sends_none(settings, connector):
    user_warehouse(settings, connector).execute("SELECT 1")
    assert connector.sent == [("SELECT 1", None)]


@pytest.mark.parametrize("values, sql, params", [
    pytest.param(["b1", "b2", "b3"], "SELECT * FROM t WHERE batch_id IN (:ids_0, :ids_1, :ids_2) AND n > :n",
                 {"ids_0": "b1", "ids_1": "b2", "ids_2": "b3", "n": 3}, id="list"),
    pytest.param(("b1",), "SELECT * FROM t WHERE batch_id IN (:ids_0) AND n > :n", {"ids_0": "b1", "n": 3},
                 id="tuple-of-one"),
    pytest.param({"b2", "b1"}, "SELECT * FROM t WHERE batch_id IN (:ids_0, :ids_1) AND n > :n",
                 {"ids_0": "b1", "ids_1": "b2", "n": 3}, id="set-sorted"),
    pytest.param([], "SELECT * FROM t WHERE FALSE AND n > :n", {"n": 3}, id="empty-is-false"),
])
def test_lists_in_in_become_one_marker_each(settings, connector, values, sql, params):
    query = exp.select("*").from_("t").where(exp.and_(
        exp.column("batch_id").isin(exp.Placeholder(this="ids")), exp.column("n") > exp.Placeholder(this="n")))
    user_warehouse(settings, connector).execute(query, {"ids": values, "n": 3})
    assert connector.sent == [(sql, params)]


def test_lists_in_sql_text_are_expanded_too_and_not_in_keeps_its_not(settings, connector):
    user_warehouse(settings, connector).execute("SELECT * FROM t WHERE NOT x IN (:ids)", {"ids": [1, 2]})
    assert connector.sent == [("SELECT * FROM t WHERE NOT x IN (:ids_0, :ids_1)", {"ids_0": 1, "ids_1": 2})]


def test_a_list_outside_in_stays_one_array_parameter(settings, connector):
    user_warehouse(settings, connector).execute("SELECT ARRAY_CONTAINS(:ids, x) FROM t", {"ids": [1, 2]})
    assert connector.sent == [("SELECT ARRAY_CONTAINS(:ids, x) FROM t", {"ids": [1, 2]})]


def test_arrow_results_come_back_as_fetched(settings, connector):
    connector.results.append(pa.table({"customer_id": ["c1", "c2"], "n": [3, 4]}))
    warehouse = user_warehouse(settings, connector)
    assert warehouse.arrow("SELECT customer_id, n FROM t").to_pylist() == [
        {"customer_id": "c1", "n": 3}, {"customer_id": "c2", "n": 4}]
    connector.results.append(pa.table({"n": [7]}))
    assert warehouse.df("SELECT n FROM t")["n"].tolist() == [7]
    connector.results.append(pa.table({"n": pa.array([], pa.int64())}))
    assert warehouse.scalar("SELECT n FROM t") is None


def test_append_binds_every_value_in_batches(settings, connector, monkeypatch):
    import services.warehouse.databricks_engine as engine

    monkeypatch.setattr(engine, "APPEND_PARAMETERS", 4)
    rows = pa.table({"run_id": ["r1", "r2", "r3"], "rows": [1, None, 3]})
    assert user_warehouse(settings, connector).append(naming.fq("app", "app_build_runs"), rows) == 3
    target = "retail." + naming.fq("app", "app_build_runs")
    assert connector.sent == [
        (f"INSERT INTO {target} (`run_id`, `rows`) VALUES (:v0_0, :v0_1), (:v1_0, :v1_1)",
         {"v0_0": "r1", "v0_1": 1, "v1_0": "r2", "v1_1": None}),
        (f"INSERT INTO {target} (`run_id`, `rows`) VALUES (:v0_0, :v0_1)", {"v0_0": "r3", "v0_1": 3}),
    ]


def test_metadata_reads_the_placed_catalogs_information_schema(settings, connector):
    connector.results.append(pa.table({"table_name": ["a", "b"]}))
    assert user_warehouse(settings, connector).tables(TXN) == ["a", "b"]
    assert connector.sent == [("SELECT table_name FROM pos_prod.information_schema.tables "
                               "WHERE table_schema = :schema ORDER BY table_name", {"schema": "transactions"})]


def test_schemas_answers_with_seed_names(settings, connector):
    connector.results.extend([pa.table({"schema_name": ["transactions", "other"]}),
                              pa.table({"schema_name": [naming.schema("gold"), "default"]})])
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
    assert kwargs["session_configuration"] == {"STATEMENT_TIMEOUT": "300"}
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
    assert kwargs["session_configuration"] == {"STATEMENT_TIMEOUT": "45"}
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
