"""Plotly charts shared by the pages."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

GREEN = "#0B6E4F"
GREY = "#C9D6CF"


def waterfall_frame(steps: list[tuple[str, int]], base: int) -> pd.DataFrame:
    """The waterfall as rows: each top-level condition and how many remain after it."""
    rows = [("All customers", base)] + [(f"{i + 1}. {label}", n) for i, (label, n) in enumerate(steps)]
    frame = pd.DataFrame(rows, columns=["step", "customers"])
    frame["share"] = frame["customers"] / base if base else 0.0
    return frame


def breakdown(frame: pd.DataFrame, title: str) -> go.Figure:
    """Members per value, beside each value's share of the whole base."""
    top = frame.head(12).iloc[::-1]
    fig = go.Figure()
    fig.add_bar(y=top["value"], x=top["share_of_audience"], orientation="h", name="segment", marker_color=GREEN,
                customdata=top["members"], hovertemplate="%{y}: %{customdata:,} members (%{x:.1%})<extra></extra>")
    fig.add_bar(y=top["value"], x=top["share_of_base"], orientation="h", name="all customers", marker_color=GREY,
                hovertemplate="%{y}: %{x:.1%} of all customers<extra></extra>")
    fig.update_layout(title=dict(text=title, font=dict(size=14)), barmode="group", height=80 + 26 * len(top),
                      margin=dict(l=0, r=10, t=30, b=0), xaxis=dict(tickformat=".0%"),
                      legend=dict(orientation="h", y=-0.15))
    return fig

