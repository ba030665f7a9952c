"""Demo customers: who they are, how they behave, and how their records change.

Behaviour (purchase rate, channel mix, favourite category, spend level, refund
and discount habits) stays in memory for the transaction generator. Identity
and attributes become the customer CDC feed (ingest ``stage_cdc``): one insert
image when the customer signs up, then full-image updates when they move,
change tier, email or opt-ins (and a few resends that change nothing, which
SCD2 must not turn into versions). All PII is plainly fake: example.com
emails, area-code-555 and drama-range phone numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from services.demo.assortment import CATEGORIES, CITIES, COUNTRIES

FIRST_NAMES = np.array(
    "Ada Alan Alice Ben Bruno Carla Chen Dana Diego Elena Emil Farah Femi Grace Hana Ivan Jade Jonas "
    "Kofi Lena Liam Maya Mei Nadia Noah Omar Olga Pablo Priya Quinn Rosa Sami Sara Tariq Uma Vera "
    "Wim Xena Yusuf Zoe".split()
)
LAST_NAMES = np.array(
    "Abbott Berg Castillo Dubois Eriksen Fischer Garcia Haddad Ito Jensen Kowalski Larsen Moreau "
    "Novak Okafor Petrov Quist Rossi Schmidt Tanaka Ueda Varga Weber Xu Yilmaz Zimmer Lindqvist "
    "Moreno Nakamura Osei".split()
)
STREETS = np.array("Oak Maple Cedar Elm Birch Willow Lake Hill Park River Station Market".split())
TIERS = np.array(["none", "bronze", "silver", "gold", "platinum"])
CHANNEL_CODES = np.array(["web", "app", "store"])
CATEGORY_NAMES = np.array(list(CATEGORIES))
CDC_COLUMNS = [
    "change_id", "source_system_id", "customer_id", "op", "change_ts", "first_name", "last_name",
    "email", "phone", "address_line", "city", "region", "postal_code", "country", "birth_date",
    "gender", "loyalty_tier", "email_opt_in", "sms_opt_in", "push_opt_in", "batch_id", "landed_ts",
]


@dataclass(frozen=True)
class Population:
    """Per-customer behaviour, index-aligned arrays (one entry per customer)."""

    customer_id: np.ndarray      # str
    country: np.ndarray          # str
    currency: np.ndarray         # str
    region: np.ndarray           # str (region at signup; used to pick stores)
    signup_day: np.ndarray       # int, days from the window start (negative: before it)
    churn_day: np.ndarray        # int, last day the customer may buy
    daily_rate: np.ndarray       # float, expected purchases per day while active
    channel_cum: np.ndarray      # (n, 3) cumulative channel probabilities web/app/store
    favourite: np.ndarray        # int, index into CATEGORY_NAMES
    favourite_share: np.ndarray  # float, probability a purchase is in the favourite category
    spend_level: np.ndarray      # float, multiplies basket size (heavy tailed)
    refund_prob: np.ndarray      # float, chance a purchase is refunded
    discount_prob: np.ndarray    # float, chance a purchase uses a discount


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return (prefix + pd.Series(numbers).astype(str).str.zfill(width)).to_numpy()


def population(rng: np.random.Generator, n: int, *, days: int, mean_purchases: float) -> Population:
    codes = np.array(list(COUNTRIES))
    shares = np.array([COUNTRIES[c][0] for c in codes])
    country = codes[rng.choice(len(codes), n, p=shares / shares.sum())]
    currency = pd.Series(country).map({c: COUNTRIES[c][1] for c in codes}).to_numpy()
    region = np.empty(n, dtype=object)
    for c in codes:
        mask = country == c
        regions = np.array(COUNTRIES[c][2])
        region[mask] = regions[rng.integers(0, len(regions), mask.sum())]
    # A third of the base signed up before the data window starts.
    signup_day = rng.integers(-365, days - 7, n)
    lifetime = rng.exponential(700.0, n).astype(int) + 30
    churn_day = np.minimum(np.maximum(signup_day, 0) + lifetime, days - 1)
    active_days = np.maximum(churn_day - np.maximum(signup_day, 0) + 1, 1)
    base_rate = rng.lognormal(0.0, 1.0, n)
    # Scale so the expected number of purchases per customer is mean_purchases.
    daily_rate = base_rate * (mean_purchases * n / float((base_rate * active_days).sum()))
    older = rng.random(n) < 0.4
    alpha = np.where(older[:, None], [1.0, 0.6, 3.0], [2.0, 2.0, 1.0])
    channel_p = rng.gamma(alpha)
    channel_p /= channel_p.sum(axis=1, keepdims=True)
    cat_share = np.array([CATEGORIES[c][0] for c in CATEGORY_NAMES])
    favourite = rng.choice(len(CATEGORY_NAMES), n, p=cat_share / cat_share.sum())
    return Population(
        customer_id=_ids("C", np.arange(1, n + 1), 7),
        country=country,
        currency=currency,
        region=region,
        signup_day=signup_day,
        churn_day=churn_day,
        daily_rate=daily_rate,
        channel_cum=np.cumsum(channel_p, axis=1),
        favourite=favourite,
        favourite_share=rng.beta(3, 3, n),
        spend_level=rng.lognormal(0.0, 0.6, n),
        refund_prob=np.where(rng.random(n) < 0.05, rng.uniform(0.2, 0.45, n), rng.uniform(0.0, 0.06, n)),
        discount_prob=np.where(rng.random(n) < 0.15, rng.uniform(0.6, 0.95, n), rng.uniform(0.05, 0.3, n)),
    )


def _phone(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    n = len(country)
    digits = pd.Series(rng.integers(0, 10000, n)).astype(str).str.zfill(4)
    two = pd.Series(rng.integers(0, 100, n)).astype(str).str.zfill(2)
    # Fictional ranges: area code 555 in North America, Ofcom's drama range in the UK. A North
    # American number has ten digits after the +1 (three area, seven local): libphonenumber
    # rejects the eleven an earlier version wrote.
    formats = {
        "US": "+1 (555) 01" + two.str[:1] + "-" + digits,
        "CA": "+1 555-01" + two.str[:1] + "-" + digits,
        "GB": "+44 7700 900" + digits.str[:3],
        "DE": "+49 0155 5" + two + digits,
        "FR": "+33 6 99 " + two + " " + digits.str[:2] + " " + digits.str[2:],
    }
    out = np.empty(n, dtype=object)
    for code, values in formats.items():
        mask = country == code
        out[mask] = values.to_numpy()[mask]
    return out


def _images(rng: np.random.Generator, pop: Population) -> pd.DataFrame:
    n = len(pop.customer_id)
    first = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), n)]
    last = LAST_NAMES[rng.integers(0, len(LAST_NAMES), n)]
    number = pd.Series(np.arange(1, n + 1)).astype(str)
    email = (pd.Series(first).str.lower() + "." + pd.Series(last).str.lower() + number + "@example.com").to_numpy()
    city_idx = rng.integers(0, 3, n)
    city = np.array([CITIES[r][i % len(CITIES[r])] for r, i in zip(pop.region, city_idx)], dtype=object)
    age_days = (rng.beta(2.2, 3.0, n) * 62 + 18) * 365.25
    birth = (np.datetime64("2026-10-31") - age_days.astype("timedelta64[D]")).astype("datetime64[D]")
    return pd.DataFrame(
        {
            "customer_id": pop.customer_id,
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": _phone(rng, pop.country),
            "address_line": (pd.Series(rng.integers(1, 400, n)).astype(str) + " "
                             + STREETS[rng.integers(0, len(STREETS), n)] + " Street").to_numpy(),
            "city": city,
            "region": pop.region,
            "postal_code": pd.Series(rng.integers(10000, 99999, n)).astype(str).to_numpy(),
            "country": pop.country,
            "birth_date": pd.to_datetime(birth).date,
            "gender": np.array(["F", "M", "X", None], dtype=object)[rng.choice(4, n, p=[0.49, 0.45, 0.02, 0.04])],
            "loyalty_tier": TIERS[rng.choice(3, n, p=[0.5, 0.35, 0.15])],
            "email_opt_in": rng.random(n) < 0.62,
            "sms_opt_in": rng.random(n) < 0.31,
            "push_opt_in": rng.random(n) < 0.4,
        }
    )


def cdc_feed(rng: np.random.Generator, pop: Population, *, start: date, days: int) -> pd.DataFrame:
    """Customer change records: an insert per customer, then full-image updates."""
    n = len(pop.customer_id)
    current = _images(rng, pop)
    base = np.datetime64(start, "s")
    signup_ts = base + (pop.signup_day * 86400 + rng.integers(0, 86400, n)).astype("timedelta64[s]")
    frames = [current.assign(op="I", change_ts=signup_ts, source_system_id="crm")]
    n_updates = rng.choice(4, n, p=[0.62, 0.24, 0.10, 0.04])
    last_ts = signup_ts
    for rank in range(1, 4):
        who = np.flatnonzero(n_updates >= rank)
        if len(who) == 0:
            break
        end_ts = base + np.timedelta64(days * 86400 - 1, "s")
        span = (end_ts - last_ts[who]).astype(np.int64)
        ts = last_ts[who] + (rng.random(len(who)) * np.maximum(span, 1) * 0.6).astype("timedelta64[s]") + np.timedelta64(3600, "s")
        image = current.iloc[who].copy()
        kind = rng.choice(5, len(who), p=[0.25, 0.30, 0.12, 0.23, 0.10])
        move = kind == 0
        if move.any():
            new_region = np.empty(move.sum(), dtype=object)
            countries = image["country"].to_numpy()[move]
            for c in np.unique(countries):
                regions = np.array(COUNTRIES[c][2])
                mask = countries == c
                new_region[mask] = regions[rng.integers(0, len(regions), mask.sum())]
            image.loc[image.index[move], "region"] = new_region
            image.loc[image.index[move], "city"] = [CITIES[r][0] for r in new_region]
            image.loc[image.index[move], "postal_code"] = pd.Series(rng.integers(10000, 99999, move.sum())).astype(str).to_numpy()
            image.loc[image.index[move], "address_line"] = (
                pd.Series(rng.integers(1, 400, move.sum())).astype(str) + " New Road").to_numpy()
        tier = kind == 1
        if tier.any():
            idx = np.searchsorted(TIERS, image["loyalty_tier"].to_numpy()[tier], sorter=np.argsort(TIERS))
            order = np.argsort(TIERS)
            position = order[idx]
            image.loc[image.index[tier], "loyalty_tier"] = TIERS[np.minimum(position + 1, len(TIERS) - 1)]
        mail = kind == 2
        if mail.any():
            image.loc[image.index[mail], "email"] = (
                "new." + image["email"].to_numpy()[mail].astype(str)).tolist()
        opt = kind == 3
        if opt.any():
            image.loc[image.index[opt], "email_opt_in"] = ~image["email_opt_in"].to_numpy()[opt].astype(bool)
            image.loc[image.index[opt], "sms_opt_in"] = ~image["sms_opt_in"].to_numpy()[opt].astype(bool)
        # kind 4: a resend of the unchanged record.
        current.iloc[who] = image.to_numpy()
        frames.append(image.assign(op="U", change_ts=ts, source_system_id="crm"))
        last_ts = last_ts.copy()
        last_ts[who] = ts
    feed = pd.concat(frames, ignore_index=True)
    feed["change_id"] = _ids("CDC", np.arange(1, len(feed) + 1), 9)
    month = pd.to_datetime(feed["change_ts"]).dt.strftime("%Y%m")
    feed["batch_id"] = "cdc-" + month
    feed["landed_ts"] = pd.to_datetime(feed["change_ts"]) + pd.Timedelta(hours=2)
    return feed[CDC_COLUMNS]
