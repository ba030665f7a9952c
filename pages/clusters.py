"""Cluster Explorer: cluster customers, profile and name the clusters, map them, turn them into segments."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import clusters as ui, session
from components.background import together
from components.progress import progress_bar
from components.segment_actions import (
    open_in_builder,
    save_definition,
    save_in_callback,
    saved_notice,
)
from components.segments import build_marker, catalog
from components.text import plain
from components.warehouse import get_warehouse, ready_or_stop, warehouse_key
from services import rbac
from services.cost import estimate_action_cost
from services.discovery import fitting, maps, store
from services.discovery.clustering import (
    ALGORITHMS,
    DEFAULT_FEATURES,
    MAX_K,
    SCALINGS,
    clusterable,
)
from services.errors import SegmentStudioError
from services.segments.features import FEATURES_BY_NAME

settings = session.settings()
identity = session.identity()
path = warehouse_key(settings)

st.title("Cluster Explorer")
# The saved runs (listed below) are read with the catalog.
cat, runs = ready_or_stop(settings, lambda key: together(lambda: catalog(key), lambda: ui.cached_runs(key)))

can_run = rbac.can(identity.role, "run_clustering")
can_save = rbac.can(identity.role, "save_segments")
labels = {name: FEATURES_BY_NAME[name].label for name in clusterable(cat)}


def request(kind: str, **values) -> None:
    st.session_state["clusters_request"] = (kind, values)


# -- a new run ---------------------------------------------------------------------
with st.expander("New clustering run", expanded=runs.empty):
    if not can_run:
        st.caption(f"Your role ({identity.role}) can look at saved runs but not start new ones.")
    options = list(labels)
    features = st.multiselect("Features", options, default=[f for f in DEFAULT_FEATURES if f in options],
                              format_func=labels.get, key="clusters_features")
    if "clusters_k_suggested" in st.session_state:
        # A suggestion fills the k box (set before the box is drawn, which is when Streamlit allows it).
        st.session_state["clusters_k"] = st.session_state.pop("clusters_k_suggested")
    c1, c2, c3 = st.columns(3)
    scaling = c1.selectbox("Scaling", list(SCALINGS), index=2, format_func=SCALINGS.get, key="clusters_scaling")
    algorithm = c2.selectbox("Algorithm", list(ALGORITHMS), format_func=ALGORITHMS.get, key="clusters_algorithm")
    k = c3.number_input("Clusters (k)", min_value=2, max_value=MAX_K, value=6, step=1, key="clusters_k",
                        disabled=algorithm == "hdbscan", help="HDBSCAN finds its own number of clusters")
    c4, c5, c6 = st.columns(3)
    seed = c4.number_input("Random seed", min_value=0, value=0, step=1, key="clusters_seed")
    no_features = None if features else "Pick at least one feature first"
    c5.button("Suggest k", key="clusters_suggest", on_click=request, args=("suggest",), disabled=not features,
              width="stretch", help=no_features or "k-means for k = 2..10 on a sample: the elbow and the "
                                                   "silhouette; the best k goes into the k box")
    refused = session.why_not("run_clustering", "run clustering") or no_features
    c6.button("Run clustering", type="primary", key="clusters_run", on_click=request, args=("run",),
              disabled=refused is not None, width="stretch", help=refused)
    if st.session_state.get("clusters_suggestion_for") == (tuple(features), scaling):
        suggestion = ui.cached_suggestion(path, build_marker(path), tuple(features), scaling)
        st.plotly_chart(ui.elbow(suggestion.table, suggestion.best_k), key="clusters_elbow",
                        config={"displayModeBar": False})
        st.caption(f"Suggested k = **{suggestion.best_k}** (best silhouette on a sample), now in the k box.")

kind, _ = st.session_state.pop("clusters_request", (None, None))
if kind == "suggest":
    with st.spinner("Trying k = 2..10 on a sample"):
        try:
            suggested = ui.cached_suggestion(path, build_marker(path), tuple(features), scaling)
            st.session_state["clusters_suggestion_for"] = (tuple(features), scaling)
            st.session_state["clusters_k_suggested"] = int(suggested.best_k)
        except SegmentStudioError as exc:
            st.error(f"No suggestion: {exc}")
    st.rerun()
if kind == "run":
    try:
        with progress_bar() as progress:
            run, timings = fitting.run_clustering(
                get_warehouse(path), cat, features=features, algorithm=algorithm, k=int(k), scaling=scaling,
                random_state=int(seed), author=identity.user, progress=progress)
    except SegmentStudioError as exc:
        st.error(f"The clustering did not run: {exc}")
    else:
        ui.clear()
        st.session_state["clusters_selected_run"] = run.run_id  # the run picker below shows the new run
        st.toast(f"Clustered {run.customers:,} customers into {run.k} groups in {timings.total_s:.1f} s")
        st.rerun()

# -- a saved run -------------------------------------------------------------------
if runs.empty:
    st.info("No clustering runs yet. Pick features and run one above.")
    st.stop()
ids = list(runs["run_id"])
current = st.session_state.get("clusters_selected_run")
if current not in ids:
    # A shared link (?run=ID) opens that run; otherwise the newest.
    current = st.query_params.get("run") if st.query_params.get("run") in ids else ids[0]
described = {r.run_id: f"{r.name} · {r.created_ts:%Y-%m-%d %H:%M} · {r.author}" for r in runs.itertuples()}
# Keyed by the current run, so a run selected by code (a new run) replaces what the picker showed.
run_id = st.selectbox("Run", ids, index=ids.index(current), format_func=described.get, key=f"clusters_run_{current}")
st.session_state["clusters_selected_run"] = run_id
meta = runs.set_index("run_id").loc[run_id]
map_points = None if pd.isna(meta["map_points"]) else int(meta["map_points"])
run = ui.cached_run(path, run_id, map_points)
if run.profile is None:
    st.warning("This run has no profile.")
    st.stop()
names = {int(r.cluster_id): r.name for r in run.profile.summary.itertuples()}

m1, m2, m3 = st.columns(3)
m1.metric("Clusters", f"{len(run.cluster_ids)}")
m2.metric("Customers", f"{run.customers:,}")
m3.metric("Algorithm", store.ALGORITHM_SHORT.get(run.algorithm, run.algorithm))
# Long values go in a caption: a metric cuts them short.
st.caption(f"{meta['name']} · scaling: {SCALINGS.get(run.scaling, run.scaling or '-')} · features: "
           f"{', '.join(labels.get(f, f) for f in run.features)} · as of {run.as_of_date} · use it in the Segment "
           "Builder as *Membership → in cluster*.")

summary = run.profile.summary
st.dataframe(
    pd.DataFrame({"cluster": summary["cluster_id"], "name": summary["name"], "customers": summary["size"],
                  "share": summary["share"], "revenue share": summary["revenue_share"]}),
    hide_index=True, width="stretch", key="clusters_summary",
    column_config={"cluster": "Cluster", "name": "Name",
                   "customers": st.column_config.NumberColumn("Customers", format="localized"),
                   "share": st.column_config.ProgressColumn("Share", format="percent", min_value=0, max_value=1),
                   "revenue share": st.column_config.ProgressColumn("Revenue share", format="percent", min_value=0,
                                                                    max_value=1)})
st.plotly_chart(ui.heatmap(run.profile.zscores, names, labels), key="clusters_heatmap",
                config={"displayModeBar": False})
st.caption("Each cell: how far the cluster's mean is from the population's, in standard deviations.")

# -- one cluster: segment, rule --------------------------------------------------
st.subheader("Turn a cluster into a segment")
cluster = st.selectbox("Cluster", list(run.cluster_ids), format_func=lambda c: f"{c} · {names.get(c, '')}",
                       key="clusters_cluster")


def save_cluster(cluster_id: int) -> None:
    definition = run.segment(cluster_id)
    save_in_callback("clusters", lambda: save_definition(path, definition, user=identity.user, role=identity.role,
                                                         note=f"cluster {cluster_id} of run {run_id}"))


def open_rule(cluster_id: int) -> None:
    st.session_state["clusters_open_rule"] = cluster_id


left, right = st.columns(2)
with left:
    st.markdown(f"**Membership segment**: customers in cluster {cluster} of this run "
                f"({int(summary.loc[summary['cluster_id'] == cluster, 'size'].iloc[0]):,} customers). "
                "Static: it keeps this run's assignments.")
    st.button("Save cluster as segment", type="primary", key="clusters_save_cluster", on_click=save_cluster,
              args=(cluster,), disabled=not can_save, help=session.why_not("save_segments", "save segments"))
with right:
    rule = run.profile.rules.get(cluster)
    if rule is None:
        st.caption("No readable rule describes this cluster.")
    else:
        st.markdown(f"**Rule explanation**: {plain(rule.definition.rule.describe())}")
        st.caption(f"Precision {rule.precision:.0%} (of the {rule.selected:,} customers it selects, the share in "
                   f"the cluster) · recall {rule.recall:.0%} (of the cluster, the share it selects). "
                   "A rule segment is re-evaluated on every build.")
        st.button("Open rule in Segment Builder", key="clusters_open_rule_button", on_click=open_rule,
                  args=(cluster,))
saved_notice("clusters")
opened = st.session_state.pop("clusters_open_rule", None)
if opened is not None and opened in run.profile.rules:
    open_in_builder(run.profile.rules[opened].definition)

# -- the map -----------------------------------------------------------------------
st.subheader("Map")
if not st.toggle("Show the cluster map", key="clusters_show_map", value=bool(map_points)):
    st.caption("A 2-D UMAP layout of a sample of customers, computed once per run and saved.")
    st.stop()
if settings.warm_up_maps:
    ui.warm_up_maps()
if not map_points:
    points = st.select_slider("Customers on the map", [1_000, 5_000, 10_000, 25_000, 50_000], value=50_000,
                              key="clusters_map_points")
    points = min(points, run.customers)
    warm = maps.is_warm()
    expected = ui.cached_expected_map_seconds(path, points, warm)
    cost = estimate_action_cost(expected, settings.price_per_warehouse_hour)
    st.info(f"No map for this run yet. A map of **{points:,}** customers should take about "
            f"**{cost.duration_s:,.0f} s**, about **${cost.cost_usd:,.4f}** at "
            f"${settings.price_per_warehouse_hour:g} per warehouse-hour"
            + ("" if warm else " (including UMAP's one-time warm-up, still running)") + ".")
    st.button("Compute the map", key="clusters_compute_map", on_click=request, args=("map",), disabled=not can_run,
              help=session.why_not("run_clustering", "compute maps"))
    if kind == "map":
        try:
            ui.run_with_progress(lambda: fitting.compute_map(get_warehouse(path), cat, run_id, points=points),
                                 expected_s=expected, label=f"Laying out {points:,} customers")
        except SegmentStudioError as exc:
            st.error(f"The map was not computed: {exc}")
        else:
            ui.clear()
            st.rerun()
    st.stop()

frame = ui.cached_map(path, run_id, map_points)
colour_by = st.segmented_control("Colour by", list(maps.COLOUR_BY), default="cluster",
                                 format_func=maps.COLOUR_BY.get, key="clusters_colour") or "cluster"
event = st.plotly_chart(ui.map_figure(frame, colour_by, names), key=f"clusters_map_{run_id}", on_select="rerun",
                        selection_mode=("box", "lasso"), config={"displayModeBar": True})
chosen = ui.selected_ids(event)
st.caption(f"{len(frame):,} customers, sampled by cluster · draw a box or lasso to pick customers.")
if chosen:
    st.markdown(f"**{len(chosen):,} customers selected.**")
    name = st.text_input("Segment name", value=f"Map selection of {len(chosen):,} customers",
                         key="clusters_selection_name")

    def save_selection():
        selection = store.save_selection(get_warehouse(path), chosen, name=name, author=identity.user,
                                                as_of_date=cat.as_of_date, source_run_id=run_id)
        return save_definition(path, selection.segment(1, name=name), user=identity.user, role=identity.role,
                               note=f"static selection {selection.run_id}, map of run {run_id}")

    st.button("Save selection as segment", key="clusters_save_selection", on_click=save_in_callback,
              args=("clusters", save_selection),
              disabled=not can_save, help=session.why_not("save_segments", "save segments"))
