"""Incremental silver models: new batches only, redeliveries replace, full refresh agrees."""

from __future__ import annotations

import pandas as pd

from services import naming
from services.build import run_pipeline
from tests.services.pipeline import handmade

FACT = naming.fq("txn", "fact_transactions")
ACTIVITY = naming.fq("gold", "gold_customer_activity")
RAW = naming.fq("txn", "raw_transactions")
TRANSFORMS = naming.fq("ingest", "audit_transforms")
FEATURES = naming.fq("gold", "gold_customer_features")


def land(warehouse, rows: list[tuple], batch: str, landed: str) -> None:
    frame = pd.DataFrame(rows, columns=["transaction_id", "customer_id", "txn_type", "amount", "currency",
                                        "posted_ts", "product_id", "channel_code"])
    frame["posted_ts"] = pd.to_datetime(frame["posted_ts"])
    frame["batch_id"] = batch
    frame["landed_ts"] = pd.Timestamp(landed)
    frame["source_system_id"] = "pos"
    warehouse.append(naming.fq("txn", "stg_transactions"), frame)


def statuses(warehouse, run_id: str) -> dict[str, str]:
    rows = warehouse.df(f"SELECT model_name, status FROM {TRANSFORMS} WHERE run_id = $r", {"r": run_id})
    return dict(zip(rows["model_name"], rows["status"]))


def test_a_rebuild_without_new_batches_skips_silver_and_gives_the_same_gold(empty_warehouse):
    handmade.load(empty_warehouse)
    run_pipeline(empty_warehouse)
    before = empty_warehouse.df(f"SELECT * FROM {FEATURES} ORDER BY customer_id")
    again = run_pipeline(empty_warehouse)
    assert statuses(empty_warehouse, again.run_id) == {
        "silver_raw_transactions": "skipped", "silver_fact_transactions": "skipped",
        "gold_customer_activity": "skipped",
        "silver_dim_customer": "skipped", "silver_fact_settlements": "succeeded",
        "gold_customer_features": "succeeded", "gold_customer_category_spend": "succeeded",
    }
    pd.testing.assert_frame_equal(empty_warehouse.df(f"SELECT * FROM {FEATURES} ORDER BY customer_id"), before)


def test_a_new_batch_is_appended_and_a_redelivery_replaces_its_row(empty_warehouse):
    handmade.load(empty_warehouse)
    run_pipeline(empty_warehouse)
    # b4 brings a new purchase for G and a corrected redelivery of T1 (100 -> 90).
    land(empty_warehouse, [
        ("T12", "G", "purchase", 30.00, "USD", "2026-06-29 10:00", "P-HOM", "web"),
        ("T1", "A", "purchase", 90.00, "USD", "2026-01-10 12:00", "P-APP", "web"),
    ], "b4", "2026-07-03 02:00")
    result = run_pipeline(empty_warehouse)
    assert statuses(empty_warehouse, result.run_id)["silver_raw_transactions"] == "succeeded"
    assert empty_warehouse.scalar(f"SELECT COUNT(*) FROM {RAW}") == 12 + 2
    assert empty_warehouse.scalar(f"SELECT COUNT(*) FROM {FACT}") == 12           # 11 + T12
    assert float(empty_warehouse.scalar(f"SELECT amount_usd FROM {FACT} WHERE transaction_id = 'T1'")) == 90.00
    gold = empty_warehouse.df(f"SELECT * FROM {FEATURES} ORDER BY customer_id").set_index("customer_id")
    assert float(gold.loc["A", "monetary"]) == 120.00    # 90 + 50 - 20
    assert gold.loc["G", "frequency"] == 2 and gold.loc["G", "recency_days"] == 1
    # The activity table follows the facts row for row, the redelivered T1 included.
    columns = ", ".join(c for c, _ in empty_warehouse.columns(*ACTIVITY.split(".")))
    pd.testing.assert_frame_equal(empty_warehouse.df(f"SELECT {columns} FROM {ACTIVITY} ORDER BY transaction_id"),
                                  empty_warehouse.df(f"SELECT {columns} FROM {FACT} ORDER BY transaction_id"))


def test_full_refresh_gives_the_same_silver_as_the_incremental_path(empty_warehouse):
    handmade.load(empty_warehouse)
    run_pipeline(empty_warehouse)
    land(empty_warehouse, [("T13", "B", "refund", 5.00, "GBP", "2026-06-25 10:00", "P-BEA", "app")],
         "b5", "2026-07-04 02:00")
    run_pipeline(empty_warehouse)
    incremental = empty_warehouse.df(f"SELECT * FROM {FACT} ORDER BY transaction_id")
    refreshed = run_pipeline(empty_warehouse, full_refresh=True)
    assert statuses(empty_warehouse, refreshed.run_id)["silver_fact_transactions"] == "succeeded"
    pd.testing.assert_frame_equal(empty_warehouse.df(f"SELECT * FROM {FACT} ORDER BY transaction_id"), incremental)
    assert empty_warehouse.scalar(f"SELECT COUNT(*) FROM {RAW}") == 13


def test_dim_customer_rebuilds_only_for_customers_it_does_not_know(empty_warehouse):
    handmade.load(empty_warehouse)
    run_pipeline(empty_warehouse)
    land(empty_warehouse, [("T20", "G", "purchase", 5.00, "USD", "2026-06-29 10:00", "P-HOM", "web")],
         "b6", "2026-07-05 02:00")
    known = run_pipeline(empty_warehouse)
    assert statuses(empty_warehouse, known.run_id)["silver_dim_customer"] == "skipped"
    land(empty_warehouse, [("T21", "Z", "purchase", 7.00, "USD", "2026-06-29 11:00", "P-HOM", "web")],
         "b7", "2026-07-06 02:00")
    new = run_pipeline(empty_warehouse)
    assert statuses(empty_warehouse, new.run_id)["silver_dim_customer"] == "succeeded"
    assert empty_warehouse.scalar(
        f"SELECT COUNT(*) FROM {naming.fq('txn', 'dim_customer')} WHERE customer_id = 'Z' AND is_current") == 1


def test_an_incremental_build_reconciles_the_transactions_it_touched(empty_warehouse):
    handmade.load(empty_warehouse)
    run_pipeline(empty_warehouse)
    land(empty_warehouse, [("T30", "A", "purchase", 1.00, "USD", "2026-06-29 10:00", "P-APP", "web"),
                           ("T2", "A", "purchase", 55.00, "USD", "2026-06-01 09:30", "P-APP", "store")],
         "b8", "2026-07-07 02:00")
    result = run_pipeline(empty_warehouse)
    recon = empty_warehouse.df(f"SELECT source_rows, target_rows, status FROM {naming.fq('txn', 'audit_recon')} "
                               "WHERE run_id = $r", {"r": result.run_id})
    assert recon.to_dict("records") == [{"source_rows": 2, "target_rows": 2, "status": "matched"}]
