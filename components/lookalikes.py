"""Cached wrappers and charts for the Lookalikes page."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.segments import saved_models
from components.warehouse import get_warehouse
from services.discovery import store


@st.cache_data(ttl=30, show_spinner=False)
def cached_models(path: str):
    return store.list_models(get_warehouse(path))


@st.cache_data(max_entries=20, show_spinner=False)
def cached_model(path: str, model_id: str) -> store.SavedLookalike:
    # A saved model never changes, so it is cached by id alone.
    return store.load_model(get_warehouse(path), model_id)


def clear() -> None:
    cached_models.clear()
    saved_models.clear()


def reach_curve(curve, reach_pct: float) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=curve["reach_pct"], y=curve["min_score"], name="similarity of the last one in",
                             mode="lines", hovertemplate="%{x:.1f}% reach: score %{y:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=curve["reach_pct"], y=curve["heldout_recall"], name="held-out seed members found",
                             mode="lines", yaxis="y2", line=dict(dash="dash"),
                             hovertemplate="%{x:.1f}% reach: %{y:.0%} of held-out members<extra></extra>"))
    fig.add_vline(x=reach_pct, line_dash="dot", line_color="#0B6E4F")
    fig.update_layout(height=300, margin=dict(l=0, r=0, t=10, b=0), xaxis_title="reach (% of eligible customers)",
                      yaxis=dict(title="similarity score"),
                      yaxis2=dict(title="held-out recall", overlaying="y", side="right", tickformat=".0%",
                                  range=[0, 1]),
                      legend=dict(orientation="h", y=1.15))
    return fig
