"""A tiny hand-made landing zone whose gold features were worked out by hand.

As-of date: 2026-06-30 (customer E's last purchase). Rates: GBP 1.20 on
06-19 and 1.25 on 06-20; EUR 1.05 on 2025-01-15 and 1.10 on 2026-06-25 only.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from services import naming

TXN_COLUMNS = ["transaction_id", "customer_id", "txn_type", "amount", "currency", "posted_ts",
               "product_id", "channel_code", "batch_id", "landed_ts"]

# (id, customer, type, amount, currency, posted, product, channel, batch)
TRANSACTIONS = [
    ("T1", "A", "purchase", 100.00, "USD", "2026-01-10 12:00", "P-APP", "web", "b1"),
    ("T2", "A", "purchase", 50.00, "USD", "2026-06-01 09:30", "P-APP", "store", "b2"),
    ("T3", "A", "refund", 20.00, "USD", "2026-06-05 10:00", "P-APP", "store", "b2"),
    ("T4", "B", "purchase", 10.00, "GBP", "2026-06-20 18:00", "P-BEA", "app", "b2"),
    ("T4", "B", "purchase", 10.00, "GBP", "2026-06-20 18:00", "P-BEA", "app", "b3"),  # redelivered
    ("T5", "C", "purchase", 200.00, "EUR", "2025-01-15 11:00", "P-HOM", "web", "b1"),
    ("T6", "C", "purchase", 10.00, "EUR", "2026-06-28 15:00", "P-BEA", "web", "b2"),
    ("T7", "D", "purchase", 300.00, "USD", "2025-10-01 08:00", "P-HOM", "store", "b1"),
    ("T8", "E", "purchase", 40.00, "USD", "2026-02-01 13:00", "P-APP", "app", "b1"),
    ("T9", "E", "purchase", 60.00, "USD", "2026-06-30 23:59", "P-BEA", "app", "b2"),
    ("T10", "F", "refund", 15.00, "USD", "2026-05-01 10:00", "P-APP", "web", "b2"),
    ("T11", "G", "purchase", 20.00, "USD", "2026-03-01 10:00", "P-HOM", "store", "b1"),
]

LANDED = {"b1": "2026-07-01 02:00", "b2": "2026-07-01 03:00", "b3": "2026-07-02 02:00"}

EXPECTED = {
    # customer: (frequency, monetary, first, last, recency, tenure, r, f, m, segment, lifecycle)
    "A": (2, 130.00, date(2026, 1, 10), date(2026, 6, 1), 29, 171, 3, 4, 4, "Loyal", "active"),
    "B": (1, 12.50, date(2026, 6, 20), date(2026, 6, 20), 10, 10, 4, 1, 1, "Promising", "new"),
    "C": (2, 221.00, date(2025, 1, 15), date(2026, 6, 28), 2, 531, 5, 4, 5, "Champions", "reactivated"),
    "D": (1, 300.00, date(2025, 10, 1), date(2025, 10, 1), 272, 272, 1, 1, 5, "At Risk", "lapsed"),
    "E": (2, 100.00, date(2026, 2, 1), date(2026, 6, 30), 0, 149, 5, 4, 3, "Champions", "active"),
    "G": (1, 20.00, date(2026, 3, 1), date(2026, 3, 1), 121, 121, 2, 1, 2, "Hibernating", "at_risk"),
}

CDC = [
    # customer A moves from US-West to US-South; the 02-01 record is an unchanged resend
    ("CDC1", "A", "I", "2025-12-01 10:00", "US-West", "silver"),
    ("CDC2", "A", "U", "2026-02-01 10:00", "US-West", "silver"),
    ("CDC3", "A", "U", "2026-04-01 10:00", "US-South", "silver"),
]


def load(warehouse) -> None:
    stg = pd.DataFrame(TRANSACTIONS, columns=TXN_COLUMNS[:-1])
    stg["posted_ts"] = pd.to_datetime(stg["posted_ts"])
    stg["landed_ts"] = pd.to_datetime(stg["batch_id"].map(LANDED))
    stg["source_system_id"] = "pos"
    stg["quantity"] = 1
    stg["discount_amount"] = [0.0, 5.0] + [0.0] * (len(stg) - 2)
    warehouse.append(naming.fq("txn", "stg_transactions"), stg)
    warehouse.append(naming.fq("txn", "dim_product"), pd.DataFrame({
        "product_id": ["P-APP", "P-BEA", "P-HOM"], "category": ["apparel", "beauty", "home"]}))
    warehouse.append(naming.fq("txn", "ref_exchange_rates"), pd.DataFrame({
        "rate_date": [date(2026, 6, 19), date(2026, 6, 20), date(2025, 1, 15), date(2026, 6, 25)],
        "currency": ["GBP", "GBP", "EUR", "EUR"],
        "rate_to_usd": [1.20, 1.25, 1.05, 1.10],
    }))
    cdc = pd.DataFrame(CDC, columns=["change_id", "customer_id", "op", "change_ts", "region", "loyalty_tier"])
    cdc["change_ts"] = pd.to_datetime(cdc["change_ts"])
    cdc["source_system_id"] = "crm"
    cdc["first_name"] = "Ada"
    cdc["email"] = "ada@example.com"
    cdc["country"] = "US"
    cdc["birth_date"] = date(1990, 7, 1)
    cdc["email_opt_in"] = True
    warehouse.append(naming.fq("ingest", "stage_cdc"), cdc)


def landed_at(batch: str) -> datetime:
    return datetime.fromisoformat(LANDED[batch])
