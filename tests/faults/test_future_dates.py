"""Finding 4: one row dated 2099 must not re-age every customer.

Before the fix a single transaction posted in 2099 moved the as-of date to
2099-10-01: 2,594 of 2,595 customers became lapsed, and all 43 quality checks
still passed. Now a posting after its load day (or before 1900) is rejected
into ingest ref_parsing_errors with the reason, whichever way it landed (the
importer, or any other process writing the landing zone); the as-of date never
moves past the load day; and a critical quality check counts future-dated
facts, should one get in anyway.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from services import naming
from services.build import run_pipeline
from services.errors import SpecError
from services.quality.checks import run_checks
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.processes import cli

FEATURES, FACT = naming.fq("gold", "gold_customer_features"), naming.fq("txn", "fact_transactions")
ERRORS = naming.fq("ingest", "ref_parsing_errors")


@pytest.fixture
def warehouse_path(demo_warehouse_path, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    return path


def ages(warehouse) -> tuple:
    """The as-of date and how many customers are in each lifecycle stage."""
    as_of = warehouse.scalar(f"SELECT MAX(as_of_date) FROM {FEATURES}")
    stages = warehouse.arrow(f"SELECT lifecycle_stage, COUNT(*) AS n FROM {FEATURES} GROUP BY 1").to_pylist()
    return as_of, {r["lifecycle_stage"]: r["n"] for r in stages}


def test_an_imported_row_dated_2099_is_rejected_and_nobody_ages(warehouse_path, tmp_path):
    warehouse = DuckDBWarehouse(warehouse_path, read_only=True)
    before = ages(warehouse)
    customer = warehouse.scalar(f"SELECT MIN(customer_id) FROM {FEATURES}")
    warehouse.close()
    data = tmp_path / "one.csv"
    data.write_text(f"customer,date,amount\n{customer},2026-10-30,12.50\n{customer},2099-10-01,10.00\n")
    done = cli("import-transactions", data, "--customer-col", "customer", "--date-col", "date", "--amount-col",
               "amount", "--warehouse", warehouse_path, "--quiet")
    assert done.returncode == 0, done.stderr
    warehouse = DuckDBWarehouse(warehouse_path, read_only=True)
    try:
        assert ages(warehouse)[0] == before[0]
        errors = warehouse.arrow(f"SELECT line_number, reason FROM {ERRORS} WHERE reason LIKE 'posted after%'").to_pylist()
        assert [e["line_number"] for e in errors] == [3]
        assert "2099-10-01" in errors[0]["reason"]
    finally:
        warehouse.close()


def test_a_landed_row_posted_after_its_load_day_is_rejected_by_the_pipeline(warehouse_path):
    warehouse = DuckDBWarehouse(warehouse_path)
    try:
        before = ages(warehouse)
        customer = warehouse.scalar(f"SELECT MIN(customer_id) FROM {FEATURES}")
        # Another landing process (not the importer) writes the landing zone directly.
        warehouse.append(naming.fq("txn", "stg_transactions"), pd.DataFrame([{
            "batch_id": "feed-20261102", "landed_ts": datetime(2026, 11, 2, 3, 0), "source_system_id": "pos",
            "transaction_id": "T-FUTURE", "customer_id": customer, "txn_type": "purchase", "quantity": 1,
            "amount": Decimal("10.00"), "discount_amount": Decimal("0.00"), "currency": "USD",
            "posted_ts": datetime(2099, 10, 1, 12, 0)}]))
        run_pipeline(warehouse)
        assert ages(warehouse) == before
        assert warehouse.scalar(f"SELECT COUNT(*) FROM {FACT} WHERE transaction_id = 'T-FUTURE'") == 0
        [error] = warehouse.arrow(f"SELECT batch_id, column_name, reason FROM {ERRORS} "
                                  "WHERE batch_id = 'feed-20261102'").to_pylist()
        assert error["column_name"] == "posted_ts"
        assert error["reason"] == "posted after the load day: 2099-10-01 (landed 2026-11-02)"
        run_pipeline(warehouse)                                    # logged once, however many builds
        assert warehouse.scalar(f"SELECT COUNT(*) FROM {ERRORS} WHERE batch_id = 'feed-20261102'") == 1
    finally:
        warehouse.close()


def test_a_critical_check_counts_future_dated_facts(warehouse_path):
    warehouse = DuckDBWarehouse(warehouse_path)
    try:
        # Written straight into the facts (by an older version, or by hand): the check must see it.
        warehouse.execute(f"UPDATE {FACT} SET posted_date = DATE '2099-10-01', posted_ts = TIMESTAMP '2099-10-01 12:00' "
                          f"WHERE transaction_id = (SELECT MIN(transaction_id) FROM {FACT})")
        results = {r.check_name: r for r in run_checks(warehouse, run_id="future")}
        check = results["posted_date_not_after_load_day"]
        assert check.severity == "critical" and not check.passed
        assert check.observed_value == 1
    finally:
        warehouse.close()


def test_an_as_of_date_after_the_last_load_day_is_refused(warehouse_path):
    warehouse = DuckDBWarehouse(warehouse_path)
    try:
        before = ages(warehouse)
        with pytest.raises(SpecError, match="after the last load day"):
            run_pipeline(warehouse, as_of=date(2099, 10, 1))
        assert ages(warehouse) == before
    finally:
        warehouse.close()
