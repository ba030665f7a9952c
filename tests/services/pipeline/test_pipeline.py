"""The pipeline on a hand-made landing zone: every expected value worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from services import naming
from services.build import run_pipeline
from services.errors import ReconciliationError, WarehouseError
from services.pipeline import reconcile
from tests.services.pipeline import handmade

FEATURES = naming.fq("gold", "gold_customer_features")
FACT = naming.fq("txn", "fact_transactions")


@pytest.fixture
def built(empty_warehouse):
    handmade.load(empty_warehouse)
    result = run_pipeline(empty_warehouse)
    return empty_warehouse, result


def features(warehouse):
    return warehouse.df(f"SELECT * FROM {FEATURES} ORDER BY customer_id").set_index("customer_id")


def test_as_of_date_is_the_latest_transaction_date(built):
    warehouse, result = built
    assert result.as_of_date == date(2026, 6, 30)


def test_gold_has_one_row_per_customer_who_bought(built):
    warehouse, _ = built
    # F only ever refunded: not a buyer, so not in gold.
    assert list(features(warehouse).index) == ["A", "B", "C", "D", "E", "G"]


@pytest.mark.parametrize("customer", sorted(handmade.EXPECTED))
def test_rfm_and_lifecycle_match_hand_computation(built, customer):
    warehouse, _ = built
    row = features(warehouse).loc[customer]
    freq, monetary, first, last, recency, tenure, r, f, m, segment, stage = handmade.EXPECTED[customer]
    assert row.frequency == freq
    assert float(row.monetary) == pytest.approx(monetary, abs=1e-9)
    assert row.first_purchase_date.date() == first
    assert row.last_purchase_date.date() == last
    assert row.recency_days == recency
    assert row.tenure_days == tenure
    assert (row.r_score, row.f_score, row.m_score) == (r, f, m)
    assert row.rfm_segment == segment
    assert row.lifecycle_stage == stage


def test_behavioral_features_of_customer_a(built):
    warehouse, _ = built
    a = features(warehouse).loc["A"]
    assert float(a.avg_order_value) == 75.00           # (100 + 50) / 2
    assert float(a.spend_30d) == 30.00                 # 50 on 06-01 minus the 20 refund on 06-05
    assert float(a.spend_365d) == 130.00
    assert a.orders_30d == 1 and a.orders_365d == 2
    assert a.refund_rate == 0.5
    assert a.discount_share == 0.5                     # T2 carried a discount
    assert a.online_share == 0.5                       # web then store
    assert a.mean_days_between_purchases == 142.0      # 2026-01-10 -> 2026-06-01
    assert a.top_category == "apparel"
    assert a.distinct_categories == 1
    assert a.region == "US-South"                      # current SCD2 version
    assert a.age_band == "35-44"                       # born 1990-07-01, 35 on 2026-06-30


def test_currency_conversion_uses_the_day_rate_or_the_latest_earlier_one(built):
    warehouse, _ = built
    rows = warehouse.df(f"SELECT transaction_id, fx_rate_to_usd, amount_usd FROM {FACT} ORDER BY transaction_id")
    by_id = rows.set_index("transaction_id")
    assert float(by_id.loc["T4", "amount_usd"]) == 12.50   # GBP 10 at 1.25 (06-20)
    assert float(by_id.loc["T6", "amount_usd"]) == 11.00   # EUR 10 on 06-28 at the 06-25 rate 1.10
    assert float(by_id.loc["T5", "amount_usd"]) == 210.00  # EUR 200 at 1.05
    assert float(by_id.loc["T1", "fx_rate_to_usd"]) == 1.0


def test_redelivered_transaction_is_deduplicated(built):
    warehouse, _ = built
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {FACT} WHERE transaction_id = 'T4'") == 1
    assert warehouse.scalar(f"SELECT batch_id FROM {FACT} WHERE transaction_id = 'T4'") == "b3"  # latest landing wins
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {FACT}") == 11


def test_scd2_history_of_a_customer_whose_region_changed(built):
    warehouse, _ = built
    history = warehouse.df(
        f"SELECT customer_sk, region, valid_from, valid_to, is_current FROM {naming.fq('txn', 'dim_customer')} "
        "WHERE customer_id = 'A' ORDER BY valid_from")
    # The unchanged resend on 2026-02-01 opens no version.
    assert list(history["region"]) == ["US-West", "US-South"]
    assert list(history["customer_sk"]) == ["A-v1", "A-v2"]
    assert str(history.loc[0, "valid_from"])[:16] == "2025-12-01 10:00"
    assert str(history.loc[0, "valid_to"])[:16] == "2026-04-01 10:00"
    assert history.loc[1, "valid_to"] is None or str(history.loc[1, "valid_to"]) in ("NaT", "None")
    assert list(history["is_current"]) == [False, True]


def test_customers_only_seen_in_transactions_get_a_current_row(built):
    warehouse, _ = built
    rows = warehouse.df(f"SELECT customer_id, is_current, source_system_id FROM {naming.fq('txn', 'dim_customer')} "
                        "WHERE customer_id <> 'A' ORDER BY customer_id")
    assert list(rows["customer_id"]) == ["B", "C", "D", "E", "F", "G"]
    assert rows["is_current"].all()
    assert set(rows["source_system_id"]) == {"file_import"}


def test_every_load_writes_audit_rows_that_reconcile(built):
    warehouse, result = built
    ingest = warehouse.df(f"SELECT batch_id, source_rows, target_rows, status FROM {naming.fq('txn', 'audit_txn_ingest')} "
                          "WHERE run_id = $run ORDER BY batch_id", {"run": result.run_id})
    assert list(ingest["batch_id"]) == ["b1", "b2", "b3"]
    assert list(ingest["source_rows"]) == [5, 6, 1]
    assert (ingest["status"] == "matched").all()
    recon = warehouse.df(f"SELECT source_rows, target_rows, status FROM {naming.fq('txn', 'audit_recon')} "
                         "WHERE run_id = $run", {"run": result.run_id})
    assert recon.to_dict("records") == [{"source_rows": 11, "target_rows": 11, "status": "matched"}]
    models = warehouse.scalar(f"SELECT COUNT(*) FROM {naming.fq('ingest', 'audit_transforms')} WHERE run_id = $run",
                              {"run": result.run_id})
    assert models == 7


def test_reconciliation_fails_when_a_fact_row_is_dropped(built):
    warehouse, _ = built
    warehouse.execute(f"DELETE FROM {FACT} WHERE transaction_id = 'T7'")
    with pytest.raises(ReconciliationError, match="raw_to_fact: source 11 rows"):
        reconcile.reconcile(warehouse, "run-broken")
    status = warehouse.scalar(f"SELECT status FROM {naming.fq('txn', 'audit_recon')} WHERE run_id = 'run-broken'")
    assert status == "mismatch"


def test_reconciliation_fails_when_an_amount_changes(built):
    warehouse, _ = built
    warehouse.execute(f"UPDATE {FACT} SET amount = amount + 1 WHERE transaction_id = 'T1'")
    with pytest.raises(ReconciliationError):
        reconcile.reconcile(warehouse, "run-amount")


def test_rebuild_never_rewrites_the_landing_zone(built):
    warehouse, _ = built
    checksum = f"SELECT COUNT(*), SUM(amount), BIT_XOR(HASH(transaction_id || batch_id)) FROM {naming.fq('txn', 'stg_transactions')}"
    before = warehouse.df(checksum).iloc[0].tolist()
    run_pipeline(warehouse)
    assert warehouse.df(checksum).iloc[0].tolist() == before
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {FEATURES}") == 6


def test_configured_as_of_date_moves_every_window(built):
    warehouse, _ = built
    run_pipeline(warehouse, as_of=date(2026, 6, 1))
    rows = features(warehouse)
    assert set(rows.index) == {"A", "C", "D", "E", "G"}   # B first bought after 06-01
    assert rows.loc["A", "recency_days"] == 0
    assert float(rows.loc["A", "monetary"]) == 150.00     # the 06-05 refund is after the as-of date


def test_missing_exchange_rate_is_a_clear_error(empty_warehouse):
    handmade.load(empty_warehouse)
    empty_warehouse.execute(f"DELETE FROM {naming.fq('txn', 'ref_exchange_rates')} WHERE currency = 'EUR'")
    with pytest.raises(WarehouseError, match="no exchange rate for EUR on or before 2025-01-15"):
        run_pipeline(empty_warehouse)
