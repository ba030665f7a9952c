"""Cached cost figures and the Cost page's charts.

Billing data changes once a day, so each source is read whole, once, and cached
for ten minutes: the monthly figures (totals, every grouping, forecasts) and the
usage figures (list price, the app's footprint) in one statement each, and the
discounts; every figure the page shows is computed from them, so another month
or grouping reads nothing. The query log grows while people use the app, so it
is cached for thirty seconds only. The app's own queries come from its query log
on DuckDB and from the platform's system tables on Databricks (``query_costs``
picks by engine; those tables lag by about an hour, so they are cached like
billing). ``load`` reads all four at once when the page opens. Cached functions take the warehouse path, never a connection, so the
cache key is a plain string.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from components.background import together
from components.charts import GREEN, GREY
from components.warehouse import get_warehouse
from services import clock, cost
from services.settings import Settings

BILLING_TTL = 600
QUERY_LOG_TTL = 30
#: days of Databricks' query history the page prices (the system table keeps a year)
PLATFORM_DAYS = 30
#: the query log's page (a url path) -> the title the navigation shows (app.py)
PAGE_TITLES = {"home": "Home", "builder": "Segment Builder", "library": "Segment Library", "exports": "Exports",
               "clusters": "Cluster Explorer", "lookalikes": "Lookalikes", "data_quality": "Data Quality",
               "cost": "Cost", "audit": "Audit log", "admin": "Roles"}
DISCOUNT_COLUMNS = {
    "discount_id": "Discount", "billing_account_id": "Billing account", "resource_type": "Resource type",
    "discount_pct": st.column_config.NumberColumn("Discount %", format="%.1f"),
    "commitment_usd": st.column_config.NumberColumn("Commitment", format="$%.2f"), "description": "Description",
    "effective_from": "From", "effective_to": "To"}


@st.cache_data(ttl=BILLING_TTL, show_spinner=False)
def figures(path: str) -> cost.MonthlyFigures:
    return cost.monthly_figures(get_warehouse(path))


@st.cache_data(ttl=BILLING_TTL, show_spinner=False)
def usage(path: str) -> cost.UsageFigures:
    return cost.usage_figures(get_warehouse(path))


@st.cache_data(ttl=BILLING_TTL, show_spinner=False)
def discounts(path: str) -> pd.DataFrame:
    return cost.discounts(get_warehouse(path))


@st.cache_data(ttl=QUERY_LOG_TTL, max_entries=20, show_spinner=False)
def app_query_costs(path: str, price_per_warehouse_hour: float) -> cost.AppQueryCosts:
    return cost.app_query_costs(get_warehouse(path), price_per_warehouse_hour=price_per_warehouse_hour)


@st.cache_data(ttl=BILLING_TTL, max_entries=20, show_spinner=False)
def platform_query_costs(path: str, warehouse_id: str, since: dt.date) -> cost.AppQueryCosts:
    return cost.platform_query_costs(get_warehouse(path), warehouse_id=warehouse_id, since=since)


def query_costs(path: str, settings: Settings, price_per_warehouse_hour: float = 5.0) -> cost.AppQueryCosts:
    """The app's queries priced per page and segment: on Databricks from the platform's system tables
    (list prices; ``price_per_warehouse_hour`` is not used), on DuckDB from the app's query log."""
    if settings.engine == "databricks":
        since = clock.now().date() - timedelta(days=PLATFORM_DAYS)
        return platform_query_costs(path, settings.databricks.warehouse_id or "", since)
    return app_query_costs(path, price_per_warehouse_hour)


def load(path: str, settings: Settings, price_per_warehouse_hour: float = 5.0) -> list[dt.date]:
    """Everything the page shows, read at once; the months with cost, newest first."""
    monthly, *_ = together(lambda: figures(path), lambda: usage(path), lambda: discounts(path),
                           lambda: query_costs(path, settings, price_per_warehouse_hour))
    return monthly.months()


def months(path: str) -> list[dt.date]:
    return figures(path).months()


def monthly_costs(path: str, by: str) -> pd.DataFrame:
    return figures(path).monthly_costs(by)


def forecast_vs_actual(path: str) -> pd.DataFrame:
    return figures(path).forecast_vs_actual()


def month_summary(path: str, month: dt.date) -> cost.MonthSummary:
    return figures(path).month_summary(month)


def top_drivers(path: str, month: dt.date, by: str) -> pd.DataFrame:
    return figures(path).top_drivers(month, by=by)


def largest_increases(path: str, month: dt.date, by: str) -> pd.DataFrame:
    return figures(path).largest_increases(month, by=by)


def price_context(path: str, month: dt.date) -> pd.DataFrame:
    return usage(path).price_context(month)


def discounts_in_force(path: str, month: dt.date) -> pd.DataFrame:
    return cost.in_force(discounts(path), month)


def app_footprint(path: str) -> pd.DataFrame:
    return usage(path).app_footprint(figures(path))


# -- formatting and charts ----------------------------------------------------
def by_page(frame: pd.DataFrame) -> pd.DataFrame:
    """Cost per page, each page by its title."""
    return frame.assign(page=frame["page"].map(lambda p: PAGE_TITLES.get(p, p or "(no page)")))


def by_segment(frame: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Cost per segment, each segment by its name (an id the library no longer knows stays an id)."""
    names = dict(zip(segments["segment_id"], segments["name"]))
    named = frame.assign(segment=frame["segment_id"].map(lambda s: names.get(s, s)))
    return named[["segment", *[c for c in frame.columns if c != "segment_id"]]]


def usd(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"${value:,.2f}"


def signed_usd(value: float | None) -> str | None:
    # st.metric colours the delta by its sign, so the sign has to lead the string.
    if value is None or pd.isna(value):
        return None
    return f"{'-' if value < 0 else '+'}${abs(value):,.2f}"


def pct(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:+.1%}"


def stacked_by_month(frame: pd.DataFrame, *, title: str, selected: dt.date) -> go.Figure:
    """Monthly cost as stacked bars, one colour per group; the selected month outlined."""
    fig = px.bar(frame.sort_values("month_start"), x="month_start", y="cost_usd", color="name",
                 custom_data=["key"], labels={"month_start": "month", "cost_usd": "USD", "name": ""}, title=title)
    fig.update_traces(hovertemplate="%{x|%b %Y}<br>%{fullData.name}: $%{y:,.2f}<extra></extra>")
    fig.add_vrect(x0=pd.Timestamp(selected) - pd.Timedelta(days=15), x1=pd.Timestamp(selected) + pd.Timedelta(days=15),
                  line_width=1, line_color=GREEN, fillcolor=GREEN, opacity=0.08)
    fig.update_layout(barmode="stack", height=380, margin=dict(l=0, r=0, t=40, b=0),
                      legend=dict(orientation="h", yanchor="top", y=-0.15))
    return fig


def forecast_line(frame: pd.DataFrame, *, selected: dt.date) -> go.Figure:
    """Actual against forecast per month, with the forecast's band."""
    frame = frame.sort_values("month_start")
    x = pd.to_datetime(frame["month_start"])
    fig = go.Figure()
    fig.add_scatter(x=list(x) + list(x[::-1]), y=list(frame["upper_usd"]) + list(frame["lower_usd"][::-1]),
                    fill="toself", fillcolor="rgba(201,214,207,0.35)", line=dict(width=0), hoverinfo="skip",
                    name="forecast range")
    fig.add_scatter(x=x, y=frame["forecast_usd"], mode="lines+markers", name="forecast",
                    line=dict(color=GREY, dash="dash"), hovertemplate="%{x|%b %Y}: $%{y:,.2f} forecast<extra></extra>")
    fig.add_scatter(x=x, y=frame["actual_usd"], mode="lines+markers", name="actual", line=dict(color=GREEN),
                    hovertemplate="%{x|%b %Y}: $%{y:,.2f} actual<extra></extra>")
    fig.add_vline(x=pd.Timestamp(selected), line_width=1, line_dash="dot", line_color=GREEN)
    fig.update_layout(height=360, margin=dict(l=0, r=0, t=40, b=0), title="Forecast vs actual",
                      yaxis_title="USD", legend=dict(orientation="h", yanchor="top", y=-0.15))
    return fig


def drivers_table(frame: pd.DataFrame) -> None:
    st.dataframe(frame.drop(columns=["key"]), hide_index=True, width="stretch", column_config={
        "name": st.column_config.TextColumn("driver"),
        "cost_usd": st.column_config.NumberColumn("cost", format="$%.2f"),
        "share": st.column_config.ProgressColumn("share of month", format="percent", min_value=0.0, max_value=1.0),
        "previous_usd": st.column_config.NumberColumn("month before", format="$%.2f"),
        "change_usd": st.column_config.NumberColumn("change", format="$%.2f"),
        "change_pct": st.column_config.NumberColumn("change %", format="percent"),
    })
