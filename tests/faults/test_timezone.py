"""Finding 9: the same data gives the same answer on any machine.

The same seed is built by two real processes, one with TZ=UTC and one with
TZ=Asia/Tokyo; every table the pipeline derives (silver and gold) must be equal
row for row. Before the fix DuckDB cursors ran in the machine's zone, so
``cast(posted_ts as date)`` moved Tokyo's evening purchases to the next day.
And ``mean_days_between_purchases`` is rounded exactly: 651 days over 40 gaps
is 16.275, which is 16.28 (a DOUBLE holds it as 16.27499.. and rounded down).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from services import naming
from services.build import run_pipeline
from tests.processes import cli, environment, snapshot

DERIVED = [naming.fq(source, table) for source, table in [
    ("txn", "raw_transactions"), ("txn", "fact_transactions"), ("txn", "dim_customer"),
    ("txn", "fact_settlements"), ("gold", "gold_customer_features"), ("gold", "gold_customer_activity"),
    ("gold", "gold_customer_category_spend"),
]]


def test_a_build_in_tokyo_equals_a_build_in_utc_row_for_row(tmp_path):
    built = {}
    for zone in ("UTC", "Asia/Tokyo"):
        path = tmp_path / f"{zone.replace('/', '-')}.duckdb"
        done = cli("build", "--customers", "300", "--seed", "11", "--warehouse", path, "--quiet",
                   # The demo's last day pinned: a window ending yesterday lands its last rows "now",
                   # and two builds a few seconds apart would differ in when, not in what.
                   env=environment(TZ=zone, SEGMENT_STUDIO_DEMO_END="2026-10-31"))
        assert done.returncode == 0, done.stderr
        built[zone] = snapshot(path)
    for table in DERIVED:
        utc, tokyo = built["UTC"][table], built["Asia/Tokyo"][table]
        assert len(utc) > 0, table
        pd.testing.assert_frame_equal(tokyo, utc, obj=table)


@pytest.fixture
def one_customer(empty_warehouse):
    """c1 bought 41 times, first on 2024-01-01 and last 651 days later: 651 / 40 = 16.275 days apart."""
    first = date(2024, 1, 1)
    days = [0, *range(16, 16 * 40, 16)][:40] + [651]
    rows = pd.DataFrame({
        "batch_id": "b1", "landed_ts": datetime(2026, 1, 1), "source_system_id": "pos",
        "transaction_id": [f"t{i}" for i in range(len(days))], "customer_id": "c1", "txn_type": "purchase",
        "quantity": 1, "amount": Decimal("10.00"), "discount_amount": Decimal("0.00"), "currency": "USD",
        "posted_ts": [datetime.combine(first + timedelta(days=d), datetime.min.time()) for d in days],
    })
    empty_warehouse.append(naming.fq("txn", "stg_transactions"), rows)
    return empty_warehouse


def test_mean_days_between_purchases_rounds_half_up_exactly(one_customer):
    run_pipeline(one_customer)
    value = one_customer.scalar(f"SELECT mean_days_between_purchases FROM {naming.fq('gold', 'gold_customer_features')}")
    assert value == 16.28
