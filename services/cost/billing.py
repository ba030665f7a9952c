"""What the data platform costs, month by month, and what the app's own queries cost.

Monthly figures read ``fact_monthly_costs`` (the exact monthly roll-up of the
daily ``fact_cost_usage``) through ``sql/cost/monthly_costs_named.sql``;
forecasts come from ``stage_forecasts``; the app's tagged footprint and list
prices need the daily fact (``sql/cost/usage_by_month.sql``). Every month is
a ``datetime.date`` on the first of the month; money is USD, rounded to cents.

The query-log half (``app_query_costs``, ``estimate_action_cost``) prices
warehouse time: a query that ran for ``d`` seconds on a warehouse billed at
``p`` USD an hour cost ``d / 3600 * p``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd
from sqlglot import exp

from services import naming, sqlfiles
from services.errors import SpecError
from services.warehouse import Warehouse, querylog

#: the ``tag_app`` value on the app's own resources
APP_TAG = "segment_studio"

#: grouping name -> (id column, label column) in monthly_costs_named.sql
DIMENSIONS: dict[str, tuple[str, str]] = {
    "cost_center": ("cost_center_id", "cost_center_name"),
    "resource": ("resource_id", "resource_name"),
    "resource_type": ("resource_type", "resource_type"),
    "region": ("region_id", "region_name"),
}


def _date(value: dt.date) -> exp.Expression:
    return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("date"))


def month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    first = month_start(month)
    return (first - dt.timedelta(days=1)).replace(day=1)


def _named() -> exp.Expression:
    return sqlfiles.query("cost/monthly_costs_named.sql").subquery("named")


def _dimension(by: str) -> tuple[str, str]:
    if by not in DIMENSIONS:
        raise SpecError(f"cannot group cost by {by!r}; choose one of {', '.join(DIMENSIONS)}")
    return DIMENSIONS[by]


def _money(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float).round(2)
    return frame


def _as_date(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.date


# -- actuals -----------------------------------------------------------------
def months(warehouse: Warehouse) -> list[dt.date]:
    """Months with actual cost, newest first."""
    query = (exp.select("month_start").distinct()
             .from_(exp.to_table(naming.fq("cost", "fact_monthly_costs")))
             .order_by(exp.column("month_start").desc()))
    return list(_as_date(warehouse.df(query)["month_start"]))


def monthly_costs(warehouse: Warehouse, *, by: str) -> pd.DataFrame:
    """Cost per month and ``by`` (cost_center, resource, resource_type, region).

    Columns: month_start, key, name, cost_usd; sorted by month, then cost.
    """
    key, name = _dimension(by)
    query = (exp.select(exp.column("month_start"), exp.column(key).as_("key"), exp.column(name).as_("name"),
                        exp.func("sum", exp.column("cost_amount_usd")).as_("cost_usd"))
             .from_(_named())
             .group_by(exp.column("month_start"), exp.column(key), exp.column(name))
             .order_by(exp.column("month_start"), exp.column("cost_usd").desc()))
    frame = warehouse.df(query)
    frame["month_start"] = _as_date(frame["month_start"])
    return _money(frame, "cost_usd")


def costs_in_month(warehouse: Warehouse, month: dt.date, *, by: str) -> pd.DataFrame:
    """Cost of one month per ``by`` with its share of the month: key, name, cost_usd, share."""
    key, name = _dimension(by)
    query = (exp.select(exp.column(key).as_("key"), exp.column(name).as_("name"),
                        exp.func("sum", exp.column("cost_amount_usd")).as_("cost_usd"))
             .from_(_named())
             .where(exp.column("month_start").eq(_date(month_start(month))))
             .group_by(exp.column(key), exp.column(name)))
    frame = _money(warehouse.df(query), "cost_usd")
    total = frame["cost_usd"].sum()
    frame["share"] = frame["cost_usd"] / total if total else 0.0
    return frame.sort_values(["cost_usd", "key"], ascending=[False, True], ignore_index=True)


def forecast_vs_actual(warehouse: Warehouse) -> pd.DataFrame:
    """Per month: forecast_usd, lower_usd, upper_usd, actual_usd, variance_usd, variance_pct.

    Variance is actual minus forecast (positive: the month cost more than
    forecast); NaN where either side is missing.
    """
    frame = warehouse.df(sqlfiles.render(sqlfiles.query("cost/forecast_vs_actual.sql"), warehouse.dialect))
    frame["month_start"] = _as_date(frame["month_start"])
    frame = _money(frame, "forecast_usd", "lower_usd", "upper_usd", "actual_usd")
    frame["variance_usd"] = (frame["actual_usd"] - frame["forecast_usd"]).round(2)
    frame["variance_pct"] = frame["variance_usd"] / frame["forecast_usd"].where(frame["forecast_usd"] != 0)
    return frame.sort_values("month_start", ignore_index=True)


@dataclass(frozen=True)
class MonthSummary:
    """The headline figures of one month."""

    month: dt.date
    total_usd: float
    previous_month: dt.date
    previous_total_usd: float | None
    forecast_usd: float | None

    @property
    def mom_change_usd(self) -> float | None:
        return None if self.previous_total_usd is None else round(self.total_usd - self.previous_total_usd, 2)

    @property
    def mom_change_pct(self) -> float | None:
        if not self.previous_total_usd:
            return None
        return (self.total_usd - self.previous_total_usd) / self.previous_total_usd

    @property
    def forecast_variance_usd(self) -> float | None:
        return None if self.forecast_usd is None else round(self.total_usd - self.forecast_usd, 2)

    @property
    def forecast_variance_pct(self) -> float | None:
        if not self.forecast_usd:
            return None
        return (self.total_usd - self.forecast_usd) / self.forecast_usd


def month_summary(warehouse: Warehouse, month: dt.date) -> MonthSummary:
    """Total, month-over-month change and forecast of ``month``."""
    month = month_start(month)
    by_month = forecast_vs_actual(warehouse).set_index("month_start")

    def value(when: dt.date, column: str) -> float | None:
        if when not in by_month.index or pd.isna(by_month.at[when, column]):
            return None
        return float(by_month.at[when, column])

    return MonthSummary(month=month, total_usd=value(month, "actual_usd") or 0.0,
                        previous_month=previous_month(month),
                        previous_total_usd=value(previous_month(month), "actual_usd"),
                        forecast_usd=value(month, "forecast_usd"))


def top_drivers(warehouse: Warehouse, month: dt.date, *, by: str = "resource", limit: int = 10) -> pd.DataFrame:
    """The largest ``by`` in ``month`` with their change from the month before.

    Columns: key, name, cost_usd, share, previous_usd, change_usd, change_pct;
    largest cost first. Something new this month has previous_usd 0 and no change_pct.
    """
    current = costs_in_month(warehouse, month, by=by)
    before = costs_in_month(warehouse, previous_month(month), by=by)[["key", "cost_usd"]]
    merged = current.merge(before.rename(columns={"cost_usd": "previous_usd"}), on="key", how="left")
    merged["previous_usd"] = merged["previous_usd"].fillna(0.0)
    merged["change_usd"] = (merged["cost_usd"] - merged["previous_usd"]).round(2)
    merged["change_pct"] = merged["change_usd"] / merged["previous_usd"].where(merged["previous_usd"] != 0)
    return merged.head(limit).reset_index(drop=True)


def largest_increases(warehouse: Warehouse, month: dt.date, *, by: str = "resource", limit: int = 10) -> pd.DataFrame:
    """What grew most against the month before, including what stopped (negative) last.

    Same columns as ``top_drivers``; sorted by change_usd, largest increase first,
    only rows that increased.
    """
    current = costs_in_month(warehouse, month, by=by)[["key", "name", "cost_usd"]]
    before = costs_in_month(warehouse, previous_month(month), by=by)[["key", "name", "cost_usd"]]
    merged = current.merge(before, on="key", how="outer", suffixes=("", "_before"))
    merged["name"] = merged["name"].fillna(merged["name_before"])
    merged["cost_usd"] = merged["cost_usd"].fillna(0.0)
    merged["previous_usd"] = merged["cost_usd_before"].fillna(0.0)
    merged["change_usd"] = (merged["cost_usd"] - merged["previous_usd"]).round(2)
    merged["change_pct"] = merged["change_usd"] / merged["previous_usd"].where(merged["previous_usd"] != 0)
    grew = merged[merged["change_usd"] > 0].sort_values(["change_usd", "key"], ascending=[False, True])
    return grew[["key", "name", "cost_usd", "previous_usd", "change_usd", "change_pct"]].head(limit).reset_index(drop=True)


# -- price and discount context ------------------------------------------------
def _usage_by_month() -> exp.Expression:
    return sqlfiles.query("cost/usage_by_month.sql").subquery("usage_by_month")


def price_context(warehouse: Warehouse, month: dt.date) -> pd.DataFrame:
    """Per resource type in ``month``: usage, list cost, net cost and the effective discount."""
    query = (exp.select(exp.column("resource_type"),
                        exp.func("sum", exp.column("usage_quantity")).as_("usage_quantity"),
                        exp.func("sum", exp.column("list_cost_usd")).as_("list_cost_usd"),
                        exp.func("sum", exp.column("cost_amount_usd")).as_("net_cost_usd"))
             .from_(_usage_by_month())
             .where(exp.column("month_start").eq(_date(month_start(month))))
             .group_by(exp.column("resource_type")))
    frame = _money(warehouse.df(query), "list_cost_usd", "net_cost_usd")
    frame["usage_quantity"] = frame["usage_quantity"].astype(float).round(2)
    # Net below list is the negotiated discount (and exchange-rate drift on non-USD accounts).
    frame["effective_discount"] = 1 - frame["net_cost_usd"] / frame["list_cost_usd"].where(frame["list_cost_usd"] != 0)
    return frame.sort_values("net_cost_usd", ascending=False, ignore_index=True)


def discounts_in_force(warehouse: Warehouse, month: dt.date) -> pd.DataFrame:
    """Negotiated discounts valid on any day of ``month``."""
    first = month_start(month)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    query = (exp.select("discount_id", "billing_account_id", "resource_type", "discount_pct", "commitment_usd",
                        "description", "effective_from", "effective_to")
             .from_(exp.to_table(naming.fq("cost", "ref_discounts")))
             .where(exp.and_(exp.column("effective_from") <= _date(last),
                             exp.or_(exp.column("effective_to").is_(exp.null()), exp.column("effective_to") >= _date(first)))))
    return warehouse.df(query.order_by("billing_account_id", "discount_id"))


# -- the app's own footprint ----------------------------------------------------
def app_footprint(warehouse: Warehouse) -> pd.DataFrame:
    """The app's tagged resources per month: month_start, resource_id, resource_name, cost_usd, share_of_month.

    share_of_month is the app's cost over the whole platform's cost that month.
    """
    tagged = (exp.select(exp.column("month_start"), exp.column("resource_id"), exp.column("resource_name"),
                         exp.func("sum", exp.column("cost_amount_usd")).as_("cost_usd"))
              .from_(_usage_by_month())
              .where(exp.column("tag_app").eq(exp.convert(APP_TAG)))
              .group_by(exp.column("month_start"), exp.column("resource_id"), exp.column("resource_name"))
              .order_by(exp.column("month_start"), exp.column("resource_id")))
    frame = _money(warehouse.df(tagged), "cost_usd")
    frame["month_start"] = _as_date(frame["month_start"])
    totals = forecast_vs_actual(warehouse).set_index("month_start")["actual_usd"]
    month_total = frame.groupby("month_start")["cost_usd"].transform("sum")
    frame["share_of_month"] = month_total / frame["month_start"].map(totals)
    return frame


# -- what the app's queries cost ---------------------------------------------------
class ActionEstimate(NamedTuple):
    """How long an action should take and what that warehouse time costs."""

    duration_s: float
    cost_usd: float


def _check_price(price_per_warehouse_hour: float) -> None:
    if price_per_warehouse_hour is None or price_per_warehouse_hour < 0:
        raise SpecError(f"the price per warehouse-hour must be zero or more, got {price_per_warehouse_hour!r}")


def estimate_action_cost(duration_s: float, price_per_warehouse_hour: float) -> ActionEstimate:
    """(duration, cost) of an action expected to keep the warehouse busy ``duration_s`` seconds."""
    _check_price(price_per_warehouse_hour)
    if duration_s is None or duration_s < 0:
        raise SpecError(f"an expected duration must be zero seconds or more, got {duration_s!r}")
    return ActionEstimate(duration_s=float(duration_s), cost_usd=duration_s / 3600.0 * price_per_warehouse_hour)


@dataclass(frozen=True)
class AppQueryCosts:
    """Logged query time priced per page and per segment."""

    price_per_warehouse_hour: float
    queries: int
    duration_s: float
    cost_usd: float
    #: page, queries, rows, duration_s, cost_usd; most expensive first
    by_page: pd.DataFrame
    #: segment_id, queries, rows, duration_s, cost_usd; queries without a segment are left out
    by_segment: pd.DataFrame


def _priced(entries: pd.DataFrame, key: str, price: float) -> pd.DataFrame:
    grouped = entries.groupby(key, as_index=False).agg(queries=("kind", "size"), rows=("rows", "sum"),
                                                      duration_s=("duration_s", "sum"))
    grouped["cost_usd"] = grouped["duration_s"] / 3600.0 * price
    return grouped.sort_values(["cost_usd", key], ascending=[False, True], ignore_index=True)


def app_query_costs(warehouse: Warehouse, *, price_per_warehouse_hour: float) -> AppQueryCosts:
    """Cost of the app's logged queries: summed duration times the price per warehouse-hour."""
    _check_price(price_per_warehouse_hour)
    entries = querylog.read_entries(warehouse)
    entries["duration_s"] = entries["duration_ms"].astype(float) / 1000.0
    entries["page"] = entries["page"].replace("", "(no page)")
    total_s = float(entries["duration_s"].sum())
    return AppQueryCosts(
        price_per_warehouse_hour=price_per_warehouse_hour,
        queries=len(entries),
        duration_s=total_s,
        cost_usd=total_s / 3600.0 * price_per_warehouse_hour,
        by_page=_priced(entries, "page", price_per_warehouse_hour),
        by_segment=_priced(entries[entries["segment_id"] != ""], "segment_id", price_per_warehouse_hour),
    )
