"""The platform demo data (ingest, ops, gov, cost) against the DDL, on a real DuckDB."""

from __future__ import annotations

import datetime as dt
import time

import duckdb
import numpy as np
import pandas as pd
import pytest
from sqlglot import exp

from services import sqlfiles
from services.demo.platform import generate_platform_sources
from services.governance.registry import DATASET_IDS, SEED_DATASETS, registration_rows
from services.naming import fq, short

SOURCES = ("ingest", "ops", "gov", "cost")
START, END = dt.date(2024, 11, 1), dt.date(2026, 10, 31)
SEED = 20241101


def _generate(seed: int = SEED, *, start=START, end=END, n_customers: int = 2000) -> dict[str, pd.DataFrame]:
    return generate_platform_sources(np.random.default_rng(seed), start=start, end=end, n_customers=n_customers)


def _creates(source: str) -> list[exp.Create]:
    return [t for t in sqlfiles.parse(f"ddl/{source}.sql") if isinstance(t, exp.Create) and t.kind == "TABLE"]


def _name(table: exp.Table) -> str:
    return f"{table.db}.{table.name}"


def _constraints(kind: type) -> list[tuple[str, exp.Expression]]:
    found = []
    for source in SOURCES:
        for create in _creates(source):
            for c in create.this.expressions:
                if isinstance(c, exp.Constraint) and isinstance(c.expressions[0], kind):
                    found.append((_name(create.this.this), c.expressions[0]))
    return found


def _short(name: str) -> str:
    """``source:table`` without the project prefix, for readable test ids."""
    schema_name, table_name = name.split(".")
    return f"{short(schema_name)}:{short(table_name)}"


PRIMARY_KEYS = [(t, tuple(i.name for i in pk.expressions)) for t, pk in _constraints(exp.PrimaryKey)]
FOREIGN_KEYS = [
    (t, fk.expressions[0].name, _name(fk.args["reference"].this.this), fk.args["reference"].this.expressions[0].name)
    for t, fk in _constraints(exp.ForeignKey)
]


def _load(frames: dict[str, pd.DataFrame]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    for source in SOURCES:
        for statement in sqlfiles.statements(f"ddl/{source}.sql", "duckdb"):
            con.execute(statement)
    # The pipeline registers the project's datasets; the generator's gov rows refer to them.
    registered = registration_rows(registered_ts=dt.datetime(2026, 10, 31, 23))
    for name, frame in [*registered.items(), *frames.items()]:
        con.register("df", frame)
        con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM df")
        con.unregister("df")
    return con


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return _generate()


@pytest.fixture(scope="module")
def con(frames) -> duckdb.DuckDBPyConnection:
    connection = _load(frames)
    yield connection
    connection.close()


def _frame(frames, source: str, name: str) -> pd.DataFrame:
    return frames[fq(source, name)]


@pytest.mark.parametrize("source", SOURCES)
def test_ddl_creates_the_seed_tables_of_each_source(source):
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    for statement in sqlfiles.statements(f"ddl/{source}.sql", "duckdb"):
        con.execute(statement)
    tables = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [f"customer_segmentation_for_retail_personalization_{source}"]
    ).fetchall()}
    expected = {d.table_name for d in SEED_DATASETS if d.source == source}
    assert len(expected) == 20
    assert tables == expected
    columns = con.execute(
        "select table_name, count(*) from information_schema.columns where table_schema = ? group by 1",
        [f"customer_segmentation_for_retail_personalization_{source}"],
    ).fetchall()
    assert all(n >= 3 for _, n in columns)


@pytest.mark.parametrize("source", SOURCES)
def test_ddl_renders_for_databricks_with_keys(source):
    rendered = sqlfiles.statements(f"ddl/{source}.sql", "databricks")
    assert rendered[0].endswith(f"CREATE SCHEMA IF NOT EXISTS customer_segmentation_for_retail_personalization_{source}")
    tables = [r for r in rendered if "CREATE TABLE" in r]
    assert len(tables) == 20
    assert all("PRIMARY KEY" in r for r in tables)
    assert all(word not in r.upper() for r in tables for word in ("COMMENT ", "VARCHAR", "FLOAT"))
    assert all(c.comments and c.comments[-1].strip().startswith("grain: one row per") for c in _creates(source))


@pytest.mark.parametrize(
    "child, column, parent, parent_column",
    [
        pytest.param(fq("ops", "fact_logs"), "service_id", fq("ops", "dim_service"), "service_id", id="logs-service"),
        pytest.param(fq("ops", "fact_logs"), "instance_id", fq("ops", "dim_instance"), "instance_id", id="logs-instance"),
        pytest.param(fq("cost", "fact_cost_usage"), "resource_id", fq("cost", "dim_resource_type"), "resource_id", id="usage-resource"),
        pytest.param(fq("cost", "fact_cost_usage"), "cost_center_id", fq("cost", "dim_cost_center"), "cost_center_id", id="usage-cc"),
        pytest.param(fq("gov", "fact_data_quality"), "dataset_id", fq("gov", "dim_dataset"), "dataset_id", id="dq-dataset"),
        pytest.param(fq("ingest", "fact_raw_events"), "source_system_id", fq("ingest", "dim_source_system"), "source_system_id", id="events-system"),
        pytest.param(fq("ingest", "fact_raw_events"), "record_key", fq("ingest", "raw_records"), "record_key", id="events-record"),
    ],
)
def test_seed_er_foreign_keys_are_declared(child, column, parent, parent_column):
    assert (child, column, parent, parent_column) in FOREIGN_KEYS


def test_every_table_has_a_frame(frames):
    expected = {fq(d.source, d.name) for d in SEED_DATASETS if d.source in SOURCES}
    assert len(expected) == 80
    assert set(frames) == expected


def test_frames_use_the_ddl_columns(con, frames):
    for name, frame in frames.items():
        schema_name, table_name = name.split(".")
        info = con.execute(
            "select column_name, is_nullable from information_schema.columns where table_schema = ? and table_name = ?",
            [schema_name, table_name],
        ).fetchall()
        nullable = {c: n == "YES" for c, n in info}
        assert set(frame.columns) <= set(nullable), (name, set(frame.columns) - set(nullable))
        missing = set(nullable) - set(frame.columns)
        assert all(nullable[c] for c in missing), (name, missing)


def test_every_frame_loaded(con, frames):
    registered = registration_rows(registered_ts=dt.datetime(2026, 10, 31, 23))
    for name, frame in frames.items():
        (count,) = con.execute(f"select count(*) from {name}").fetchone()
        assert count == len(frame) + len(registered.get(name, ())), name
    empty = [n for n, f in frames.items() if f.empty]
    assert empty == [fq("ingest", "stage_cdc")]


@pytest.mark.parametrize("table, columns", PRIMARY_KEYS, ids=[_short(t) for t, _ in PRIMARY_KEYS])
def test_primary_keys_unique_and_not_null(con, table, columns):
    cols = ", ".join(columns)
    nulls = " or ".join(f"{c} is null" for c in columns)
    total, distinct, null_rows = con.execute(
        f"select count(*), count(distinct ({cols})), count(*) filter (where {nulls}) from {table}"
    ).fetchone()
    assert (distinct, null_rows) == (total, 0)


@pytest.mark.parametrize("child, column, parent, parent_column", FOREIGN_KEYS, ids=[f"{_short(c)}.{col}" for c, col, _, _ in FOREIGN_KEYS])
def test_foreign_keys_resolve(con, child, column, parent, parent_column):
    (orphans,) = con.execute(
        f"select count(*) from {child} c where c.{column} is not null "
        f"and not exists (select 1 from {parent} p where p.{parent_column} = c.{column})"
    ).fetchone()
    assert orphans == 0


def test_monthly_costs_equal_the_sum_of_usage(con):
    usage, monthly = fq("cost", "fact_cost_usage"), fq("cost", "fact_monthly_costs")
    (differences,) = con.execute(f"""
        with summed as (
            select date_trunc('month', usage_date)::date as month_start, cost_center_id, resource_id, region_id,
                   sum(cost_amount_usd) as cost_amount_usd, count(*) as record_count
            from {usage} group by all
        )
        select count(*) from summed s full outer join {monthly} m using (month_start, cost_center_id, resource_id, region_id)
        where s.cost_amount_usd is distinct from m.cost_amount_usd or s.record_count is distinct from m.record_count
    """).fetchone()
    assert differences == 0
    (months,) = con.execute(f"select count(distinct month_start) from {monthly}").fetchone()
    assert months == 24


def test_usd_amounts_follow_the_rate(frames):
    usage = _frame(frames, "cost", "fact_cost_usage")
    usd = usage[usage["currency"] == "USD"]
    assert (usd["cost_amount"] == usd["cost_amount_usd"]).all()
    eur = usage[usage["currency"] == "EUR"]
    assert len(eur) > 0 and (eur["billing_account_id"] == "ba-aws-eu").all()
    assert ((eur["cost_amount_usd"] / eur["cost_amount"]).between(0.9, 1.3)).all()


def test_forecasts_differ_plausibly_from_actuals(frames):
    forecasts = _frame(frames, "cost", "stage_forecasts")
    actual = _frame(frames, "cost", "fact_monthly_costs").groupby(["month_start", "cost_center_id", "resource_id"], as_index=False)["cost_amount_usd"].sum()
    both = forecasts.merge(actual, on=["month_start", "cost_center_id", "resource_id"])
    error = (both["forecast_amount_usd"] - both["cost_amount_usd"]).abs() / both["cost_amount_usd"]
    assert 0.02 < error.median() < 0.3
    assert (both["forecast_amount_usd"] != both["cost_amount_usd"]).mean() > 0.95
    assert (forecasts["month_start"] > END).sum() > 0
    assert (forecasts["forecast_made_ts"] < pd.to_datetime(forecasts["month_start"])).all()


def test_the_app_own_resources_are_tagged(frames):
    usage = _frame(frames, "cost", "fact_cost_usage")
    resources = _frame(frames, "cost", "dim_resource_type").set_index("resource_id")["resource_type"]
    own = usage.loc[usage["tag_app"] == "segment_studio", "resource_id"].map(resources)
    assert set(own) == {"sql_warehouse", "databricks_app"}
    assert usage["tag_app"].nunique() > 3
    allowed = {"sql_warehouse", "jobs_compute", "all_purpose_compute", "storage", "serverless", "model_serving", "databricks_app"}
    assert set(resources) <= allowed


def test_required_reference_values(frames):
    systems = set(_frame(frames, "ingest", "dim_source_system")["source_system_id"])
    assert {"pos", "web", "app", "crm", "file_import"} <= systems
    assert set(_frame(frames, "gov", "dim_classification")["classification_id"]) == {"public", "internal", "confidential", "restricted"}
    certs = _frame(frames, "gov", "stage_certifications")["certification_status"]
    assert set(certs) <= {"certified", "pending", "expired", "revoked"}
    assert set(_frame(frames, "cost", "dim_currency")["currency_code"]) >= {"USD", "EUR"}


def test_quality_history_has_some_failures(frames):
    dq = _frame(frames, "gov", "fact_data_quality")
    assert set(dq["check_status"]) == {"pass", "fail", "warn"}
    assert set(dq["severity"]) == {"critical", "warning"}
    assert (dq["source"] == "governance").all()
    fail_share = (dq["check_status"] != "pass").mean()
    assert 0.001 < fail_share < 0.1
    assert dq["checked_ts"].max().date() == END
    issues = _frame(frames, "gov", "fact_issues")
    assert set(issues["dq_id"].dropna()) <= set(dq.loc[dq["check_status"] != "pass", "dq_id"])


def test_gov_rows_point_at_registered_project_datasets(frames):
    project = set(DATASET_IDS.values())
    generated = set(_frame(frames, "gov", "dim_dataset")["dataset_id"])
    assert not project & generated
    assert set(_frame(frames, "gov", "dim_tag")["dataset_id"]) <= generated
    checked = set(_frame(frames, "gov", "fact_data_quality")["dataset_id"])
    assert checked <= project
    assert DATASET_IDS[("gold", "gold_customer_features")] in checked


def test_every_checked_dataset_has_one_sla(frames):
    slas = _frame(frames, "gov", "ref_sla")
    needed = {DATASET_IDS[(d.source, d.name)] for d in SEED_DATASETS if d.source == "txn" and d.name.startswith(("fact_", "dim_"))}
    needed |= {DATASET_IDS[("gold", "gold_customer_features")], DATASET_IDS[("gold", "gold_customer_category_spend")]}
    assert len(needed) == 12
    assert needed <= set(slas["dataset_id"])
    assert not slas["dataset_id"].duplicated().any()


def test_ingest_audit_reconciles_event_counts(frames):
    audit = _frame(frames, "ingest", "audit_ingest")
    counts = _frame(frames, "ingest", "fact_event_counts")
    assert set(audit["status"]) == {"matched", "mismatch", "failed"}
    ok = audit[audit["status"] == "matched"]
    assert (ok["source_rows"] == ok["target_rows"]).all() and (ok["source_checksum"] == ok["target_checksum"]).all()
    bad = audit[audit["status"] != "matched"]
    assert (bad["source_checksum"] != bad["target_checksum"]).all() and (bad["target_rows"] < bad["source_rows"]).all()
    keyed = counts.set_index(["source_system_id", counts["event_date"].astype(str)])["event_count"]
    system = audit["batch_id"].str.split("-").str[1]
    day = pd.to_datetime(audit["batch_id"].str.split("-").str[2]).dt.date.astype(str)
    assert list(keyed.loc[list(zip(system, day))]) == list(audit["source_rows"])


def test_parsing_errors_point_at_landed_lines(frames):
    raw = _frame(frames, "ingest", "stg_raw").set_index(["batch_id", "source_file", "line_number"])["raw_line"]
    errors = _frame(frames, "ingest", "ref_parsing_errors")
    assert len(errors) > 0
    landed = raw.loc[list(zip(errors["batch_id"], errors["source_file"], errors["line_number"]))]
    assert list(landed) == list(errors["raw_line"])


def test_same_seed_same_frames_and_other_seed_differs(frames):
    again = _generate()
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(frame, again[name], obj=name)
    other = _generate(SEED + 1)
    assert not other[fq("ops", "fact_logs")].equals(frames[fq("ops", "fact_logs")])


def test_row_counts_barely_scale_with_customers(frames):
    big = _generate(n_customers=200_000)
    small_total = sum(len(f) for f in frames.values())
    big_total = sum(len(f) for f in big.values())
    assert abs(big_total - small_total) / small_total < 0.1
    assert max(len(f) for f in big.values()) < 50_000


def test_generation_is_fast():
    began = time.perf_counter()
    _generate(SEED + 2)
    assert time.perf_counter() - began < 3.0


def test_a_short_period_still_loads():
    frames = _generate(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31), n_customers=300)
    con = _load(frames)
    (months,) = con.execute(f"select count(distinct month_start) from {fq('cost', 'fact_monthly_costs')}").fetchone()
    assert months == 1
    assert len(frames[fq("ops", "fact_logs")]) > 100
