"""Cached wrappers and charts for the Cluster Explorer.

Saved runs and maps are read through caches keyed by plain values; a new
run or map is computed only on an explicit request, with progress.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.segments import catalog, saved_models
from components.warehouse import get_warehouse
from services.discovery import maps, store
from services.discovery.clustering import (
    FeatureScaler,
    fetch_features,
    log_columns,
    suggest_k,
)

PALETTE = ("#0B6E4F", "#E07A5F", "#3D5A80", "#F2CC8F", "#81B29A", "#9B5DE5", "#F15BB5", "#00BBF9",
           "#FEE440", "#6D597A", "#B56576", "#355070", "#EAAC8B", "#2A9D8F", "#E76F51", "#264653")
NOISE_COLOUR = "#BBBBBB"


@st.cache_data(ttl=30, show_spinner=False)
def cached_runs(path: str):
    return store.list_runs(get_warehouse(path))


@st.cache_data(max_entries=20, show_spinner=False)
def cached_run(path: str, run_id: str, map_points: int | None) -> store.ClusterRun:
    return store.load_run(get_warehouse(path), run_id)


@st.cache_data(max_entries=6, show_spinner=False)
def cached_map(path: str, run_id: str, map_points: int) -> pd.DataFrame:
    return store.load_map(get_warehouse(path), run_id)


@st.cache_data(ttl=30, show_spinner=False)
def cached_expected_map_seconds(path: str, points: int, warm: bool) -> float:
    return maps.expected_map_seconds(get_warehouse(path), points, warm=warm)


@st.cache_data(max_entries=20, show_spinner=False)
def cached_suggestion(path: str, marker: str, features: tuple[str, ...], scaling: str):
    cat = catalog(path)
    frame = fetch_features(get_warehouse(path), cat, features)
    X = FeatureScaler(scaling, log_columns=log_columns(cat, features)).fit_transform(frame)
    return suggest_k(X)


@st.cache_resource(show_spinner=False)
def warm_up_maps() -> threading.Thread:
    """Start compiling UMAP in the background, once per server process."""
    return maps.start_warm_up()


def clear() -> None:
    cached_runs.clear()
    cached_run.clear()
    cached_expected_map_seconds.clear()
    saved_models.clear()


def run_with_progress(work, *, expected_s: float, label: str):
    """Run ``work()`` in a thread, moving a progress bar by elapsed time against the estimate.

    UMAP reports no progress of its own, so the bar shows the share of the
    expected duration that has passed (never quite full until it is done).
    """
    result: dict = {}

    def target():
        try:
            result["value"] = work()
        except BaseException as exc:  # re-raised in the script thread below
            result["error"] = exc

    thread = threading.Thread(target=target, name="segment-studio-map", daemon=True)
    bar = st.progress(0.0, text=label)
    started = time.perf_counter()
    thread.start()
    while thread.is_alive():
        thread.join(0.25)
        elapsed = time.perf_counter() - started
        share = min(elapsed / max(expected_s, 1.0), 0.97)
        left = max(expected_s - elapsed, 0)
        bar.progress(share, text=f"{label} · {elapsed:,.0f} s elapsed, about {left:,.0f} s left")
    bar.empty()
    if "error" in result:
        raise result["error"]
    return result["value"]


# -- charts ----------------------------------------------------------------------
def colour_of(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def heatmap(zscores: pd.DataFrame, names: dict[int, str], labels: dict[str, str]) -> go.Figure:
    z = zscores.clip(-3, 3)
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy(), x=[labels.get(c, c) for c in z.columns],
        y=[f"{i} · {names.get(i, '')}" for i in z.index], zmid=0, colorscale="RdBu_r",
        colorbar=dict(title="z"), hovertemplate="%{y}<br>%{x}: %{z:+.2f} std from the population<extra></extra>"))
    fig.update_layout(height=80 + 38 * len(z), margin=dict(l=0, r=0, t=10, b=0), yaxis=dict(autorange="reversed"))
    return fig


def elbow(table: pd.DataFrame, best_k: int) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=table["k"], y=table["inertia"], name="inertia (elbow)", mode="lines+markers"))
    fig.add_trace(go.Scatter(x=table["k"], y=table["silhouette"], name="silhouette", mode="lines+markers",
                             yaxis="y2"))
    fig.add_vline(x=best_k, line_dash="dot")
    fig.update_layout(height=260, margin=dict(l=0, r=0, t=10, b=0), xaxis_title="k",
                      yaxis=dict(title="inertia"), yaxis2=dict(title="silhouette", overlaying="y", side="right"),
                      legend=dict(orientation="h", y=1.15))
    return fig


def map_figure(frame: pd.DataFrame, colour_by: str, names: dict[int, str]) -> go.Figure:
    """One WebGL trace per colour group; customdata holds customer ids, so selections map back by id."""
    fig = go.Figure()
    column = "cluster_id" if colour_by == "cluster" else colour_by
    groups = sorted(frame[column].fillna("(unknown)").unique(), key=lambda v: (str(type(v)), v))
    hover = ("<b>%{customdata[0]}</b><br>%{customdata[1]}<br>RFM %{customdata[2]} · %{customdata[3]}"
             "<br>spend $%{customdata[4]:,.0f} · %{customdata[5]} orders · %{customdata[6]} days since last"
             "<extra></extra>")
    for i, value in enumerate(groups):
        part = frame[frame[column].fillna("(unknown)") == value]
        label = f"{value} · {names.get(int(value), '')}" if colour_by == "cluster" else str(value)
        colour = NOISE_COLOUR if colour_by == "cluster" and int(value) == 0 else colour_of(i)
        custom = np.column_stack([part["customer_id"], part["cluster_id"].map(lambda c: names.get(int(c), c)),
                                  part["rfm_segment"], part["lifecycle_stage"], part["monetary"],
                                  part["frequency"], part["recency_days"]])
        fig.add_trace(go.Scattergl(x=part["x"], y=part["y"], mode="markers", name=label, customdata=custom,
                                   marker=dict(size=3, color=colour, opacity=0.7), hovertemplate=hover))
    fig.update_layout(height=560, margin=dict(l=0, r=0, t=10, b=0), dragmode="lasso",
                      xaxis=dict(visible=False), yaxis=dict(visible=False), legend=dict(itemsizing="constant"))
    return fig


def selected_ids(event) -> list[str]:
    """Customer ids of the selected points (from customdata, never from point indices)."""
    if not event:
        return []
    selection = event.get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", {})
    points = selection.get("points", []) if isinstance(selection, dict) else getattr(selection, "points", [])
    out = []
    for point in points:
        custom = point.get("customdata") if isinstance(point, dict) else None
        if custom:
            out.append(str(custom[0]))
    return list(dict.fromkeys(out))
