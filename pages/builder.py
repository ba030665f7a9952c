"""Segment Builder: click a rule together, watch the audience change, see its SQL, save it."""

from __future__ import annotations

import streamlit as st

from components import rule_state, session
from components.charts import breakdown, waterfall_frame
from components.rule_editor import EditorContext
from components.rule_tree import render_group
from components.segments import (
    cached_estimate,
    cached_library,
    cached_overlaps,
    cached_preview,
    field_health,
    workspace,
)
from components.warehouse import attribute_segment, ready_or_stop, warehouse_key
from services import rbac
from services.errors import SegmentStudioError
from services.segments.features import FEATURES_BY_NAME
from services.segments.workspace import needs_saved_targets, save_segment

settings = session.settings()
identity = session.identity()
path = warehouse_key(settings)

st.title("Segment Builder")
# One workspace for this rerun: the draft is compiled once, with the cached catalog.
ws = ready_or_stop(settings, workspace)
cat, lib = ws.catalog, ws.library


def load_segment(segment_id: str, version: int | None = None) -> None:
    saved = lib.get(segment_id, version)
    st.session_state["builder_rule"] = rule_state.with_ids(saved.definition.to_dict()["rule"])
    st.session_state["builder_name"] = saved.definition.name
    st.session_state["builder_description"] = saved.definition.description
    split = saved.definition.split
    st.session_state["builder_split_on"] = split is not None
    st.session_state["builder_control_pct"] = float(split.control_pct) if split else 10.0
    st.session_state["builder_segment_id"] = segment_id
    st.session_state["builder_loaded"] = f"{segment_id}@{version or 'latest'}"


def new_segment() -> None:
    st.session_state["builder_rule"] = rule_state.with_ids({"kind": "group", "match": "all", "conditions": []})
    st.session_state["builder_name"] = "Untitled segment"
    st.session_state["builder_description"] = ""
    st.session_state["builder_split_on"] = False
    st.session_state["builder_segment_id"] = None
    st.session_state["builder_loaded"] = None
    st.query_params.pop("segment", None)


# A shared link (?segment=ID) opens that segment once; later edits are kept.
wanted = st.query_params.get("segment")
loaded = st.session_state.get("builder_loaded") or ""
if wanted and loaded.split("@")[0] != wanted:
    try:
        load_segment(wanted)
    except SegmentStudioError as exc:
        st.warning(f"Could not open segment {wanted}: {exc}")
if "builder_rule" not in st.session_state:
    new_segment()

segment_id = st.session_state.get("builder_segment_id")
top1, top2 = st.columns([3, 1])
top1.text_input("Segment name", key="builder_name")
top2.button("New segment", on_click=new_segment, width="stretch")
st.text_input("Description", key="builder_description", placeholder="Who is in it and why")
if segment_id:
    st.caption(f"Editing saved segment `{segment_id}` · share this link: `?segment={segment_id}`")

# Shown beside each field: its as-of date, null rate and failing quality checks.
st.session_state["builder_field_health"] = field_health(path)
# Saved segments, runs and models are read only for a rule that names one (and for the overlap).
names_saved = needs_saved_targets(st.session_state["builder_rule"])
cat = ws.catalog_for(st.session_state["builder_rule"])


def saved_segments() -> list[tuple[str, str]]:
    return [(r.segment_id, r.name) for r in cached_library(path, "", False).itertuples() if r.segment_id != segment_id]


left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Rule")
    error_slots = render_group(st.session_state["builder_rule"], EditorContext(
        cat, saved=saved_segments() if names_saved else [], versions_of=lambda sid: list(lib.versions(sid)["version"]),
        labels=cat.target_labels))
    with st.expander("Holdout and split"):
        split_on = st.toggle("Hold out a control group", key="builder_split_on")
        control = st.slider("Control group (% of members)", 0.0, 50.0, step=0.5, key="builder_control_pct",
                            value=st.session_state.get("builder_control_pct", 10.0), disabled=not split_on)
        st.caption("Each member lands in control or treatment by a hash of the segment id and customer id: "
                   "the same member always lands in the same group.")

definition_data = {
    "name": st.session_state.get("builder_name") or "Untitled segment",
    "description": st.session_state.get("builder_description") or "",
    "rule": rule_state.strip_ids(st.session_state["builder_rule"]),
}
if st.session_state.get("builder_split_on"):
    pct = float(st.session_state.get("builder_control_pct", 10.0))
    definition_data["split"] = {"control_pct": pct, "arms": [{"name": "treatment", "share_pct": 100.0 - pct}]}

with right:
    try:
        # Incomplete conditions are left out of the count (and named), in the same single compile.
        draft = ws.compile_draft(definition_data, segment_id=segment_id)
        compiled, definition = draft.compiled, draft.definition
        with attribute_segment(settings, compiled.segment_key):
            result = cached_estimate(path, compiled)
    except SegmentStudioError as exc:
        st.error(f"This rule cannot be run yet: {exc}")
        st.stop()
    incomplete = draft.left_out
    for item in incomplete:
        error_slots[item.path].error(f"Condition {item.path[-1] + 1}: {item.reason}", icon=":material/error:")
    if incomplete:
        st.warning(f"{len(incomplete)} condition(s) not counted until complete: "
                   + "; ".join(item.reason for item in incomplete), icon=":material/edit_note:")
    m1, m2, m3 = st.columns(3)
    m1.metric("Audience", f"{result.audience:,}")
    m2.metric("Of customers", f"{result.share:.1%}")
    m3.metric("Of revenue", f"{result.revenue_share:.1%}")
    st.caption(f"of {result.base:,} customers · as of {cat.as_of_date} · estimated in {result.elapsed_ms:,.0f} ms")
    if result.waterfall:
        with st.container(border=True):
            st.caption("Waterfall: customers left after each condition")
            for row in waterfall_frame([(s.label, s.remaining) for s in result.waterfall], result.base).itertuples():
                st.progress(min(max(float(row.share), 0.0), 1.0), text=f"{row.step} → **{row.customers:,}**")

    view = st.segmented_control("View", ["Breakdowns", "Overlap", "Members", "SQL"], default="Breakdowns",
                                key="builder_view", label_visibility="collapsed")
    if view == "Breakdowns":
        for name, frame in result.breakdowns.items():
            st.plotly_chart(breakdown(frame, FEATURES_BY_NAME[name].label), config={"displayModeBar": False},
                            key=f"builder_breakdown_{name}")
    elif view == "Overlap":
        overlap = cached_overlaps(path, ws, compiled, str(len(saved_segments())))
        st.dataframe(overlap, hide_index=True, width="stretch", column_config={
            "share_of_audience": st.column_config.ProgressColumn("share of this audience", format="percent",
                                                                 min_value=0, max_value=1)})
    elif view == "Members":
        show_pii = rbac.can(identity.role, "view_pii")
        st.caption("Contact details are shown" if show_pii else
                   f"Contact details are masked for the {identity.role} role.")
        st.dataframe(cached_preview(path, compiled, show_pii), hide_index=True, width="stretch")
    elif view == "SQL":
        dialect = st.radio("Dialect", ["databricks", "duckdb"], horizontal=True, key="builder_dialect")
        st.code(compiled.sql(dialect), language="sql")

    st.divider()
    note = st.text_input("Version note", key="builder_note", placeholder="What changed and why")
    can_save = rbac.can(identity.role, "save_segments") and not incomplete
    s1, s2 = st.columns(2)
    save_new = s1.button("Save as new segment", type="primary" if not segment_id else "secondary",
                         disabled=not can_save, width="stretch", key="builder_save_new")
    save_version = s2.button("Save new version", type="primary", disabled=not (can_save and segment_id),
                             width="stretch", key="builder_save_version")
    if incomplete:
        st.caption("Complete or remove the unfinished conditions to save.")
    elif not can_save:
        st.caption(f"Your role ({identity.role}) cannot save segments.")
    if save_new or save_version:
        try:
            saved = save_segment(ws, definition, author=identity.user, role=identity.role,
                                 segment_id=segment_id if save_version else None, note=note)
        except SegmentStudioError as exc:
            st.error(f"Not saved: {exc}")
        else:
            st.session_state["builder_segment_id"] = saved.segment_id
            st.session_state["builder_loaded"] = f"{saved.segment_id}@latest"
            st.query_params["segment"] = saved.segment_id
            cached_library.clear()
            st.toast(f"Saved {saved.definition.name} as version {saved.version} ({saved.audience_size:,} members)")
            st.rerun()
