"""Demo rows for the cost source: daily usage, monthly roll-ups, forecasts, allocations.

``fact_cost_usage`` is the one source of truth: ``fact_monthly_costs`` is its
exact sum per month, cost centre, resource and region; allocations split the
monthly sums by the chargeback rules; the billing audit reconciles the daily
totals per account; forecasts are made from the months before the one they
forecast, so they miss by what a trailing trend would miss.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from services.demo.platform import sampling as s
from services.demo.platform.cost_reference import (
    ACCOUNT_BY_REGION,
    LEGACY_END_SHARE,
    RESOURCES,
    on,
    reference_frames,
)

LANDING_DAYS = 60
FORECAST_AHEAD_MONTHS = 3


def generate(rng: np.random.Generator, *, start: dt.date, end: dt.date, n_customers: int) -> dict[str, pd.DataFrame]:
    """Every cost table, keyed by schema-qualified name."""
    frames = reference_frames(rng, start, end)
    usage = _usage(rng, start, end, n_customers, frames["ref_price_catalog"], frames["ref_discounts"], frames["ref_rates"])
    corrections = _corrections(rng, usage, end)
    frames["fact_cost_usage"] = usage
    frames["stage_corrections"] = corrections
    monthly = monthly_costs(usage)
    frames["fact_monthly_costs"] = monthly
    frames["stage_forecasts"] = _forecasts(rng, monthly, end)
    allocations = _allocations(monthly, frames["ref_chargeback_rules"], end)
    frames["stage_allocations"] = allocations
    frames["audit_allocations"] = _allocation_audit(allocations, end)
    frames.update(_billing_files(usage, corrections, end))
    return s.keyed("cost", frames)


def _usage(rng, start, end, n_customers, prices: pd.DataFrame, discounts: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    day = s.days(start, end)
    weekday = (day.astype("int64") + 3) % 7
    month = day.astype("datetime64[M]")
    holiday = np.isin(month.astype("int64") % 12 + 1, (11, 12))
    trend = np.linspace(0.85, 1.2, len(day))
    parts = []
    for rid, _name, rtype, unit, sku, tag, lines, launch_share in RESOURCES:
        live = day >= np.datetime64(on(start, end, launch_share)) if launch_share > 0 else np.ones(len(day), bool)
        if rid == "res-sqlwh-legacy":
            live &= day < np.datetime64(on(start, end, LEGACY_END_SHARE))
        for cc, region, mean in lines:
            if rtype == "storage":
                # Stored terabytes grow with the customer base; a day is 1/days-in-month of a GB-month.
                stored_gb = (0.6 if region == "aws-eu-west-1" else 3.0) * max(n_customers, 1000) * np.linspace(0.7, 1.3, len(day))
                days_in_month = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(int)
                qty = stored_gb / days_in_month
            else:
                busy = np.where(weekday >= 5, 0.55 if rtype != "model_serving" else 1.2, 1.0)
                qty = mean * busy * trend * np.where(holiday, 1.3, 1.0) * rng.lognormal(0.0, 0.18, size=len(day))
            parts.append(pd.DataFrame({"usage_date": day[live], "resource_id": rid, "cost_center_id": cc, "region_id": region,
                                       "sku_name": sku, "resource_type": rtype, "usage_unit": unit, "tag_app": tag,
                                       "usage_quantity": np.round(qty[live], 4)}))
    usage = pd.concat(parts, ignore_index=True).sort_values(["usage_date", "resource_id", "cost_center_id", "region_id"], ignore_index=True)
    usage["billing_account_id"] = usage["region_id"].map(ACCOUNT_BY_REGION)
    price = _in_force(usage, prices.rename(columns={"effective_from": "f", "effective_to": "t"}), ["sku_name", "region_id"])
    usage["price_id"] = price["price_id"].to_numpy()
    list_usd = usage["usage_quantity"].to_numpy() * price["list_price_usd"].to_numpy()
    pct = _discount(usage, discounts)
    account_ccy = np.where(usage["billing_account_id"] == "ba-aws-eu", "EUR", "USD")
    rate_key = pd.Series(account_ccy) + "-" + pd.Series(s.ymd(usage["usage_date"].to_numpy())).str[:6]
    rate = rate_key.map(dict(zip(rates["rate_id"], rates["usd_per_unit"]))).to_numpy(dtype=float)
    # The vendor bills in the account's currency; usd follows from the month's rate.
    cost_amount = s.money(list_usd * (1 - pct) / rate)
    usage = usage.assign(
        list_cost_usd=s.money(list_usd),
        cost_amount=cost_amount,
        currency=account_ccy,
        cost_amount_usd=s.money(cost_amount * rate),
        start_ts=s.ts(usage["usage_date"].to_numpy()),
        end_ts=s.ts(usage["usage_date"].to_numpy() + s.DAY),
    )
    usage["usage_date"] = s.dates(usage["usage_date"])
    usage.insert(0, "usage_id", s.ids("use", len(usage), width=7))
    return usage.drop(columns=["resource_type"])[
        ["usage_id", "resource_id", "cost_center_id", "region_id", "usage_date", "sku_name", "price_id", "usage_quantity", "usage_unit",
         "list_cost_usd", "cost_amount", "currency", "cost_amount_usd", "start_ts", "end_ts", "billing_account_id", "tag_app"]
    ]


def _in_force(usage: pd.DataFrame, table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The row of ``table`` whose [f, t] validity covers each usage day, matched on ``keys``."""
    merged = usage[keys + ["usage_date"]].reset_index().merge(table, on=keys, how="left")
    day = pd.to_datetime(merged["usage_date"])
    ok = (day >= pd.to_datetime(merged["f"])) & (merged["t"].isna() | (day <= pd.to_datetime(merged["t"])))
    found = merged[ok].drop_duplicates("index").set_index("index").reindex(usage.index)
    if found.iloc[:, 0].isna().any():
        raise ValueError("usage day outside every validity period of the reference table")
    return found


def _discount(usage: pd.DataFrame, discounts: pd.DataFrame) -> np.ndarray:
    """The discount that applies to each row: a resource-type discount beats the account-wide one."""
    day = pd.to_datetime(usage["usage_date"]).to_numpy()
    rtype = usage["resource_type"].to_numpy()
    account = usage["billing_account_id"].to_numpy()
    pct = np.zeros(len(usage))
    specific = np.zeros(len(usage), bool)
    for d in discounts.sort_values("resource_type", na_position="first").itertuples(index=False):
        covers = (account == d.billing_account_id) & (day >= np.datetime64(d.effective_from))
        if d.effective_to is not None and not pd.isna(d.effective_to):
            covers &= day <= np.datetime64(d.effective_to)
        if d.resource_type is None or pd.isna(d.resource_type):
            covers &= ~specific
        else:
            covers &= rtype == d.resource_type
            specific |= covers
        pct = np.where(covers, d.discount_pct, pct)
    return pct


def monthly_costs(usage: pd.DataFrame) -> pd.DataFrame:
    """``fact_monthly_costs``: the exact sum of ``fact_cost_usage`` per month, cost centre, resource and region."""
    month = pd.to_datetime(usage["usage_date"]).dt.to_period("M").dt.start_time
    grouped = usage.assign(month_start=month).groupby(["month_start", "cost_center_id", "resource_id", "region_id"], as_index=False).agg(
        cost_amount_usd=("cost_amount_usd", "sum"), usage_quantity=("usage_quantity", "sum"), record_count=("usage_id", "size"))
    grouped["cost_amount_usd"] = s.money(grouped["cost_amount_usd"])
    grouped["usage_quantity"] = grouped["usage_quantity"].round(4)
    grouped["record_count"] = grouped["record_count"].astype("int64")
    grouped["month_start"] = s.dates(grouped["month_start"])
    return grouped


def _forecasts(rng: np.random.Generator, monthly: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    actual = monthly.groupby(["cost_center_id", "resource_id", "month_start"])["cost_amount_usd"].sum()
    last_month = max(monthly["month_start"])
    future = [(pd.Timestamp(last_month) + pd.DateOffset(months=k)).date() for k in range(1, FORECAST_AHEAD_MONTHS + 1)]
    rows = []
    for (cc, rid), series in actual.groupby(level=[0, 1], sort=True):
        months = list(series.index.get_level_values(2))
        values = series.to_numpy()
        # Resources still running at the as-of date also get forecasts for the months ahead.
        targets = months + (future if months[-1] == last_month else [])
        for k, target in enumerate(targets):
            seen = min(k, len(months))
            before = values[max(0, seen - 3):seen]
            if len(before) >= 2:
                slope = (before[-1] - before[0]) / (len(before) - 1)
                steps_ahead = (len(before) + 1) / 2 + (k - seen)
                value, method = before.mean() + slope * steps_ahead, "trailing_3m_trend"
            else:
                value, method = values[0] * rng.uniform(0.8, 1.2), "budget"
            value = max(value * rng.normal(1.0, 0.04), 0.0)
            # Months past the as-of date were forecast on the as-of date itself.
            made = min(pd.Timestamp(target) - pd.Timedelta(days=6), pd.Timestamp(end)) + pd.Timedelta(hours=9)
            rows.append((f"fc-{target:%Y%m}-{cc}-{rid}", target, cc, rid, value, value * 0.85, value * 1.15, made, method))
    frame = pd.DataFrame(rows, columns=["forecast_id", "month_start", "cost_center_id", "resource_id", "forecast_amount_usd",
                                        "lower_bound_usd", "upper_bound_usd", "forecast_made_ts", "method"])
    for column in ("forecast_amount_usd", "lower_bound_usd", "upper_bound_usd"):
        frame[column] = s.money(frame[column])
    return frame.sort_values(["month_start", "cost_center_id", "resource_id"], ignore_index=True)


def _allocations(monthly: pd.DataFrame, rules: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    by_type = {r[0]: r[2] for r in RESOURCES}
    source = monthly.groupby(["month_start", "cost_center_id", "resource_id"], as_index=False)["cost_amount_usd"].sum()
    source["resource_type"] = source["resource_id"].map(by_type)
    merged = source.merge(rules, left_on=["cost_center_id", "resource_type"], right_on=["source_cost_center_id", "resource_type"])
    month = pd.to_datetime(merged["month_start"])
    live = (month >= pd.to_datetime(merged["effective_from"]).dt.to_period("M").dt.start_time) & (
        merged["effective_to"].isna() | (month <= pd.to_datetime(merged["effective_to"])))
    merged = merged[live].sort_values(["month_start", "rule_id", "resource_id"], ignore_index=True)
    run = pd.to_datetime(merged["month_start"]) + pd.DateOffset(months=1) + pd.Timedelta(days=2, hours=4)
    return pd.DataFrame({
        "allocation_id": s.join("alloc-", s.ymd(pd.to_datetime(merged["month_start"]).to_numpy()), "-", merged["rule_id"].to_numpy(), "-",
                                merged["resource_id"].to_numpy()),
        "month_start": merged["month_start"].to_numpy(),
        "rule_id": merged["rule_id"].to_numpy(),
        "resource_id": merged["resource_id"].to_numpy(),
        "source_cost_center_id": merged["source_cost_center_id"].to_numpy(),
        "target_cost_center_id": merged["target_cost_center_id"].to_numpy(),
        "allocation_pct": merged["allocation_pct"].to_numpy(),
        "source_amount_usd": s.money(merged["cost_amount_usd"]),
        "allocated_amount_usd": s.money(merged["cost_amount_usd"] * merged["allocation_pct"]),
        "allocated_ts": run.clip(upper=pd.Timestamp(end) + pd.Timedelta(hours=23)).to_numpy(),
    })


def _allocation_audit(allocations: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    sources = allocations.drop_duplicates(["month_start", "source_cost_center_id", "resource_id"]).groupby("month_start")["source_amount_usd"].sum()
    per_month = allocations.groupby("month_start").agg(rule_count=("rule_id", "nunique"), allocated_amount_usd=("allocated_amount_usd", "sum"),
                                                       run_ts=("allocated_ts", "max"))
    audit = per_month.join(sources).reset_index()
    audit["source_amount_usd"] = s.money(audit["source_amount_usd"])
    audit["allocated_amount_usd"] = s.money(audit["allocated_amount_usd"])
    audit["unallocated_amount_usd"] = s.money(audit["source_amount_usd"] - audit["allocated_amount_usd"])
    audit["rule_count"] = audit["rule_count"].astype("int32")
    audit["status"] = "succeeded"
    audit.insert(0, "audit_id", s.join("aalloc-", s.ymd(pd.to_datetime(audit["month_start"]).to_numpy())))
    return audit[["audit_id", "month_start", "rule_count", "source_amount_usd", "allocated_amount_usd", "unallocated_amount_usd", "status", "run_ts"]]


def _corrections(rng: np.random.Generator, usage: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """Vendor credits and re-bills on US-account rows; applied ones are already in the usage amounts."""
    candidates = usage.index[(usage["currency"] == "USD") & (usage["cost_amount_usd"] > 5)]
    picked = np.sort(rng.choice(candidates, size=min(30, len(candidates)), replace=False))
    rows = usage.loc[picked]
    n = len(rows)
    kind = s.pick(rng, ["credit", "rebill", "late_usage"], n, p=[0.5, 0.3, 0.2])
    factor = np.where(kind == "credit", -rng.uniform(0.05, 0.3, size=n), rng.uniform(0.02, 0.15, size=n))
    current = rows["cost_amount_usd"].to_numpy()
    delta = s.money(current * factor)
    usage_day = pd.to_datetime(rows["usage_date"]).to_numpy()
    requested = usage_day + np.timedelta64(3, "D") + np.timedelta64(10, "h")
    applied_at = requested + np.timedelta64(4, "D")
    applied = applied_at <= np.datetime64(end) + np.timedelta64(1, "D")
    return pd.DataFrame({
        "correction_id": s.ids("corr", n, width=4),
        "usage_id": rows["usage_id"].to_numpy(),
        "billing_account_id": rows["billing_account_id"].to_numpy(),
        "correction_type": kind,
        # An applied correction is already in the usage amount; a pending one will move it.
        "original_amount_usd": np.where(applied, s.money(current - delta), current),
        "corrected_amount_usd": np.where(applied, current, s.money(current + delta)),
        "delta_usd": delta,
        "reason": np.select([kind == "credit", kind == "rebill"], ["SLA credit for a service degradation", "re-rated at corrected SKU price"],
                            "usage reported late by the vendor"),
        "requested_ts": s.ts(requested),
        "applied_ts": s.ts(np.where(applied, applied_at, np.datetime64("NaT"))),
        "status": np.where(applied, "applied", "pending"),
    })


def _billing_files(usage: pd.DataFrame, corrections: pd.DataFrame, end: dt.date) -> dict[str, pd.DataFrame]:
    """Daily billing files per account: audits for every day, landed lines for the last days."""
    applied = corrections[corrections["status"] == "applied"].set_index("usage_id")["delta_usd"]
    # The file as first delivered carried the amounts before any correction.
    usage = usage.assign(delivered=s.money(usage["cost_amount"] - usage["usage_id"].map(applied).fillna(0.0)))
    daily = usage.groupby(["billing_account_id", "usage_date"], as_index=False).agg(
        source_rows=("usage_id", "size"), source_total=("delivered", "sum"), target_total=("cost_amount", "sum"))
    day = pd.to_datetime(daily["usage_date"])
    batch = s.join("bill-", daily["billing_account_id"].to_numpy(), "-", s.ymd(day.to_numpy()))
    started = day + pd.Timedelta(hours=30)
    source_total, target_total = s.money(daily["source_total"]), s.money(daily["target_total"])
    audit = pd.DataFrame({
        "audit_id": s.join("abill-", batch),
        "batch_id": batch,
        "billing_account_id": daily["billing_account_id"],
        "billing_date": daily["usage_date"],
        "source_file": s.join("s3://billing-exports/", daily["billing_account_id"].to_numpy(), "/", s.ymd(day.to_numpy()), ".csv.gz"),
        "source_rows": daily["source_rows"].astype("int64"),
        "target_rows": daily["source_rows"].astype("int64"),
        "source_total": source_total,
        "target_total": target_total,
        "source_checksum": s.digest(s.join(batch, ":", source_total)),
        "target_checksum": s.digest(s.join(batch, ":", target_total)),
        "status": np.where(source_total == target_total, "matched", "corrected"),
        "started_ts": started,
        "finished_ts": started + pd.Timedelta(minutes=3),
    })
    recent = usage[pd.to_datetime(usage["usage_date"]) > pd.Timestamp(end) - pd.Timedelta(days=LANDING_DAYS)].copy()
    recent["batch_id"] = s.join("bill-", recent["billing_account_id"].to_numpy(), "-", s.ymd(pd.to_datetime(recent["usage_date"]).to_numpy()))
    recent["line_number"] = recent.groupby("batch_id").cumcount().astype("int64") + 1
    tags = '{"app":"' + recent["tag_app"] + '","cost_center":"' + recent["cost_center_id"] + '"}'
    line = (recent["billing_account_id"] + "," + recent["sku_name"] + "," + recent["usage_date"].astype(str) + ","
            + recent["usage_quantity"].astype(str) + "," + recent["usage_unit"] + "," + recent["delivered"].map("{:.2f}".format)
            + "," + recent["currency"] + ",'" + tags + "'")
    landed = pd.to_datetime(recent["usage_date"]) + pd.Timedelta(hours=29)
    stg = pd.DataFrame({"batch_id": recent["batch_id"], "source_file": s.join("s3://billing-exports/", recent["batch_id"].to_numpy(), ".csv.gz"),
                        "line_number": recent["line_number"], "raw_line": line, "landed_ts": landed})
    raw = pd.DataFrame({
        "raw_billing_id": s.join(recent["batch_id"].to_numpy(), ":", recent["line_number"].to_numpy()),
        "batch_id": recent["batch_id"], "line_number": recent["line_number"], "billing_account_id": recent["billing_account_id"],
        "sku_name": recent["sku_name"], "usage_date": recent["usage_date"], "usage_quantity": recent["usage_quantity"],
        "usage_unit": recent["usage_unit"], "billed_cost": recent["delivered"], "currency": recent["currency"], "tags_json": tags,
        "parse_status": "parsed", "parsed_ts": landed + pd.Timedelta(minutes=20),
    })
    return {"audit_billing_ingest": audit, "stg_billing_records": stg.reset_index(drop=True), "raw_billing": raw.reset_index(drop=True)}
