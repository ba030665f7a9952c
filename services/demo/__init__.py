"""The generated retail data set that fills an empty warehouse.

Deterministic from a seed number; the scale is set by a customer count (about
ten transactions per customer). ``generate`` returns rows for the landing
zone and the reference tables of every source, keyed by schema-qualified
table name; the pipeline builds silver and gold from them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from services import naming
from services.demo import assortment, customers, transactions
from services.demo.calendar import DEMO_END, dim_time, window
from services.demo.platform import generate_platform_sources

MEAN_PURCHASES_PER_CUSTOMER = 9.5

Progress = Callable[[str, float], None]


def _static_txn_tables() -> dict[str, pd.DataFrame]:
    fq = lambda name: naming.fq("txn", name)  # noqa: E731 - a local alias keeps the table below readable
    return {
        fq("dim_status"): pd.DataFrame({
            "status_code": ["active", "inactive", "settled", "unconverted", "closed"],
            "status_name": ["Active", "Inactive", "Settled", "Unconverted", "Closed"],
            "description": ["In use", "No longer in use", "Settled with the processor",
                            "No exchange rate on or before the settlement day", "Account closed"],
            "applies_to": ["all", "all", "settlement", "settlement", "account"],
        }),
        fq("ref_fee_schedule"): pd.DataFrame({
            "fee_id": ["F-CARD-ONLINE", "F-CARD-STORE", "F-PAYPAL", "F-APPLE"],
            "channel_code": ["web", "store", "web", "app"],
            "payment_method": ["card", "card", "paypal", "apple_pay"],
            "fee_pct": [0.019, 0.014, 0.029, 0.015],
            "fee_fixed": [0.25, 0.05, 0.30, 0.10],
            "currency": "USD",
            "valid_from": date(2024, 1, 1),
            "valid_to": date(2099, 12, 31),
        }),
        fq("ref_limits"): pd.DataFrame({
            "limit_id": ["L-REFUND-STORE", "L-PURCHASE-WEB", "L-PURCHASE-APP"],
            "limit_name": ["Store refund without manager", "Web order review", "App order review"],
            "txn_type": ["refund", "purchase", "purchase"],
            "channel_code": ["store", "web", "app"],
            "max_amount": [500.0, 5000.0, 3000.0],
            "currency": "USD",
            "action": ["manager_approval", "fraud_review", "fraud_review"],
        }),
    }


def generate(*, customers_count: int, seed: int, end: date = DEMO_END, landed_by: datetime | None = None,
             progress: Progress | None = None) -> dict[str, pa.Table | pd.DataFrame]:
    """Every demo row, keyed by schema-qualified table name, for two years ending on ``end``.

    ``landed_by`` (naive UTC) is when the demo is loaded: nothing can have landed later, so a
    landing time past it (a late redelivery of the last day's files) is moved back to it.
    """
    say = progress or (lambda step, fraction: None)
    rng = np.random.default_rng(seed)
    start, end = window(end)
    days = (end - start).days + 1
    say("customers", 0.05)
    pop = customers.population(rng, customers_count, days=days, mean_purchases=MEAN_PURCHASES_PER_CUSTOMER)
    products = assortment.products(rng)
    merchants = assortment.merchants()
    cdc = customers.cdc_feed(rng, pop, start=start, days=days)
    say("transactions", 0.25)
    stg = transactions.transactions(rng, pop, products, merchants, start=start, end=end)
    say("settlements", 0.6)
    settlements, reported = transactions.settlements(stg, merchants, rng)
    say("platform sources", 0.75)
    tables: dict[str, pa.Table | pd.DataFrame] = dict(
        generate_platform_sources(rng, start=start, end=end, n_customers=customers_count)
    )
    tables.update(_static_txn_tables())
    txn = lambda name: naming.fq("txn", name)  # noqa: E731
    tables.update({
        naming.fq("ingest", "stage_cdc"): cdc,
        txn("stg_transactions"): stg,
        txn("dim_channel"): assortment.CHANNELS,
        txn("dim_merchant"): merchants,
        txn("dim_product"): products,
        txn("dim_time"): dim_time(start, end),
        txn("dim_account"): transactions.accounts(pop, start=start),
        txn("ref_exchange_rates"): transactions.exchange_rates(rng, start, end),
        txn("stage_settlements"): settlements,
        txn("stage_reconciliations"): reported,
    })
    return tables if landed_by is None else {name: _landed_by(rows, landed_by) for name, rows in tables.items()}


def _landed_by(rows: pa.Table | pd.DataFrame, when: datetime) -> pa.Table | pd.DataFrame:
    """``rows`` with every ``landed_ts`` after ``when`` moved back to it."""
    if "landed_ts" not in (rows.column_names if isinstance(rows, pa.Table) else rows.columns):
        return rows
    if isinstance(rows, pa.Table):
        column = rows.column("landed_ts")
        bound = pa.scalar(pd.Timestamp(when, tz="UTC" if column.type.tz else None).to_pydatetime(), column.type)
        # if_else, not min_element_wise: Arrow has no element-wise minimum for zoned timestamps.
        return rows.set_column(rows.column_names.index("landed_ts"), "landed_ts",
                               pc.if_else(pc.greater(column, bound), bound, column))
    landed = pd.to_datetime(rows["landed_ts"])
    bound = pd.Timestamp(when, tz="UTC") if landed.dt.tz is not None else pd.Timestamp(when)
    return rows.assign(landed_ts=landed.clip(upper=bound))
