"""Pre-flight figures, the permission rules and the data-quality gate."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlglot import exp

from services import naming
from services.errors import ExportError, PermissionDeniedError
from services.exports import jobs, preflight
from services.exports.audience import CUSTOMER_TABLE
from services.exports.base import ExportRequest
from services.governance.registry import dataset_id
from services.pii import pii_policy
from services.quality.results import failing_critical
from services.warehouse.roundtrips import CountingWarehouse

from .conftest import VIP, audit_rows, members

PRICE = 5.0


def check(warehouse, role="marketer", **kwargs):
    request = ExportRequest(**{"segment_id": VIP, "version": 1, "destination": "meta", **kwargs})
    return preflight.preflight(warehouse, request, role=role, price_per_warehouse_hour=PRICE)


def test_counts_split_groups_and_cost(warehouse):
    expected = members(warehouse, VIP)
    result = check(warehouse)
    control = sum(g == "control" for g in expected.values())
    assert result.members == len(expected)
    assert result.split_groups == {g: sum(v == g for v in expected.values()) for g in set(expected.values())}
    assert result.control_excluded == control and result.eligible == len(expected) - control
    assert result.usable == result.eligible  # the demo's contacts are all valid
    assert result.predicted_match_rate == pytest.approx(result.usable / result.members * 0.6)
    assert result.estimate.cost_usd == pytest.approx(result.estimate.duration_s / 3600 * PRICE)
    assert not result.gate.blocked
    assert set(result.pii_columns) >= {"email", "phone", "first_name", "last_name"}
    assert not result.may_export_clear
    assert check(warehouse, include_control=True).control_excluded == 0


def _break_contacts(warehouse, ids: list[str], **values) -> None:
    warehouse.execute(exp.update(CUSTOMER_TABLE, {k: exp.convert(v) for k, v in values.items()},
                                 where=exp.and_(exp.column("customer_id").isin(*[exp.convert(i) for i in ids]),
                                                exp.column("is_current").eq(exp.true()))))


def test_invalid_identifiers_are_counted_with_reasons_and_excluded(fresh_warehouse, tmp_path):
    wh = fresh_warehouse
    eligible = sorted(c for c, g in members(wh, VIP).items() if g != "control")
    bad_email, no_country, neither = eligible[:3], eligible[3:5], eligible[5:7]
    _break_contacts(wh, bad_email, email="jane.at.example.com")
    _break_contacts(wh, no_country, phone="555 0100 123", country=None)
    _break_contacts(wh, neither, email="", phone="")

    result = check(wh)
    assert result.problems["email"] == {"bad email": 3, "no email": 2}
    assert result.problems["phone"] == {"phone without country code": 2, "no phone": 2}
    assert result.usable == len(eligible) - 2
    frame = preflight.problems_frame(result)
    assert frame["members"].sum() == 9

    queued = jobs.create_job(wh, ExportRequest(segment_id=VIP, version=1, destination="meta"), user="m", role="marketer")
    job = jobs.run_job(wh, queued, output_dir=tmp_path)
    assert job.excluded["no valid email or phone"] == 2
    with open(job.output_path, newline="") as handle:
        ids = {r["EXTERN_ID"] for r in csv.DictReader(handle)}
    assert ids == set(eligible) - set(neither)


@pytest.mark.parametrize("role, identifiers, allowed", [
    ("viewer", "none", False),
    ("analyst", "none", False),
    ("marketer", "hashed", True),
    ("marketer", "clear", False),
    ("manager", "clear", False),
    ("admin", "clear", True),
])
def test_who_may_export_what(warehouse, role, identifiers, allowed):
    request = ExportRequest(segment_id=VIP, version=1, destination="csv", identifiers=identifiers)
    if allowed:
        assert jobs.create_job(warehouse, request, user="u", role=role)
    else:
        with pytest.raises(PermissionDeniedError):
            jobs.create_job(warehouse, request, user="u", role=role)


def test_clear_identifiers_for_admin_hashed_otherwise(warehouse, tmp_path):
    admin = jobs.run_job(warehouse, jobs.create_job(warehouse, ExportRequest(
        segment_id=VIP, version=1, destination="csv", identifiers="clear"), user="a", role="admin"), output_dir=tmp_path)
    marketer = jobs.run_job(warehouse, jobs.create_job(warehouse, ExportRequest(
        segment_id=VIP, version=1, destination="csv", identifiers="hashed"), user="m", role="marketer"), output_dir=tmp_path)
    clear = pd.read_csv(admin.output_path)
    hashed = pd.read_csv(marketer.output_path)
    assert clear["email"].str.contains("@").all()
    assert {"email", "phone", "first_name"}.isdisjoint(hashed.columns)
    assert hashed["email_sha256"].str.fullmatch(r"[0-9a-f]{64}").all()


def _fail_critical_check(warehouse) -> None:
    warehouse.append(naming.fq("gov", "fact_data_quality"), pd.DataFrame([{
        "dq_id": "dq-test-fail", "dataset_id": dataset_id("gold", "gold_customer_features"),
        "check_name": "customer_id_unique", "check_status": "fail",
        "checked_ts": datetime.utcnow() + timedelta(days=1), "run_id": "test", "check_type": "uniqueness",
        "severity": "critical", "observed_value": 3.0, "threshold": 0.0, "details": "3 duplicate ids", "source": "app",
    }]))


def test_a_failing_critical_check_blocks_unless_a_manager_overrides_and_the_override_is_audited(fresh_warehouse):
    wh = fresh_warehouse
    _fail_critical_check(wh)
    request = ExportRequest(segment_id=VIP, version=1, destination="csv")
    result = check(wh, destination="csv")
    assert result.gate.blocked and "customer_id_unique" in result.gate.describe()
    assert not result.allowed and check(wh, role="manager", destination="csv").allowed

    with pytest.raises(ExportError, match="blocked by failing critical data-quality checks"):
        jobs.create_job(wh, request, user="m", role="marketer")
    with pytest.raises(PermissionDeniedError):
        jobs.create_job(wh, request, user="m", role="marketer", override_dq_gate=True)

    job_id = jobs.create_job(wh, request, user="boss@example.com", role="manager", override_dq_gate=True).job_id
    assert jobs.get(wh, job_id).dq_override
    audit = audit_rows(wh, "export.dq_override", job_id)
    assert len(audit) == 1 and audit[0]["actor"] == "boss@example.com" and "customer_id_unique" in audit[0]["details"]


def test_the_dq_gate_covers_the_tables_behavioural_conditions_read(warehouse):
    _, lapsed = preflight.compile_saved(warehouse, "sample-lapsed-reactivation")  # a date window, no category
    _, cross_sell = preflight.compile_saved(warehouse, "sample-apparel-to-footwear-cross-sell")  # categories
    _, traits = preflight.compile_saved(warehouse, "sample-discount-sensitive-shoppers")  # traits only
    activity, products = dataset_id("gold", "gold_customer_activity"), dataset_id("txn", "dim_product")
    assert activity in preflight.input_datasets(lapsed) and products not in preflight.input_datasets(lapsed)
    assert {activity, products} <= set(preflight.input_datasets(cross_sell))
    assert activity not in preflight.input_datasets(traits)
    assert dataset_id("txn", "fact_transactions") in preflight.input_datasets(traits)


def test_the_duration_estimate_comes_from_past_jobs_rates(fresh_warehouse, tmp_path):
    wh = fresh_warehouse
    typical = check(wh, destination="csv")
    assert typical.estimate_basis == "a typical rate for a CSV file (no past export there to measure yet)"
    assert typical.estimate.duration_s == pytest.approx(preflight.JOB_OVERHEAD_S + typical.usable * 1.5e-6)
    # Two past CSV jobs: 3 s for 1,000 rows and 5 s for 3,000 rows, each 1 s of it overhead: 6 s / 4,000 rows.
    for job_id, rows, seconds in (("exp-a", 1_000, 3.0), ("exp-b", 3_000, 5.0)):
        start = datetime(2026, 11, 1, 9, 0)
        wh.append(jobs.JOBS, pd.DataFrame([{
            "job_id": job_id, "segment_id": VIP, "segment_version": 1, "destination": "csv", "mode": "full",
            "request_json": "{}", "status": "succeeded", "progress": 1.0, "dq_override": False,
            "created_by": "m", "created_ts": start, "started_ts": start,
            "finished_ts": start + timedelta(seconds=seconds), "rows_exported": rows}]))
    measured = check(wh, destination="csv")
    assert measured.estimate_basis == "the rate measured on the last 2 CSV file exports"
    assert measured.estimate.duration_s == pytest.approx(preflight.JOB_OVERHEAD_S + measured.usable * 6 / 4_000)
    # Another destination keeps its own rate.
    assert check(wh, destination="parquet").estimate_basis.startswith("a typical rate")


def test_what_governance_says_is_one_read_with_the_answers_of_two(fresh_warehouse):
    _fail_critical_check(fresh_warehouse)
    # A steward's later re-classification of a column wins, in the one read as in pii_policy.
    fresh_warehouse.append(naming.fq("gov", "dim_tag"), pd.DataFrame([{
        "tag_id": "tag-test", "dataset_id": dataset_id("txn", "dim_customer"), "column_name": "email",
        "tag_name": "PII", "tag_value": "contact", "created_ts": datetime.utcnow() + timedelta(days=1)}]))
    counted = CountingWarehouse(fresh_warehouse)
    said = preflight.governance(counted)
    assert counted.total == 1
    assert said.pii_columns == pii_policy(fresh_warehouse, dataset_id("txn", "dim_customer"))
    assert said.pii_columns["email"] == "contact"
    assert said.failing_critical == tuple(failing_critical(fresh_warehouse))
    assert [c.check_name for c in said.failing_critical] == ["customer_id_unique"]
