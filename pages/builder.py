"""Segment Builder: click a rule together, watch the audience change, see its SQL, save it."""

from __future__ import annotations

import streamlit as st

from components import builder_views, draft, session
from components.rule_editor import EditorContext
from components.rule_tree import render_group
from components.save_panel import save_panel
from components.segments import (
    cached_estimate,
    cached_history,
    cached_library,
    cached_overlaps,
    cached_preview,
    field_health,
    workspace,
)
from components.text import plain
from components.warehouse import attribute_segment, ready_or_stop, warehouse_key
from services import rbac
from services.errors import SegmentStudioError, SpecError
from services.segments.library import versions_frame
from services.segments.wording import Names
from services.segments.workspace import needs_saved_targets

settings = session.settings()
identity = session.identity()
path = warehouse_key(settings)

st.title("Segment Builder")
# One workspace for this rerun: the draft is compiled once, with the cached catalog.
ws = ready_or_stop(settings, workspace)
cat, lib = ws.catalog, ws.library


def open_saved(segment_id: str, version: int | None = None) -> None:
    info = lib.info(segment_id)
    latest = int(info["latest_version"])
    history = {v.version: v for v in cached_history(path, segment_id, latest)}
    if version is not None and version not in history:
        raise SpecError(f"segment {segment_id!r} has no version {version}")
    draft.load(history[version or latest], latest_version=latest, is_sample=bool(info["is_sample"]))


def pick_version() -> None:
    open_saved(draft.current().segment_id, int(st.session_state["builder_version_pick"]))


# A shared link (?segment=ID, optionally &version=N) opens that segment once; later edits are kept.
wanted, wanted_version = st.query_params.get("segment"), st.query_params.get("version")
current = draft.current()
if wanted and (wanted != current.segment_id or (wanted_version and wanted_version != str(current.version))):
    try:
        open_saved(wanted, int(wanted_version) if wanted_version and wanted_version.isdigit() else None)
    except SegmentStudioError as exc:
        st.warning(f"Could not open segment {plain(wanted)}: {plain(exc)}")
        st.query_params.pop("segment", None)
d = draft.current()
draft.seed()

top1, top2 = st.columns([3, 1])
d.name = top1.text_input("Segment name", key="builder_name", placeholder="Name the segment")
top2.button("New segment", on_click=draft.new, width="stretch", key="builder_new")
d.description = st.text_input("Description", key="builder_description", placeholder="Who is in it and why")
if d.segment_id:
    e1, e2 = st.columns([3, 1], vertical_alignment="bottom")
    with e2:
        builder_views.version_picker(versions_frame(cached_history(path, d.segment_id, d.latest_version)),
                                     on_change=pick_version)
    e1.caption(f"Editing version {d.version} of {d.latest_version} · share this link: `?segment={d.segment_id}`"
               + (f" · saving makes it version {d.latest_version + 1} (a restore)" if d.version < d.latest_version
                  else ""))
    if d.is_sample:
        st.info("This is a sample campaign, a read-only template: save your changes as a new segment.",
                icon=":material/lock:")

# Shown beside each field: its as-of date, null rate and failing quality checks.
st.session_state["builder_field_health"] = field_health(path)
# Saved segments, runs and models are read only for a rule that names one (and for the Overlap view):
# a new session's first count waits for no more than it needs.
cat = ws.catalog_for(d.rule)
listed = cached_library(path, "", False) if needs_saved_targets(d.rule) else None


def listed_names(frame) -> dict[str, str]:
    return {} if frame is None else dict(zip(frame["segment_id"], frame["name"]))


names = listed_names(listed)
segment_sizes = ({} if listed is None else
                 {sid: int(n) for sid, n in zip(listed["segment_id"], listed["audience_size"].fillna(-1)) if n >= 0})
saved_segments = [(sid, name) for sid, name in names.items() if sid != d.segment_id]
words = Names(segments=names, targets=cat.target_labels)


def sync_control(source: str, target: str) -> None:
    st.session_state[target] = float(st.session_state[source])


left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Rule")
    error_slots = render_group(d.rule, EditorContext(
        cat, saved=saved_segments, versions_of=lambda sid: list(lib.versions(sid)["version"]),
        labels=cat.target_labels, sizes=segment_sizes))
    with st.expander("Holdout and split", expanded=d.split_on):
        d.split_on = st.toggle("Hold out a control group", key="builder_split_on")
        h1, h2 = st.columns([3, 1], vertical_alignment="center")
        h1.slider("Control group (% of members)", 0.0, 50.0, step=0.5, key="builder_control_pct",
                  disabled=not d.split_on, on_change=sync_control, args=("builder_control_pct", "builder_control_pct_box"))
        h2.number_input("Control %", min_value=0.0, max_value=50.0, step=0.5, key="builder_control_pct_box",
                        disabled=not d.split_on, on_change=sync_control,
                        args=("builder_control_pct_box", "builder_control_pct"), label_visibility="collapsed")
        d.control_pct = float(st.session_state["builder_control_pct_box"])
        holdout_slot = st.empty()
        st.caption("Each member lands in control or treatment by a hash of the segment id and customer id: "
                   "the same member always lands in the same group, in every version and every export.")

with right:
    try:
        # Incomplete conditions are left out of the count (and named), in the same single compile.
        compiled_draft = ws.compile_draft(d.data(), segment_id=d.segment_id)
        compiled, definition = compiled_draft.compiled, compiled_draft.definition
        with attribute_segment(settings, d.segment_id):
            result = cached_estimate(path, compiled)
    except SegmentStudioError as exc:
        st.error(f"This rule cannot be run yet: {plain(exc)}")
        st.stop()
    incomplete = compiled_draft.left_out
    changed = d.changed(definition, complete=not incomplete)
    builder_views.summary(result, as_of=cat.as_of_date, status=d.status(changed=changed))
    builder_views.left_out(incomplete, d.rule, error_slots)
    if d.split_on:
        holdout_slot.markdown(builder_views.holdout_counts(path, compiled))
    builder_views.waterfall(result, compiled, words)

    view = st.segmented_control("View", ["Breakdowns", "Overlap", "Members", "SQL"], default="Breakdowns",
                                key="builder_view", label_visibility="collapsed")
    if view == "Breakdowns":
        builder_views.breakdowns(result)
    elif view == "Overlap":
        listed = cached_library(path, "", False) if listed is None else listed
        library_version = f"{len(listed)}:{listed['updated_ts'].max()}"
        overlap = cached_overlaps(path, ws, compiled, library_version)
        builder_views.overlap_chart(overlap[overlap["segment"] != d.segment_id], listed_names(listed))
    elif view == "Members":
        show_pii = rbac.can(identity.role, "view_pii")
        st.caption("Contact details are shown" if show_pii else
                   f"Contact details are masked for the {identity.role} role.")
        st.dataframe(builder_views.members(cached_preview(path, compiled, show_pii)), hide_index=True, width="stretch")
    elif view == "SQL":
        dialect = st.radio("Dialect", ["databricks", "duckdb"], horizontal=True, key="builder_dialect")
        st.code(ws.shown_sql(compiled, dialect), language="sql")
        if d.split_on and not d.segment_id:
            st.caption("Not saved yet: the split is keyed by a placeholder here; saving keys it by the new segment's "
                       "id, in every version and export.")

    st.divider()
    save_panel(ws, definition, audience=result.audience, identity=identity, complete=not incomplete, changed=changed)
