"""The Data Quality overview against the session demo warehouse (read only), checked by independent SQL."""

from __future__ import annotations

import pandas as pd
import pytest

from services import naming
from services.governance.registry import DATASETS
from services.quality import overview

QUALITY = naming.fq("gov", "fact_data_quality")
CERTS = naming.fq("gov", "stage_certifications")
RECON = naming.fq("txn", "audit_recon")
INGEST = naming.fq("txn", "audit_txn_ingest")
ISSUES = naming.fq("gov", "fact_issues")
DATASET = naming.fq("gov", "dim_dataset")


@pytest.mark.parametrize("dataset_id, label", [
    pytest.param(naming.fq("txn", "fact_transactions"), "txn.fact_transactions", id="project-table"),
    pytest.param("crm_prod.core.customers", "crm_prod.core.customers", id="upstream-table"),
])
def test_dataset_label_drops_the_project_prefix(dataset_id, label):
    assert overview.dataset_label(dataset_id) == label


def test_datasets_cover_the_catalog_with_the_latest_certification(demo_warehouse):
    catalog = overview.datasets(demo_warehouse)
    assert len(catalog) == demo_warehouse.scalar(f"select count(*) from {DATASET}")
    # The catalog holds every project dataset of the registry, plus the upstream ones they come from.
    assert {d.dataset_id for d in DATASETS} <= set(catalog["dataset_id"])
    assert catalog["dataset_id"].is_unique
    assert catalog["owner"].notna().all() and catalog["classification"].notna().all()
    assert catalog["sensitivity"].notna().all()
    latest = demo_warehouse.df(
        f"select dataset_id, max(certification_id) as certification_id from {CERTS} group by dataset_id")
    assert not latest.empty
    merged = latest.merge(catalog, on="dataset_id", suffixes=("_expected", ""))
    assert list(merged["certification_id"]) == list(merged["certification_id_expected"])
    status = dict(demo_warehouse.df(f"select certification_id, certification_status from {CERTS}").values)
    assert all(status[c] == s for c, s in zip(merged["certification_id"], merged["certification_status"]))
    uncertified = catalog[~catalog["dataset_id"].isin(latest["dataset_id"])]
    assert uncertified["certification_status"].isna().all()


def test_pass_rate_of_a_dataset_on_a_day_is_the_share_of_passing_checks(demo_warehouse):
    rates = overview.pass_rate(demo_warehouse)
    # A day with some checks passing and some not makes the ratio non-trivial.
    row = rates[(rates["pass_rate"] > 0) & (rates["pass_rate"] < 1)].iloc[0]
    day = row["day"].date().isoformat()
    passed, total = demo_warehouse.df(
        f"select count(*) filter (where check_status = 'pass'), count(*) from {QUALITY} "
        "where dataset_id = $dataset and cast(checked_ts as date) = cast($day as date)",
        {"dataset": row["dataset_id"], "day": day},
    ).iloc[0]
    assert (row["passed"], row["checks"]) == (passed, total)
    assert row["pass_rate"] == pytest.approx(passed / total)
    assert 0 < row["pass_rate"] < 1
    assert rates["checks"].sum() == demo_warehouse.scalar(f"select count(*) from {QUALITY}")


def test_pass_rate_counts_both_sources(demo_warehouse):
    rates = overview.pass_rate(demo_warehouse)
    app_day = demo_warehouse.scalar(f"select max(cast(checked_ts as date)) from {QUALITY} where source = 'app'")
    gov_days = demo_warehouse.scalar(
        f"select count(distinct cast(checked_ts as date)) from {QUALITY} where source = 'governance'")
    assert pd.Timestamp(app_day) in set(rates["day"])
    assert rates["day"].nunique() >= gov_days


def test_pass_rate_window_counts_back_from_the_latest_checked_day(demo_warehouse):
    latest = overview.latest_day(demo_warehouse)
    window = overview.pass_rate(demo_warehouse, last_days=30)
    assert window["day"].max().date() == latest
    assert (window["day"] >= pd.Timestamp(latest) - pd.Timedelta(days=29)).all()
    assert len(window) < len(overview.pass_rate(demo_warehouse))


def test_failing_checks_are_latest_results_that_do_not_pass_critical_first(demo_warehouse):
    failing = overview.failing_checks(demo_warehouse)
    latest = demo_warehouse.df(
        f"select source, dataset_id, check_name, check_status from {QUALITY} "
        "qualify row_number() over (partition by source, dataset_id, check_name "
        "order by checked_ts desc, dq_id desc) = 1")
    expected = latest[latest["check_status"] != "pass"]
    assert not expected.empty
    assert set(map(tuple, failing[["source", "dataset_id", "check_name"]].values)) == \
        set(map(tuple, expected[["source", "dataset_id", "check_name"]].values))
    critical = list(failing["critical"])
    assert critical == sorted(critical, reverse=True)


def test_check_history_returns_every_run_of_the_check(demo_warehouse):
    failing = overview.failing_checks(demo_warehouse)
    row = failing[failing["source"] == "governance"].iloc[0]  # the governance source keeps a history of runs
    history = overview.check_history(demo_warehouse, source=row["source"], dataset_id=row["dataset_id"],
                                     check_name=row["check_name"])
    count = demo_warehouse.scalar(
        f"select count(*) from {QUALITY} where source = $s and dataset_id = $d and check_name = $c",
        {"s": row["source"], "d": row["dataset_id"], "c": row["check_name"]})
    assert len(history) == count > 1
    assert history["checked_ts"].is_monotonic_increasing
    assert history.iloc[-1]["status"] == row["status"]


def test_check_history_takes_names_as_values_not_sql(demo_warehouse):
    history = overview.check_history(demo_warehouse, source="app", dataset_id="x' or '1'='1",
                                     check_name="freshness")
    assert history.empty


def test_open_issues_and_team_load_match_the_issue_table(demo_warehouse):
    issues = overview.open_issues(demo_warehouse)
    expected = demo_warehouse.df(f"select issue_id from {ISSUES} where status in ('open', 'in_progress')")
    assert sorted(issues["issue_id"]) == sorted(expected["issue_id"])
    assert issues["team_name"].notna().all()
    teams = overview.remediation_teams(demo_warehouse)
    assert teams["open_issues"].sum() == len(issues)
    resolved = demo_warehouse.scalar(f"select count(*) from {ISSUES} where status = 'resolved'")
    assert teams["resolved_issues"].sum() == resolved


def test_freshness_is_age_against_sla_per_app_dataset(demo_warehouse):
    fresh = overview.freshness(demo_warehouse)
    expected = demo_warehouse.df(
        f"select dataset_id, observed_value, threshold from {QUALITY} where source = 'app' and check_name = 'freshness'")
    assert sorted(fresh["dataset_id"]) == sorted(expected["dataset_id"])
    merged = fresh.merge(expected, on="dataset_id")
    assert (merged["age_hours"] == merged["observed_value"]).all()
    assert (merged["sla_hours"] == merged["threshold"]).all()
    assert (fresh["headroom_hours"] == fresh["sla_hours"] - fresh["age_hours"]).all()
    assert dict(zip(fresh["dataset"], fresh["sla_hours"]))["txn.dim_customer"] == 48


def test_last_reconciliation_is_the_latest_audit_recon_row(demo_warehouse):
    recon = overview.last_reconciliation(demo_warehouse)
    row = demo_warehouse.df(f"select * from {RECON} order by checked_ts desc, recon_id desc limit 1").iloc[0]
    assert recon.recon_id == row["recon_id"]
    assert (recon.source_rows, recon.target_rows) == (row["source_rows"], row["target_rows"])
    assert (recon.source_checksum, recon.target_checksum) == (row["source_checksum"], row["target_checksum"])
    assert recon.status == row["status"] == "matched"
    table = recon.side_by_side().set_index("measure")
    assert table.loc["rows", "source"] == f"{row['source_rows']:,}"
    assert table.loc["checksum", "target"] == row["target_checksum"]
    assert table["match"].all()


def test_ingest_batches_show_each_batch_once_with_counts(demo_warehouse):
    batches = overview.ingest_batches(demo_warehouse)
    assert batches["batch_id"].is_unique
    assert len(batches) == demo_warehouse.scalar(f"select count(distinct batch_id) from {INGEST}")
    first = batches.iloc[0]
    expected = demo_warehouse.df(
        f"select source_rows, target_rows from {INGEST} where batch_id = $b order by finished_ts desc limit 1",
        {"b": first["batch_id"]}).iloc[0]
    assert (first["source_rows"], first["target_rows"]) == (expected["source_rows"], expected["target_rows"])
    assert batches["matched"].all()


def test_summary_counts_what_the_sections_show(demo_warehouse):
    catalog = overview.datasets(demo_warehouse)
    failing = overview.failing_checks(demo_warehouse)
    issues = overview.open_issues(demo_warehouse)
    summary = overview.summarize(catalog, failing, issues, overview.last_reconciliation(demo_warehouse))
    certified = demo_warehouse.scalar(
        f"select count(*) from {CERTS} c where certification_status = 'certified' and certification_id = "
        f"(select max(certification_id) from {CERTS} d where d.dataset_id = c.dataset_id)")
    assert summary.certified == certified
    assert summary.datasets == len(catalog)
    assert summary.failing_critical == int((failing["severity"] == "critical").sum())
    assert summary.open_issues == len(issues)
    assert summary.reconciled is True
