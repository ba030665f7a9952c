"""One currency rule: transactions, settlements and the build's rate check convert by the same rates.

The hand-made rates (tests/services/pipeline/handmade.py): GBP 1.20 on 2026-06-19
and 1.25 on 06-20; EUR 1.05 on 2025-01-15 and 1.10 on 2026-06-25 only. The rule
(sql/models/ephemeral/exchange_rate_periods.sql): a day converts at the latest
rate on or before it.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from services import naming, sqlfiles
from services.build import run_pipeline
from tests.services.pipeline import handmade

FACT = naming.fq("txn", "fact_transactions")
SETTLEMENTS = naming.fq("txn", "fact_settlements")

# (id, day, currency, gross, fee, net)
STAGED = [
    ("S1", date(2026, 6, 28), "EUR", 100.00, 1.80, 98.20),   # no EUR rate that day: 06-25's 1.10
    ("S2", date(2026, 6, 20), "GBP", 10.00, 0.18, 9.82),     # a rate of its own day: 1.25
    ("S3", date(2025, 1, 10), "EUR", 50.00, 0.90, 49.10),    # before the first EUR rate
    ("S4", date(2026, 6, 28), "USD", 20.00, 0.36, 19.64),    # USD converts at 1
]


@pytest.fixture
def built(empty_warehouse):
    handmade.load(empty_warehouse)
    stage = pd.DataFrame(STAGED, columns=["settlement_id", "settlement_date", "currency", "gross_amount",
                                          "fee_amount", "net_amount"])
    stage["merchant_id"] = "M1"
    stage["batch_id"] = "settle-1"
    stage["transaction_count"] = 1
    stage["landed_ts"] = datetime(2026, 7, 1, 2, 0)
    empty_warehouse.append(naming.fq("txn", "stage_settlements"), stage)
    run_pipeline(empty_warehouse)
    return empty_warehouse


def settlements(warehouse) -> pd.DataFrame:
    return warehouse.df(f"SELECT * FROM {SETTLEMENTS} ORDER BY settlement_id").set_index("settlement_id")


def test_a_settlement_day_without_a_rate_converts_at_the_latest_earlier_rate(built):
    # Under the old exact-date rule S1 stayed 'unconverted' while the EUR purchase T6 of the
    # same day converted at 1.10: the books of one day disagreed. Now both use 1.10.
    s1 = settlements(built).loc["S1"]
    assert (float(s1.gross_amount_usd), float(s1.fee_amount_usd), float(s1.net_amount_usd)) == (110.00, 1.98, 108.02)
    assert s1.status_code == "settled"
    assert float(built.scalar(f"SELECT fx_rate_to_usd FROM {FACT} WHERE transaction_id = 'T6'")) == 1.10


def test_a_settlement_converts_at_its_own_day_rate_or_at_one_for_usd(built):
    rows = settlements(built)
    assert float(rows.loc["S2", "gross_amount_usd"]) == 12.50
    assert float(rows.loc["S4", "net_amount_usd"]) == 19.64
    assert set(rows.loc[["S2", "S4"], "status_code"]) == {"settled"}


def test_a_settlement_before_the_first_rate_stays_unconverted(built):
    s3 = settlements(built).loc["S3"]
    assert s3.status_code == "unconverted"
    assert pd.isna(s3.gross_amount_usd) and pd.isna(s3.net_amount_usd)


def test_the_rate_check_finds_no_gap_where_the_models_convert(built):
    missing = built.df(sqlfiles.render(sqlfiles.query("reconcile/missing_exchange_rates.sql"), "duckdb"))
    assert missing.empty


def test_the_rate_check_counts_the_transactions_before_a_currency_first_rate(built):
    built.execute(f"DELETE FROM {naming.fq('txn', 'ref_exchange_rates')} WHERE rate_date < DATE '2026-06-20'")
    missing = built.df(sqlfiles.render(sqlfiles.query("reconcile/missing_exchange_rates.sql"), "duckdb"))
    # EUR's first rate is now 06-25: T5 (2025-01-15) cannot convert, T6 (06-28) can; GBP 06-20 still can.
    assert missing[["currency", "transactions"]].to_dict("records") == [{"currency": "EUR", "transactions": 1}]
    assert pd.Timestamp(missing.loc[0, "first_posted_date"]).date() == date(2025, 1, 15)


def test_each_rate_holds_from_its_day_until_the_next_published_one(empty_warehouse):
    handmade.load(empty_warehouse)
    periods = empty_warehouse.df(sqlfiles.render(sqlfiles.query("models/ephemeral/exchange_rate_periods.sql"), "duckdb"))
    rows = sorted((r.currency, str(r.valid_from)[:10], str(r.valid_to)[:10], float(r.rate_to_usd))
                  for r in periods.itertuples())
    assert rows == [
        ("EUR", "2025-01-15", "2026-06-25", 1.05), ("EUR", "2026-06-25", "9999-12-31", 1.10),
        ("GBP", "2026-06-19", "2026-06-20", 1.20), ("GBP", "2026-06-20", "9999-12-31", 1.25),
    ]
