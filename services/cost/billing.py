"""What the data platform costs, month by month: actuals, forecasts, drivers, list price, the app's footprint.

Monthly figures read ``fact_monthly_costs`` (the exact monthly roll-up of the
daily ``fact_cost_usage``) through ``sql/cost/monthly_costs_named.sql``;
forecasts come from ``stage_forecasts``; the app's tagged footprint and list
prices need the daily fact (``sql/cost/usage_by_month.sql``). Every month is
a ``datetime.date`` on the first of the month; money is USD, rounded to cents.

The Cost page shows every month's figures, so each source is read once, whole:
``monthly_figures`` (the totals, the cost by every dimension and the forecasts: one
statement) and ``usage_figures`` (usage by resource type and the app's footprint: one
statement); every figure is a method of what they return, so picking another month
or grouping reads nothing. Each sum is still taken by the warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlglot import exp

from services import naming, sqlfiles
from services.errors import SpecError
from services.parallel import together
from services.warehouse import Warehouse

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


# -- the monthly figures: one read ------------------------------------------------
def _group(by: str | None) -> exp.Select:
    """Cost per month (and per ``by``, when given) over the named monthly costs."""
    month = exp.column("month_start")
    if by is None:
        key = name = exp.cast(exp.null(), "VARCHAR")
        kind, groups = "total", [month]
    else:
        key_column, name_column = _dimension(by)
        key, name, kind = exp.column(key_column), exp.column(name_column), by
        groups = [month.copy(), exp.column(key_column), exp.column(name_column)]
    nothing = exp.cast(exp.null(), "DOUBLE")
    return (exp.select(month, exp.Literal.string(kind).as_("kind"), key.as_("key"), name.copy().as_("name"),
                       exp.func("sum", exp.column("cost_amount_usd")).as_("cost_usd"), nothing.as_("lower_usd"),
                       nothing.copy().as_("upper_usd"))
            .from_(_named()).group_by(*groups))


def _forecasts() -> exp.Select:
    return (exp.select(exp.column("month_start"), exp.Literal.string("forecast").as_("kind"),
                       exp.cast(exp.null(), "VARCHAR").as_("key"), exp.cast(exp.null(), "VARCHAR").as_("name"),
                       exp.func("sum", exp.column("forecast_amount_usd")).as_("cost_usd"),
                       exp.func("sum", exp.column("lower_bound_usd")).as_("lower_usd"),
                       exp.func("sum", exp.column("upper_bound_usd")).as_("upper_usd"))
            .from_(exp.to_table(naming.fq("cost", "stage_forecasts"))).group_by(exp.column("month_start")))


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
        return _change_usd(self.total_usd, self.previous_total_usd)

    @property
    def mom_change_pct(self) -> float | None:
        return _change_share(self.total_usd, self.previous_total_usd)

    @property
    def forecast_variance_usd(self) -> float | None:
        return _change_usd(self.total_usd, self.forecast_usd)

    @property
    def forecast_variance_pct(self) -> float | None:
        return _change_share(self.total_usd, self.forecast_usd)


def _change_usd(total: float, base: float | None) -> float | None:
    """``total`` less ``base`` in dollars, rounded to the cent; None without a base."""
    return None if base is None else round(total - base, 2)


def _change_share(total: float, base: float | None) -> float | None:
    """The change from ``base`` to ``total`` as a share of ``base``; None without a base (or a zero one)."""
    return None if not base else (total - base) / base


@dataclass(frozen=True)
class MonthlyFigures:
    """Every monthly figure of the Cost page, from one read (``monthly_figures``).

    ``costs``: month_start, kind (total, a dimension, forecast), key, name, cost_usd, lower_usd,
    upper_usd; each sum taken by the warehouse, so every figure below is the same exact sum a
    query of its own would give.
    """

    costs: pd.DataFrame

    def _kind(self, kind: str) -> pd.DataFrame:
        return self.costs[self.costs["kind"] == kind]

    def months(self) -> list[dt.date]:
        """Months with actual cost, newest first."""
        return sorted(self._kind("total")["month_start"], reverse=True)

    def monthly_costs(self, by: str) -> pd.DataFrame:
        """Cost per month and ``by``: month_start, key, name, cost_usd; sorted by month, then cost."""
        _dimension(by)
        frame = self._kind(by)[["month_start", "key", "name", "cost_usd"]]
        return frame.sort_values(["month_start", "cost_usd"], ascending=[True, False], ignore_index=True)

    def costs_in_month(self, month: dt.date, *, by: str) -> pd.DataFrame:
        """Cost of one month per ``by`` with its share of the month: key, name, cost_usd, share."""
        _dimension(by)
        rows = self._kind(by)
        frame = rows[rows["month_start"] == month_start(month)][["key", "name", "cost_usd"]]
        # Sorted before summing: the rows come in the warehouse's order, and a float sum in another
        # order can differ in its last bit, and so would every share.
        frame = frame.sort_values(["cost_usd", "key"], ascending=[False, True], ignore_index=True)
        total = frame["cost_usd"].sum()
        frame["share"] = frame["cost_usd"] / total if total else 0.0
        return frame

    def forecast_vs_actual(self) -> pd.DataFrame:
        """Per month: forecast_usd, lower_usd, upper_usd, actual_usd, variance_usd, variance_pct.

        Variance is actual minus forecast (positive: the month cost more than forecast); NaN
        where either side is missing.
        """
        forecasts = self._kind("forecast").rename(columns={"cost_usd": "forecast_usd"})[
            ["month_start", "forecast_usd", "lower_usd", "upper_usd"]]
        actuals = self._kind("total").rename(columns={"cost_usd": "actual_usd"})[["month_start", "actual_usd"]]
        frame = forecasts.merge(actuals, on="month_start", how="outer")
        frame = _money(frame, "forecast_usd", "lower_usd", "upper_usd", "actual_usd")
        frame["variance_usd"] = (frame["actual_usd"] - frame["forecast_usd"]).round(2)
        frame["variance_pct"] = frame["variance_usd"] / frame["forecast_usd"].where(frame["forecast_usd"] != 0)
        return frame.sort_values("month_start", ignore_index=True)

    def month_summary(self, month: dt.date) -> MonthSummary:
        """Total, month-over-month change and forecast of ``month``."""
        month = month_start(month)
        by_month = self.forecast_vs_actual().set_index("month_start")

        def value(when: dt.date, column: str) -> float | None:
            if when not in by_month.index or pd.isna(by_month.at[when, column]):
                return None
            return float(by_month.at[when, column])

        return MonthSummary(month=month, total_usd=value(month, "actual_usd") or 0.0,
                            previous_month=previous_month(month),
                            previous_total_usd=value(previous_month(month), "actual_usd"),
                            forecast_usd=value(month, "forecast_usd"))

    def top_drivers(self, month: dt.date, *, by: str = "resource", limit: int = 10) -> pd.DataFrame:
        """The largest ``by`` in ``month`` with their change from the month before.

        Columns: key, name, cost_usd, share, previous_usd, change_usd, change_pct; largest cost
        first. Something new this month has previous_usd 0 and no change_pct.
        """
        current = self.costs_in_month(month, by=by)
        before = self.costs_in_month(previous_month(month), by=by)[["key", "cost_usd"]]
        merged = current.merge(before.rename(columns={"cost_usd": "previous_usd"}), on="key", how="left")
        merged["previous_usd"] = merged["previous_usd"].fillna(0.0)
        merged["change_usd"] = (merged["cost_usd"] - merged["previous_usd"]).round(2)
        merged["change_pct"] = merged["change_usd"] / merged["previous_usd"].where(merged["previous_usd"] != 0)
        return merged.head(limit).reset_index(drop=True)

    def largest_increases(self, month: dt.date, *, by: str = "resource", limit: int = 10) -> pd.DataFrame:
        """What grew most against the month before, including what stopped (negative) last.

        Same columns as ``top_drivers``; sorted by change_usd, largest increase first, only rows
        that increased.
        """
        current = self.costs_in_month(month, by=by)[["key", "name", "cost_usd"]]
        before = self.costs_in_month(previous_month(month), by=by)[["key", "name", "cost_usd"]]
        merged = current.merge(before, on="key", how="outer", suffixes=("", "_before"))
        merged["name"] = merged["name"].fillna(merged["name_before"])
        merged["cost_usd"] = merged["cost_usd"].fillna(0.0)
        merged["previous_usd"] = merged["cost_usd_before"].fillna(0.0)
        merged["change_usd"] = (merged["cost_usd"] - merged["previous_usd"]).round(2)
        merged["change_pct"] = merged["change_usd"] / merged["previous_usd"].where(merged["previous_usd"] != 0)
        grew = merged[merged["change_usd"] > 0].sort_values(["change_usd", "key"], ascending=[False, True])
        return grew[["key", "name", "cost_usd", "previous_usd", "change_usd", "change_pct"]].head(limit).reset_index(drop=True)


def monthly_figures(warehouse: Warehouse) -> MonthlyFigures:
    """Cost per month in total and by every dimension, and the forecasts: one statement (a UNION ALL)."""
    parts = [_group(None), *[_group(by) for by in DIMENSIONS], _forecasts()]
    union = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False)
    frame = warehouse.df(union)
    frame["month_start"] = _as_date(frame["month_start"])
    return MonthlyFigures(_money(frame, "cost_usd", "lower_usd", "upper_usd"))


# The same figures, each from a read of its own (the page reads them together, through the figures).
def months(warehouse: Warehouse) -> list[dt.date]:
    """Months with actual cost, newest first."""
    return monthly_figures(warehouse).months()


def monthly_costs(warehouse: Warehouse, *, by: str) -> pd.DataFrame:
    """Cost per month and ``by`` (cost_center, resource, resource_type, region): month_start, key, name, cost_usd."""
    _dimension(by)
    return monthly_figures(warehouse).monthly_costs(by)


def costs_in_month(warehouse: Warehouse, month: dt.date, *, by: str) -> pd.DataFrame:
    """Cost of one month per ``by`` with its share of the month: key, name, cost_usd, share."""
    _dimension(by)
    return monthly_figures(warehouse).costs_in_month(month, by=by)


def forecast_vs_actual(warehouse: Warehouse) -> pd.DataFrame:
    """Per month: forecast_usd, lower_usd, upper_usd, actual_usd, variance_usd, variance_pct."""
    return monthly_figures(warehouse).forecast_vs_actual()


def month_summary(warehouse: Warehouse, month: dt.date) -> MonthSummary:
    """Total, month-over-month change and forecast of ``month``."""
    return monthly_figures(warehouse).month_summary(month)


def top_drivers(warehouse: Warehouse, month: dt.date, *, by: str = "resource", limit: int = 10) -> pd.DataFrame:
    """The largest ``by`` in ``month`` with their change from the month before (see ``MonthlyFigures``)."""
    _dimension(by)
    return monthly_figures(warehouse).top_drivers(month, by=by, limit=limit)


def largest_increases(warehouse: Warehouse, month: dt.date, *, by: str = "resource", limit: int = 10) -> pd.DataFrame:
    """What grew most against the month before (see ``MonthlyFigures``)."""
    _dimension(by)
    return monthly_figures(warehouse).largest_increases(month, by=by, limit=limit)


# -- usage, list price and the app's footprint: one read ---------------------------------
def _usage_by_month() -> exp.Expression:
    return sqlfiles.query("cost/usage_by_month.sql").subquery("usage_by_month")


@dataclass(frozen=True)
class UsageFigures:
    """The daily usage rolled up per month, in the two groupings the page shows (``usage_figures``).

    ``by_type``: month_start, resource_type, usage_quantity, list_cost_usd, net_cost_usd;
    ``app``: month_start, resource_id, resource_name, cost_usd of the resources tagged as the app's.
    """

    by_type: pd.DataFrame
    app: pd.DataFrame

    def price_context(self, month: dt.date) -> pd.DataFrame:
        """Per resource type in ``month``: usage, list cost, net cost and the effective discount."""
        frame = self.by_type[self.by_type["month_start"] == month_start(month)].drop(columns="month_start")
        frame = frame.reset_index(drop=True)
        # Net below list is the negotiated discount (and exchange-rate drift on non-USD accounts).
        frame["effective_discount"] = 1 - frame["net_cost_usd"] / frame["list_cost_usd"].where(frame["list_cost_usd"] != 0)
        return frame.sort_values("net_cost_usd", ascending=False, ignore_index=True)

    def app_footprint(self, figures: MonthlyFigures) -> pd.DataFrame:
        """The app's tagged resources per month: month_start, resource_id, resource_name, cost_usd, share_of_month.

        share_of_month is the app's cost over the whole platform's cost that month.
        """
        frame = self.app.sort_values(["month_start", "resource_id"], ignore_index=True)
        totals = figures.forecast_vs_actual().set_index("month_start")["actual_usd"]
        month_total = frame.groupby("month_start")["cost_usd"].transform("sum")
        frame["share_of_month"] = month_total / frame["month_start"].map(totals)
        return frame


def usage_figures(warehouse: Warehouse) -> UsageFigures:
    """Usage per month and resource type, and the app's tagged cost per month and resource: one statement."""
    is_app = exp.column("tag_app").eq(exp.convert(APP_TAG))
    inner = exp.select(exp.column("month_start"), exp.column("resource_type"), exp.column("resource_id"),
                       exp.column("resource_name"), exp.Coalesce(this=is_app, expressions=[exp.false()]).as_("is_app"),
                       exp.column("usage_quantity"), exp.column("list_cost_usd"),
                       exp.column("cost_amount_usd")).from_(_usage_by_month())
    keys = ["month_start", "resource_type", "resource_id", "resource_name", "is_app"]
    sets = exp.GroupingSets(expressions=[
        exp.Tuple(expressions=[exp.column("month_start"), exp.column("resource_type")]),
        exp.Tuple(expressions=[exp.column(k) for k in ("month_start", "resource_id", "resource_name", "is_app")])])
    frame = warehouse.df(
        exp.select(*[exp.column(k) for k in keys], exp.Grouping(expressions=[exp.column("resource_type")]).as_("by_id"),
                   exp.func("sum", exp.column("usage_quantity")).as_("usage_quantity"),
                   exp.func("sum", exp.column("list_cost_usd")).as_("list_cost_usd"),
                   exp.func("sum", exp.column("cost_amount_usd")).as_("net_cost_usd"))
        .from_(inner.subquery("usage")).group_by(sets))
    frame["month_start"] = _as_date(frame["month_start"])
    by_type = frame[frame["by_id"] == 0][["month_start", "resource_type", "usage_quantity", "list_cost_usd",
                                          "net_cost_usd"]].reset_index(drop=True)
    by_type = _money(by_type, "list_cost_usd", "net_cost_usd")
    by_type["usage_quantity"] = by_type["usage_quantity"].astype(float).round(2)
    app = frame[(frame["by_id"] == 1) & frame["is_app"].fillna(False).astype(bool)]
    app = _money(app[["month_start", "resource_id", "resource_name", "net_cost_usd"]]
                 .rename(columns={"net_cost_usd": "cost_usd"}).reset_index(drop=True), "cost_usd")
    return UsageFigures(by_type, app)


def price_context(warehouse: Warehouse, month: dt.date) -> pd.DataFrame:
    """Per resource type in ``month``: usage, list cost, net cost and the effective discount."""
    return usage_figures(warehouse).price_context(month)


def discounts(warehouse: Warehouse) -> pd.DataFrame:
    """Every negotiated discount with its validity (``in_force`` picks a month's)."""
    query = (exp.select("discount_id", "billing_account_id", "resource_type", "discount_pct", "commitment_usd",
                        "description", "effective_from", "effective_to")
             .from_(exp.to_table(naming.fq("cost", "ref_discounts"))))
    return warehouse.df(query.order_by("billing_account_id", "discount_id"))


def in_force(discounts_frame: pd.DataFrame, month: dt.date) -> pd.DataFrame:
    """The discounts of ``discounts_frame`` valid on any day of ``month``."""
    first = month_start(month)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    since = pd.to_datetime(discounts_frame["effective_from"]).dt.date
    until = pd.to_datetime(discounts_frame["effective_to"]).dt.date
    valid = (since <= last) & (until.isna() | (until >= first))
    return discounts_frame[valid.fillna(False).astype(bool)].reset_index(drop=True)


def discounts_in_force(warehouse: Warehouse, month: dt.date) -> pd.DataFrame:
    """Negotiated discounts valid on any day of ``month``."""
    return in_force(discounts(warehouse), month)


# -- the app's own footprint ----------------------------------------------------
def app_footprint(warehouse: Warehouse) -> pd.DataFrame:
    """The app's tagged resources per month: month_start, resource_id, resource_name, cost_usd, share_of_month."""
    figures, usage = together(lambda: monthly_figures(warehouse), lambda: usage_figures(warehouse))
    return usage.app_footprint(figures)
