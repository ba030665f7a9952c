"""Demo transactions: two years of purchases and refunds, landed in monthly batches.

Everything is vectorised with numpy and handed over as Arrow, with dictionary
encoding for the repetitive string columns, so ten million rows take seconds.
Demand follows the calendar's daily weights (weekly rhythm, a Q4 peak,
holidays); spend is heavy tailed (lognormal customer levels times product
prices); about 0.3% of records are delivered twice, which the silver layer
must deduplicate.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from services.demo.calendar import daily_weights
from services.demo.customers import CATEGORY_NAMES, CHANNEL_CODES, Population

# Rough level of each currency in USD; the daily rates wander around it.
FX_LEVEL = {"USD": 1.0, "GBP": 1.27, "EUR": 1.08, "CAD": 0.73}
REDELIVERY_SHARE = 0.003


def exchange_rates(rng: np.random.Generator, start: date, end: date) -> pd.DataFrame:
    days = pd.date_range(start, end, freq="D")
    frames = []
    for cur, level in FX_LEVEL.items():
        if cur == "USD":
            rate = np.ones(len(days))
        else:
            walk = np.cumsum(rng.normal(0.0, 0.004, len(days)))
            rate = level * np.exp(walk - walk.mean())
        frames.append(pd.DataFrame({"rate_date": days.date, "currency": cur,
                                    "rate_to_usd": np.round(rate, 6), "source": "demo-ecb-like"}))
    return pd.concat(frames, ignore_index=True)


def _dict(indices: np.ndarray, values) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(list(values), pa.string()))


def _string_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def transactions(
    rng: np.random.Generator,
    pop: Population,
    products: pd.DataFrame,
    merchants: pd.DataFrame,
    *,
    start: date,
    end: date,
) -> pa.Table:
    """Landed transaction records (txn ``stg_transactions``) as an Arrow table."""
    days = (end - start).days + 1
    n = len(pop.customer_id)
    first_day = np.maximum(pop.signup_day, 0)
    active = np.maximum(pop.churn_day - first_day + 1, 0)
    counts = rng.poisson(pop.daily_rate * active)
    cust = np.repeat(np.arange(n), counts)
    t = len(cust)

    cdf = np.cumsum(daily_weights(start, end))
    lower = np.where(first_day > 0, cdf[np.maximum(first_day - 1, 0)], 0.0)[cust]
    upper = cdf[pop.churn_day][cust]
    day = np.searchsorted(cdf, lower + rng.random(t) * (upper - lower), side="left")
    day = np.clip(day, first_day[cust], pop.churn_day[cust])

    channel = (rng.random(t)[:, None] >= pop.channel_cum[cust]).sum(axis=1).clip(0, 2)
    cat_share = products.groupby("category", sort=False).size()
    n_per_cat = int(cat_share.iloc[0])
    global_p = np.array([0.22, 0.10, 0.13, 0.14, 0.09, 0.16, 0.09, 0.07])
    category = np.where(rng.random(t) < pop.favourite_share[cust], pop.favourite[cust],
                        rng.choice(len(CATEGORY_NAMES), t, p=global_p / global_p.sum()))
    product = category * n_per_cat + rng.integers(0, n_per_cat, t)

    # Merchant: a store in the customer's region, or the country's web/app shop
    # (a tenth of web orders go through the marketplace partner).
    merchant_index = {m: i for i, m in enumerate(merchants["merchant_id"])}
    region_codes, region_of_customer = np.unique(pop.region.astype(str), return_inverse=True)
    store_base = np.array([merchant_index[f"M-{r}-S1"] for r in region_codes])
    country_codes, country_of_customer = np.unique(pop.country.astype(str), return_inverse=True)
    web = np.array([merchant_index[f"M-{c}-WEB"] for c in country_codes])
    app = np.array([merchant_index[f"M-{c}-APP"] for c in country_codes])
    mkt = np.array([merchant_index[f"M-{c}-MKT"] for c in country_codes])
    cc = country_of_customer[cust]
    merchant = np.where(
        channel == 2,
        store_base[region_of_customer[cust]] + rng.integers(0, 2, t),
        np.where(channel == 1, app[cc], np.where(rng.random(t) < 0.1, mkt[cc], web[cc])),
    )

    currency_codes, currency_of_customer = np.unique(pop.currency.astype(str), return_inverse=True)
    level = np.array([FX_LEVEL[c] for c in currency_codes])[currency_of_customer[cust]]
    price_local = products["list_price_usd"].to_numpy()[product] / level
    quantity = rng.geometric(0.65, t)
    gross = price_local * quantity * pop.spend_level[cust] * rng.lognormal(0.0, 0.3, t)
    discounted = rng.random(t) < pop.discount_prob[cust]
    pct = np.where(discounted, rng.choice([0.1, 0.15, 0.2, 0.25, 0.3, 0.4], t), 0.0)
    amount = np.maximum(np.round(gross * (1 - pct), 2), 0.5)
    discount = np.round(np.where(discounted, amount / (1 - pct) - amount, 0.0), 2)

    seconds = np.where(channel == 2, rng.integers(9 * 3600, 21 * 3600, t),
                       (rng.beta(3.0, 2.0, t) * 86399).astype(np.int64))
    posted = day.astype(np.int64) * 86400 + seconds
    is_refund = np.zeros(t, dtype=bool)

    # Refunds: a later row for part or all of a purchase, same basket.
    refunded = np.flatnonzero(rng.random(t) < pop.refund_prob[cust])
    r_day = day[refunded] + rng.integers(1, 31, len(refunded))
    keep = r_day < days
    refunded, r_day = refunded[keep], r_day[keep]
    r_amount = np.where(rng.random(len(refunded)) < 0.8, amount[refunded],
                        np.round(amount[refunded] * 0.5, 2))

    def both(a, b):
        return np.concatenate([a, b])

    cust = both(cust, cust[refunded])
    channel = both(channel, channel[refunded])
    product = both(product, product[refunded])
    merchant = both(merchant, merchant[refunded])
    quantity = both(quantity, quantity[refunded])
    amount = both(amount, r_amount)
    discount = both(discount, np.zeros(len(refunded)))
    posted = both(posted, r_day.astype(np.int64) * 86400 + rng.integers(10 * 3600, 20 * 3600, len(refunded)))
    is_refund = both(is_refund, np.ones(len(refunded), dtype=bool))

    order = np.argsort(posted, kind="stable")
    cust, channel, product, merchant = cust[order], channel[order], product[order], merchant[order]
    quantity, amount, discount, posted, is_refund = (
        quantity[order], amount[order], discount[order], posted[order], is_refund[order])
    total = len(cust)
    txn_number = np.arange(1, total + 1)

    # Monthly batches, landed on the 2nd of the following month; a small share
    # of records is delivered again a day later.
    epoch = np.datetime64(start, "s").astype(np.int64)
    posted_abs = epoch + posted
    month = posted_abs.astype("datetime64[s]").astype("datetime64[M]")
    landed = (month + np.timedelta64(1, "M")).astype("datetime64[s]").astype(np.int64) + 26 * 3600
    redelivered = np.flatnonzero(rng.random(total) < REDELIVERY_SHARE)
    rows = np.concatenate([np.arange(total), redelivered])
    is_copy = np.concatenate([np.zeros(total, dtype=bool), np.ones(len(redelivered), dtype=bool)])

    months = np.unique(month)
    month_idx = np.searchsorted(months, month[rows])
    batch_labels = [f"txn-{str(m).replace('-', '')}" for m in months]
    batch_values = batch_labels + [b + "-redelivery" for b in batch_labels]
    batch_idx = month_idx + np.where(is_copy, len(months), 0)

    store = channel[rows] == 2
    pay_store = rng.choice(3, len(rows), p=[0.7, 0.2, 0.1])
    pay_online = np.array([0, 3, 4])[rng.choice(3, len(rows), p=[0.6, 0.25, 0.15])]
    payment = np.where(store, pay_store, pay_online)
    account_suffix = np.where(store, 1, 0)
    customer_numbers = pd.Series(pop.customer_id).str[1:].to_numpy()
    account_values = np.concatenate([
        (pd.Series(customer_numbers, dtype=object).radd("A").add("-W")).to_numpy(),
        (pd.Series(customer_numbers, dtype=object).radd("A").add("-L")).to_numpy(),
    ])
    currency_per_row = currency_of_customer[cust[rows]]

    return pa.table(
        {
            "batch_id": _dict(batch_idx, batch_values),
            "landed_ts": pa.array(landed[rows] + np.where(is_copy, 86400, 0), pa.timestamp("s", tz="UTC")),
            "source_system_id": _dict(np.where(store, 0, np.where(channel[rows] == 1, 2, 1)), ["pos", "web", "app"]),
            "source_file": pa.nulls(len(rows), pa.string()),
            "line_number": pa.nulls(len(rows), pa.int64()),
            "transaction_id": _string_ids("T", txn_number[rows], 10),
            "account_id": _dict(cust[rows] + account_suffix * n, account_values),
            "customer_id": _dict(cust[rows], pop.customer_id),
            "product_id": _dict(product[rows], products["product_id"]),
            "merchant_id": _dict(merchant[rows], merchants["merchant_id"]),
            "channel_code": _dict(channel[rows], CHANNEL_CODES),
            "txn_type": _dict(is_refund[rows].astype(np.int32), ["purchase", "refund"]),
            "quantity": pa.array(quantity[rows].astype(np.int32)),
            "amount": pa.array(amount[rows]),
            "discount_amount": pa.array(discount[rows]),
            "currency": _dict(currency_per_row, currency_codes),
            "payment_method": _dict(payment, ["card", "cash", "gift_card", "paypal", "apple_pay"]),
            "posted_ts": pa.array(posted_abs[rows], pa.timestamp("s", tz="UTC")),
        }
    )


def accounts(pop: Population, *, start: date) -> pd.DataFrame:
    numbers = pd.Series(pop.customer_id).str[1:]
    opened = pd.Timestamp(start) + pd.to_timedelta(np.minimum(pop.signup_day, 0), unit="D")
    web = pd.DataFrame({"account_id": "A" + numbers + "-W", "customer_id": pop.customer_id,
                        "account_type": "web_account", "opened_ts": opened, "status_code": "active"})
    loyalty = web.assign(account_id="A" + numbers + "-L", account_type="loyalty_card")
    return pd.concat([web, loyalty], ignore_index=True)


def settlements(stg: pa.Table, merchants: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Processor settlement lines and reported daily totals per merchant."""
    frame = pd.DataFrame({
        "merchant_id": stg.column("merchant_id").to_pandas(),
        "currency": stg.column("currency").to_pandas(),
        "day": pd.to_datetime(stg.column("posted_ts").to_pandas()).dt.date,
        "signed": np.where(stg.column("txn_type").to_pandas() == "refund", -1.0, 1.0)
        * stg.column("amount").to_numpy(zero_copy_only=False),
    })
    daily = frame.groupby(["merchant_id", "currency", "day"], observed=True).agg(
        transaction_count=("signed", "size"), gross_amount=("signed", "sum")).reset_index()
    daily["gross_amount"] = daily["gross_amount"].round(2)
    daily["fee_amount"] = (daily["gross_amount"].abs() * 0.018).round(2)
    daily["net_amount"] = (daily["gross_amount"] - daily["fee_amount"]).round(2)
    ids = np.arange(1, len(daily) + 1)
    stage = pd.DataFrame({
        "settlement_id": ["S" + str(i).zfill(8) for i in ids],
        "batch_id": "settle-" + pd.to_datetime(daily["day"]).dt.strftime("%Y%m"),
        "merchant_id": daily["merchant_id"].astype(str), "settlement_date": daily["day"],
        "currency": daily["currency"].astype(str), "transaction_count": daily["transaction_count"],
        "gross_amount": daily["gross_amount"], "fee_amount": daily["fee_amount"],
        "net_amount": daily["net_amount"],
        "landed_ts": pd.to_datetime(daily["day"]) + pd.Timedelta(days=2),
    })
    recon = pd.DataFrame({
        "reconciliation_id": ["R" + str(i).zfill(8) for i in ids],
        "recon_date": daily["day"], "merchant_id": daily["merchant_id"].astype(str),
        "currency": daily["currency"].astype(str), "reported_count": daily["transaction_count"],
        "reported_amount": daily["gross_amount"], "landed_ts": stage["landed_ts"],
    })
    return stage, recon
