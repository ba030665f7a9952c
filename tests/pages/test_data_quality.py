"""AppTest smoke test of the Data Quality page: real numbers for a manager, a reason for a marketer."""

from __future__ import annotations

import pytest

from services import naming

PAGE = "pages/data_quality.py"
QUALITY = naming.fq("gov", "fact_data_quality")
CERTS = naming.fq("gov", "stage_certifications")
ISSUES = naming.fq("gov", "fact_issues")
DATASET = naming.fq("gov", "dim_dataset")
RECON = naming.fq("txn", "audit_recon")
INGEST = naming.fq("txn", "audit_txn_ingest")


@pytest.fixture
def expected(demo_warehouse):
    """The numbers the page must show, counted straight from the session warehouse the copy was made of."""
    w = demo_warehouse
    return {
        "datasets": w.scalar(f"select count(*) from {DATASET}"),
        "certified": w.scalar(
            f"select count(*) from {CERTS} c where certification_status = 'certified' and certification_id = "
            f"(select max(certification_id) from {CERTS} d where d.dataset_id = c.dataset_id)"),
        "failing": w.scalar(
            f"select count(*) from (select check_status from {QUALITY} qualify row_number() over "
            "(partition by source, dataset_id, check_name order by checked_ts desc, dq_id desc) = 1) "
            "where check_status <> 'pass'"),
        "open_issues": w.scalar(f"select count(*) from {ISSUES} where status in ('open', 'in_progress')"),
        "recon": w.df(f"select * from {RECON} order by checked_ts desc limit 1").iloc[0],
        "batches": w.scalar(f"select count(distinct batch_id) from {INGEST}"),
    }


def show(at, section):
    at.segmented_control(key="dq_section").set_value(section).run()
    assert not at.exception, at.exception
    return at


def test_a_manager_sees_every_section_with_real_numbers(app, expected):
    at = app(page=PAGE, role="manager")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Datasets"] == f"{expected['datasets']:,}"
    assert metrics["Certified"] == str(expected["certified"])
    assert metrics["Failing checks"] == str(expected["failing"])
    assert metrics["Open issues"] == str(expected["open_issues"])

    catalog = at.dataframe[0].value
    assert len(catalog) == expected["datasets"]
    fact = catalog.set_index("dataset").loc["txn.fact_transactions"]
    assert fact["owner"] and fact["classification"] and fact["sensitivity"]

    show(at, "Pass rate")
    assert len(at.get("plotly_chart")) == 1
    totals = at.dataframe[0].value
    assert ((totals["pass_rate"] >= 0) & (totals["pass_rate"] <= 1)).all()
    assert (totals["passed"] <= totals["checks"]).all()

    show(at, "Failing checks")
    failing = at.dataframe[0].value
    assert len(failing) == expected["failing"]
    # Critical checks come first (whether the demo data has one failing depends on its seed).
    critical = list(failing["severity"] == "critical")
    assert critical == sorted(critical, reverse=True)
    assert at.selectbox(key="dq_check").value == 0
    assert len(at.get("plotly_chart")) == 1
    history = at.dataframe[1].value
    assert history.iloc[0]["status"] == failing.iloc[0]["status"]

    show(at, "Issues")
    assert at.subheader[0].value == f"Open issues ({expected['open_issues']})"
    assert len(at.dataframe[0].value) == expected["open_issues"]
    teams = at.dataframe[1].value
    assert teams["open_issues"].sum() == expected["open_issues"]

    show(at, "Freshness")
    fresh = at.dataframe[0].value.set_index("dataset")
    assert fresh.loc["txn.fact_transactions", "sla_hours"] == 24
    assert fresh.loc["txn.dim_customer", "sla_hours"] == 48
    # Freshness is the data's age when checked (the demo's checks ran the morning after its last day,
    # tests/conftest.py): gold, to the end of 2026-10-31, is 6 hours old; the customer dimension's
    # newest change is days older than its 48-hour SLA, and the page says so.
    assert fresh.loc["gold.gold_customer_features", "age_days"] == 0.25
    assert [e.value for e in at.error] == ["1 of 4 datasets are older than their SLA: txn.dim_customer"]

    show(at, "Reconciliation")
    recon = expected["recon"]
    side = at.table[0].value
    assert side.loc["rows", "source"] == f"{recon['source_rows']:,}"
    assert side.loc["rows", "target"] == f"{recon['target_rows']:,}"
    assert side.loc["checksum", "source"] == recon["source_checksum"]
    assert side.loc["checksum", "target"] == recon["target_checksum"]
    assert any(s.value.startswith(f"{recon['status']}:") for s in at.success)
    assert len(at.dataframe[0].value) == expected["batches"]


def test_a_marketer_is_told_why_the_page_is_unavailable(app):
    at = app(page=PAGE, role="marketer")
    infos = [i.value for i in at.info]
    assert any("not available for your role (marketer)" in i and "analyst, manager, admin" in i for i in infos)
    assert not at.error
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")
