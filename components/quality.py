"""Cached reads and charts for the Data Quality page.

Every reader takes the warehouse path (a plain string) so Streamlit can key
its cache on it; the results change only when a build or a governance load
runs, so a few minutes of staleness costs nothing and saves every rerun.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.charts import GREEN, GREY
from components.warehouse import get_warehouse
from services.quality import overview
from services.quality.overview import Reconciliation

TTL = 300
RED = "#B3261E"
AMBER = "#B26A00"
CRITICAL_ROW = "background-color: #FBE9E7"
#: human headers of the check tables (failing checks, a check's history)
CHECK_COLUMNS = {"dataset": "Dataset", "check_name": "Check", "severity": "Severity", "status": "Status",
                 "source": "Source", "observed_value": "Observed", "threshold": "Threshold", "details": "Details"}
TEAM_COLUMNS = {"remediation_team_id": "Team id", "team_name": "Team", "email": "Email", "on_call": "On call",
                "escalation_email": "Escalation", "open_issues": "Open issues", "resolved_issues": "Resolved issues"}


@st.cache_data(ttl=TTL, show_spinner=False)
def datasets(path: str) -> pd.DataFrame:
    return overview.datasets(get_warehouse(path))


@st.cache_data(ttl=TTL, show_spinner=False)
def pass_rate(path: str, last_days: int | None) -> pd.DataFrame:
    return overview.pass_rate(get_warehouse(path), last_days=last_days)


@st.cache_data(ttl=TTL, show_spinner=False)
def failing_checks(path: str) -> pd.DataFrame:
    return overview.failing_checks(get_warehouse(path))


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def check_history(path: str, source: str, dataset_id: str, check_name: str) -> pd.DataFrame:
    return overview.check_history(get_warehouse(path), source=source, dataset_id=dataset_id, check_name=check_name)


@st.cache_data(ttl=TTL, show_spinner=False)
def open_issues(path: str) -> pd.DataFrame:
    return overview.open_issues(get_warehouse(path))


@st.cache_data(ttl=TTL, show_spinner=False)
def remediation_teams(path: str) -> pd.DataFrame:
    return overview.remediation_teams(get_warehouse(path))


@st.cache_data(ttl=TTL, show_spinner=False)
def freshness(path: str) -> pd.DataFrame:
    return overview.freshness(get_warehouse(path))


@st.cache_data(ttl=TTL, show_spinner=False)
def last_reconciliation(path: str) -> Reconciliation | None:
    return overview.last_reconciliation(get_warehouse(path))


@st.cache_data(ttl=TTL, show_spinner=False)
def ingest_batches(path: str) -> pd.DataFrame:
    return overview.ingest_batches(get_warehouse(path))


# -- presentation -------------------------------------------------------------
def highlight_critical(frame: pd.DataFrame):
    """A Styler that tints critical rows, so they stand out even when the table is sorted by hand."""
    def tint(row: pd.Series) -> list[str]:
        return [CRITICAL_ROW if row["severity"] == "critical" else ""] * len(row)

    return frame.style.apply(tint, axis=1)


def pass_rate_chart(frame: pd.DataFrame) -> go.Figure:
    """One line per dataset; hover shows how many checks the day's rate rests on."""
    fig = go.Figure()
    for dataset, rows in frame.groupby("dataset", sort=True):
        fig.add_scatter(
            x=rows["day"], y=rows["pass_rate"], mode="lines+markers", name=dataset, marker=dict(size=4),
            customdata=rows[["passed", "checks"]],
            hovertemplate=f"{dataset}<br>%{{x|%Y-%m-%d}}: %{{y:.0%}} (%{{customdata[0]}} of "
                          f"%{{customdata[1]}} checks)<extra></extra>",
        )
    fig.update_layout(height=420, margin=dict(l=0, r=10, t=10, b=0), yaxis=dict(tickformat=".0%", range=[-0.02, 1.05]),
                      legend=dict(orientation="h", y=-0.2), hovermode="closest")
    return fig


def check_history_chart(history: pd.DataFrame) -> go.Figure:
    """Observed value per run against its threshold; failing runs in red, warnings in amber."""
    colours = history["status"].map({"pass": GREEN, "warn": AMBER}).fillna(RED)
    fig = go.Figure()
    fig.add_scatter(x=history["checked_ts"], y=history["observed_value"], mode="lines+markers", name="observed",
                    line=dict(color=GREY), marker=dict(color=colours, size=8), customdata=history[["status"]],
                    hovertemplate="%{x|%Y-%m-%d %H:%M}: %{y} (%{customdata[0]})<extra></extra>")
    fig.add_scatter(x=history["checked_ts"], y=history["threshold"], mode="lines", name="threshold",
                    line=dict(color=RED, dash="dash"))
    fig.update_layout(height=260, margin=dict(l=0, r=10, t=10, b=0), legend=dict(orientation="h", y=-0.25))
    return fig


def freshness_chart(frame: pd.DataFrame) -> go.Figure:
    """Age against SLA per dataset: a bar for the age, a marker for the SLA it must stay under."""
    colours = frame["status"].map({"pass": GREEN}).fillna(RED)
    fig = go.Figure()
    fig.add_bar(y=frame["dataset"], x=frame["age_days"], orientation="h", name="age of the newest data",
                marker_color=colours, hovertemplate="%{y}: %{x:.1f} days old<extra></extra>")
    fig.add_scatter(y=frame["dataset"], x=frame["sla_hours"] / 24, mode="markers", name="SLA",
                    marker=dict(symbol="line-ns-open", size=22, color=RED, line=dict(width=3)),
                    customdata=frame["sla_hours"], hovertemplate="%{y}: SLA %{customdata:g} h<extra></extra>")
    fig.update_layout(height=80 + 40 * len(frame), margin=dict(l=0, r=10, t=10, b=0),
                      xaxis=dict(title="days"), legend=dict(orientation="h", y=-0.3))
    return fig
