"""Data-quality checks on the hand-made pipeline: every check passes, then fails on data made to break it."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from services import naming
from services.build import check_and_catalog, run_pipeline
from services.errors import ReconciliationError
from services.governance.registry import dataset_id
from services.pipeline import reconcile
from services.pipeline.models import create_all
from services.quality import (
    CHECKS,
    failing_critical,
    field_health,
    latest_results,
    rules,
    run_checks,
)
from services.quality.specs import FEATURES
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.services.pipeline import handmade

FACT = naming.fq("txn", "fact_transactions")
DIM_CUSTOMER = naming.fq("txn", "dim_customer")
GOLD = naming.fq("gold", "gold_customer_features")
QUALITY = naming.fq("gov", "fact_data_quality")

# Freshness is the data's age when the checks run: judge the hand-made data the
# morning after its as-of date (2026-06-30), 8 hours after the day ended.
CHECKED = datetime(2026, 7, 1, 8, 0)

# dim_channel is never loaded by the hand-made landing zone, so all 11 fact
# rows point at channels it does not know. And the customer dimension's newest
# version opened on 2026-06-20 (B's first purchase), ten days before the check,
# against its 48-hour SLA: a warning, like the channel lookup.
HANDMADE_FAILURES = {("fact_transactions", "channel_code_references_dim_channel"), ("dim_customer", "freshness")}


def key(result) -> tuple[str, str]:
    return naming.short(result.dataset_id.split(".")[1]), result.check_name


def failing(results) -> set[tuple[str, str]]:
    return {key(r) for r in results if not r.passed}


def result(results, table: str, check_name: str):
    (found,) = [r for r in results if key(r) == (table, check_name)]
    return found


@pytest.fixture(scope="module")
def handmade_build(tmp_path_factory):
    """The hand-made pipeline built once into a file; each test breaks its own copy."""
    path = tmp_path_factory.mktemp("quality") / "handmade.duckdb"
    warehouse = DuckDBWarehouse(path)
    create_all(warehouse)
    handmade.load(warehouse)
    run_id = run_pipeline(warehouse).run_id
    warehouse.close()
    return path, run_id


@pytest.fixture
def built(handmade_build, tmp_path):
    path, run_id = handmade_build
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(path, copy)
    warehouse = DuckDBWarehouse(copy)
    yield warehouse, run_id
    warehouse.close()


def test_handmade_build_passes_every_check_but_the_channel_lookup(built):
    warehouse, run_id = built
    results = run_checks(warehouse, run_id=run_id, checked_ts=CHECKED)
    assert failing(results) == HANDMADE_FAILURES
    channel = result(results, "fact_transactions", "channel_code_references_dim_channel")
    assert (channel.severity, channel.observed_value) == ("warning", 11.0)
    assert failing_critical(warehouse) == []
    # Known sizes of the hand-made build: 11 transactions, 8 customer versions, 6 buyers.
    assert result(results, "fact_transactions", "row_count").observed_value == 11
    assert result(results, "dim_customer", "row_count").observed_value == 8
    assert result(results, "gold_customer_features", "row_count").observed_value == 6
    assert result(results, "gold_customer_features", "row_count_change").details.startswith("first build")


def test_one_row_per_check_lands_with_the_run_id(built):
    warehouse, run_id = built
    results = run_checks(warehouse, run_id=run_id, checked_ts=CHECKED)
    rows = warehouse.df(f"SELECT * FROM {QUALITY} WHERE run_id = $run", {"run": run_id})
    assert len(rows) == len(results) == len(CHECKS)
    assert not rows.duplicated(["dataset_id", "check_name"]).any()
    assert set(rows["source"]) == {"app"}
    assert set(rows["severity"]) == {"critical", "warning"}
    assert rows["dq_id"].is_unique
    assert (rows["check_status"] == "fail").sum() == len(HANDMADE_FAILURES)
    run_checks(warehouse, run_id=run_id, checked_ts=CHECKED)  # a retry replaces the run's rows
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {QUALITY} WHERE run_id = $run", {"run": run_id}) == len(CHECKS)


BREAKAGES = [
    pytest.param(f"INSERT INTO {FACT} SELECT * FROM {FACT} WHERE transaction_id = 'T1'",
                 ("fact_transactions", "transaction_id_unique"), id="duplicate-transaction-id"),
    pytest.param(f"INSERT INTO {DIM_CUSTOMER} SELECT * REPLACE ('A-v9' AS customer_sk) FROM {DIM_CUSTOMER} "
                 "WHERE customer_sk = 'A-v2'",
                 ("dim_customer", "one_current_row_per_customer_id"), id="second-current-customer-row"),
    pytest.param(f"UPDATE {GOLD} SET r_score = 7 WHERE customer_id = 'A'",
                 ("gold_customer_features", "r_score_in_range"), id="r-score-of-7"),
    pytest.param(f"INSERT INTO {FACT} SELECT * REPLACE ('T99' AS transaction_id, 'Z' AS customer_id) FROM {FACT} "
                 "WHERE transaction_id = 'T1'",
                 ("fact_transactions", "customer_id_references_dim_customer"), id="fact-customer-without-dim-row"),
]


@pytest.mark.parametrize("breakage, broken", BREAKAGES)
def test_each_breakage_fails_exactly_its_critical_check(built, breakage, broken):
    warehouse, run_id = built
    warehouse.execute(breakage)
    results = run_checks(warehouse, run_id=run_id, checked_ts=CHECKED)
    assert failing(results) == HANDMADE_FAILURES | {broken}
    check = result(results, *broken)
    assert (check.severity, check.observed_value, check.threshold) == ("critical", 1.0, 0.0)
    assert [key(r) for r in failing_critical(warehouse)] == [broken]


def test_r_score_failure_is_shown_beside_the_fields_it_affects(built):
    warehouse, run_id = built
    warehouse.execute(f"UPDATE {GOLD} SET r_score = 7 WHERE customer_id = 'A'")
    check_and_catalog(warehouse, run_id=run_id, checked_ts=CHECKED)
    health = field_health(warehouse)
    for column in ("r_score", "rfm_cell", "rfm_segment"):
        assert [c.check_name for c in health[column].failing_checks] == ["r_score_in_range"]
        assert health[column].has_critical_failure
    assert health["monetary"].healthy


def test_a_table_older_than_its_sla_is_stale(built):
    warehouse, run_id = built
    results = run_checks(warehouse, run_id=run_id, checked_ts=CHECKED + timedelta(days=30))
    stale = {(t, "freshness") for t in ("fact_transactions", "dim_customer", "gold_customer_features",
                                        "gold_customer_category_spend")}
    assert failing(results) == HANDMADE_FAILURES | stale
    gold = result(results, "gold_customer_features", "freshness")
    assert gold.severity == "critical" and gold.threshold == 24 and gold.observed_value == 30 * 24 + 8
    assert "30.3 days before the check" in gold.details and gold.details.endswith("stale")
    assert result(results, "dim_customer", "freshness").threshold == 48  # default for a dimension


def test_freshness_is_the_age_of_the_newest_data(built):
    warehouse, run_id = built
    results = run_checks(warehouse, run_id=run_id, checked_ts=CHECKED)
    # Gold is dated by its as-of date, a whole day: 2026-06-30 ends at midnight, 8 hours before the check.
    gold = result(results, "gold_customer_features", "freshness")
    assert (gold.passed, gold.observed_value) == (True, 8.0)
    assert gold.details.startswith("newest as_of_date 2026-06-30 (to the end of that day), 8.0 h before the check")
    # The facts by their newest posting: T9 at 23:59.
    assert result(results, "fact_transactions", "freshness").observed_value == pytest.approx(8.02, abs=0.01)
    # The category spend by its newest purchase day, 2026-06-30 (E).
    assert result(results, "gold_customer_category_spend", "freshness").observed_value == 8.0
    # The customers by their newest version: B's, opened at its first purchase on 06-20 18:00.
    assert result(results, "dim_customer", "freshness").observed_value == 10 * 24 + 14


def test_freshness_uses_the_sla_in_force_in_ref_sla(built):
    warehouse, run_id = built
    warehouse.append(naming.fq("gov", "ref_sla"), pd.DataFrame([
        {"sla_id": "sla-old", "dataset_id": dataset_id("gold", "gold_customer_features"), "freshness_hours": 1,
         "completeness_pct": 99.0, "effective_from": date(2020, 1, 1), "effective_to": date(2021, 1, 1)},
        {"sla_id": "sla-now", "dataset_id": dataset_id("gold", "gold_customer_features"), "freshness_hours": 2,
         "completeness_pct": 99.0, "effective_from": date(2021, 1, 1), "effective_to": None},
    ]))
    results = run_checks(warehouse, run_id=run_id, checked_ts=CHECKED)
    assert failing(results) == HANDMADE_FAILURES | {("gold_customer_features", "freshness")}
    gold = result(results, "gold_customer_features", "freshness")
    assert gold.threshold == 2 and "ref_sla" in gold.details


def test_a_rebuild_does_not_make_old_data_fresh(built):
    """The bug this replaced: freshness was hours since the build, so 35-day-old data rebuilt today passed."""
    warehouse, _ = built
    later = CHECKED + timedelta(days=35)
    second = run_pipeline(warehouse).run_id  # nothing new landed: the same data, built again
    results = run_checks(warehouse, run_id=second, checked_ts=later)
    for table in ("fact_transactions", "gold_customer_features", "gold_customer_category_spend"):
        assert not result(results, table, "freshness").passed, table
    assert result(results, "gold_customer_features", "freshness").observed_value == 35 * 24 + 8


def test_a_dropped_fact_row_fails_reconciliation(built):
    warehouse, run_id = built
    warehouse.execute(f"DELETE FROM {FACT} WHERE transaction_id = 'T11'")
    with pytest.raises(ReconciliationError):
        reconcile.reconcile(warehouse, run_id)
    results = run_checks(warehouse, run_id=run_id, checked_ts=CHECKED)
    check = result(results, "fact_transactions", "raw_to_fact_reconciled")
    assert (check.passed, check.severity, check.observed_value) == (False, "critical", 1.0)
    assert check.details.startswith("mismatch")
    assert ("fact_transactions", "raw_to_fact_reconciled") in {key(r) for r in failing_critical(warehouse)}


def test_row_count_drift_against_the_previous_build(built):
    warehouse, run_id = built
    run_checks(warehouse, run_id=run_id, checked_ts=CHECKED)
    warehouse.execute(f"DELETE FROM {GOLD} WHERE customer_id <> 'A'")
    results = run_checks(warehouse, run_id="chk-after-delete", checked_ts=CHECKED)
    assert failing(results) == HANDMADE_FAILURES | {("gold_customer_features", "row_count_change")}
    drift = result(results, "gold_customer_features", "row_count_change")
    assert (drift.severity, drift.threshold) == ("warning", 20.0)
    assert drift.observed_value == pytest.approx(83.33)  # 6 -> 1 rows
    assert run_id in drift.details


def test_an_unchanged_rebuild_has_no_drift(built):
    warehouse, run_id = built
    run_checks(warehouse, run_id=run_id, checked_ts=CHECKED)
    second = run_pipeline(warehouse).run_id
    results = run_checks(warehouse, run_id=second, checked_ts=CHECKED)
    assert failing(results) == HANDMADE_FAILURES
    assert result(results, "gold_customer_features", "row_count_change").observed_value == 0.0


def test_latest_results_keep_the_latest_evaluation_of_each_check(built):
    warehouse, run_id = built
    run_checks(warehouse, run_id=run_id, checked_ts=datetime(2026, 7, 1, 8, 0))
    warehouse.execute(f"UPDATE {GOLD} SET r_score = 7 WHERE customer_id = 'A'")
    run_checks(warehouse, run_id="chk-later", checked_ts=datetime(2026, 7, 1, 20, 0))
    latest = latest_results(warehouse)
    assert len(latest) == len(CHECKS)
    assert {"dataset_id", "check_name", "severity", "status", "details", "checked_ts"} <= set(latest.columns)
    assert set(latest["run_id"]) == {"chk-later"}
    r_score = latest.set_index("check_name").loc["r_score_in_range"]
    assert r_score["status"] == "fail"
    (critical,) = failing_critical(warehouse)
    assert critical.check_name == "r_score_in_range" and "rfm_segment" in critical.affected_columns


def test_field_health_reports_null_rates_and_as_of_date(built):
    warehouse, run_id = built
    warehouse.execute(f"UPDATE {GOLD} SET top_channel = NULL WHERE customer_id IN ('A', 'B', 'C')")
    check_and_catalog(warehouse, run_id=run_id, checked_ts=CHECKED)
    health = field_health(warehouse)
    assert set(health) == set(FEATURES)
    assert health["top_channel"].null_rate == 0.5
    assert health["monetary"].null_rate == 0.0
    assert health["region"].null_rate == pytest.approx(5 / 6)  # only A came through the CDC feed
    assert health["mean_days_between_purchases"].null_rate == 0.5  # B, D and G bought once
    assert {h.as_of_date for h in health.values()} == {date(2026, 6, 30)}
    # The unknown channels of the hand-made data put a warning beside top_channel.
    assert [c.check_name for c in health["top_channel"].failing_checks] == ["channel_code_references_dim_channel"]


def test_feature_groups_match_the_gold_table(built):
    warehouse, _ = built
    schema, table = GOLD.split(".")
    assert sorted(FEATURES) == sorted(name for name, _ in warehouse.columns(schema, table))


@pytest.mark.parametrize("check_name, expected", [
    pytest.param("fx_rate_to_usd_in_range",
                 f"SELECT COUNT(*) AS observed FROM {FACT} WHERE `fx_rate_to_usd` <= 0", id="exclusive-minimum"),
    pytest.param("online_share_in_range",
                 f"SELECT COUNT(*) AS observed FROM {GOLD} WHERE `online_share` < 0 OR `online_share` > 1", id="range"),
    pytest.param("transaction_id_not_null",
                 f"SELECT COUNT(*) AS observed FROM {FACT} WHERE `transaction_id` IS NULL", id="not-null"),
])
def test_rule_sql_in_databricks(check_name, expected):
    (spec,) = [c for c in CHECKS if c.check_name == check_name]
    assert rules.query(spec).sql(dialect="databricks") == expected
