"""Segment Builder: click a rule together, watch the audience change, see its SQL, save it."""

from __future__ import annotations

import streamlit as st

from components import builder_views, draft, session
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
from services.segments.wording import Names, label
from services.segments.workspace import save_segment

settings = session.settings()
identity = session.identity()
path = warehouse_key(settings)

st.title("Segment Builder")
# One workspace for this rerun: the draft is compiled once, with the cached catalog.
ws = ready_or_stop(settings, workspace)
cat, lib = ws.catalog, ws.library


def open_saved(segment_id: str, version: int | None = None) -> None:
    saved = lib.get(segment_id, version)
    info = lib.info(segment_id)
    draft.load(saved, latest_version=int(info["latest_version"]), is_sample=bool(info["is_sample"]))


def pick_version() -> None:
    open_saved(draft.current().segment_id, int(st.session_state["builder_version_pick"]))


# A shared link (?segment=ID, optionally &version=N) opens that segment once; later edits are kept.
wanted, wanted_version = st.query_params.get("segment"), st.query_params.get("version")
current = draft.current()
if wanted and (wanted != current.segment_id or (wanted_version and wanted_version != str(current.version))):
    try:
        open_saved(wanted, int(wanted_version) if wanted_version and wanted_version.isdigit() else None)
    except SegmentStudioError as exc:
        st.warning(f"Could not open segment {wanted}: {exc}")
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
        builder_views.version_picker(lib.versions(d.segment_id), on_change=pick_version)
    e1.caption(f"Editing version {d.version} of {d.latest_version} · share this link: `?segment={d.segment_id}`"
               + (f" · saving makes it version {d.latest_version + 1} (a restore)" if d.version < d.latest_version
                  else ""))
    if d.is_sample:
        st.info("This is a sample campaign, a read-only template: save your changes as a new segment.",
                icon=":material/lock:")

# Shown beside each field: its as-of date, null rate and failing quality checks.
st.session_state["builder_field_health"] = field_health(path)
listed = cached_library(path, "", False)
names = dict(zip(listed["segment_id"], listed["name"]))
segment_sizes = {sid: int(n) for sid, n in zip(listed["segment_id"], listed["audience_size"].fillna(-1)) if n >= 0}
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
        st.error(f"This rule cannot be run yet: {exc}")
        st.stop()
    incomplete = compiled_draft.left_out
    changed = d.changed(definition, complete=not incomplete)
    status = ("● Unsaved changes" if changed else
              f"Version {d.version} of {d.latest_version}: save it as a new version to restore it"
              if d.segment_id and d.version < d.latest_version else
              f"All changes saved as version {d.version}" if d.segment_id else "Nothing to save yet")
    builder_views.summary(result, as_of=cat.as_of_date, status=status)
    for item in incomplete:
        if item.path in error_slots:
            node = d.rule
            for i in item.path:
                node = node["conditions"][i]
            reason = item.reason
            if node.get("kind") == "trait" and reason.startswith(f"{node.get('field')} {node.get('op')}: "):
                reason = f"{label(node['field'])}: {reason.split(': ', 1)[1]}"
            error_slots[item.path].error(f"Condition {item.path[-1] + 1}: {reason}", icon=":material/error:")
    if incomplete:
        st.warning(f"{len(incomplete)} condition(s) not counted until complete: "
                   + "; ".join(item.reason for item in incomplete), icon=":material/edit_note:")
    if d.split_on:
        holdout_slot.markdown(builder_views.holdout_counts(path, compiled))
    builder_views.waterfall(result, compiled, words)

    view = st.segmented_control("View", ["Breakdowns", "Overlap", "Members", "SQL"], default="Breakdowns",
                                key="builder_view", label_visibility="collapsed")
    if view == "Breakdowns":
        builder_views.breakdowns(result)
    elif view == "Overlap":
        library_version = f"{len(listed)}:{listed['updated_ts'].max()}"
        overlap = cached_overlaps(path, ws, compiled, library_version)
        builder_views.overlap_chart(overlap[overlap["segment"] != d.segment_id], names)
    elif view == "Members":
        show_pii = rbac.can(identity.role, "view_pii")
        st.caption("Contact details are shown" if show_pii else
                   f"Contact details are masked for the {identity.role} role.")
        st.dataframe(builder_views.members(cached_preview(path, compiled, show_pii)), hide_index=True, width="stretch")
    elif view == "SQL":
        dialect = st.radio("Dialect", ["databricks", "duckdb"], horizontal=True, key="builder_dialect")
        st.code(compiled.sql(dialect), language="sql")
        if d.split_on and not d.segment_id:
            st.caption("Not saved yet: the split is keyed by a placeholder here; saving keys it by the new segment's "
                       "id, in every version and export.")

    st.divider()
    note = st.text_input("Version note", key="builder_note", placeholder="What changed and why")
    restoring = bool(d.segment_id) and d.version < d.latest_version
    why_not = ([f"Your role ({identity.role}) cannot save segments."] if not rbac.can(identity.role, "save_segments")
               else [])
    if incomplete:
        why_not.append("Complete or remove the unfinished conditions to save.")
    if not d.name.strip():
        why_not.append("Give the segment a name to save it.")
    why_not_version = (["Not saved yet: save it as a new segment first."] if not d.segment_id else
                       ["Sample campaigns are read-only templates: save your changes as a new segment."] if d.is_sample
                       else [] if changed or restoring else ["No changes to save as a new version."])
    def request(action: str) -> None:
        # Asked for in a callback and carried out below, once the draft is compiled: a click's own return
        # value would not survive the rerun that page navigation may start.
        st.session_state["builder_request"] = action

    s1, s2 = st.columns(2)
    s1.button("Save as new segment", type="primary" if not d.segment_id or d.is_sample else "secondary",
              disabled=bool(why_not), width="stretch", key="builder_save_new", help=" ".join(why_not) or None,
              on_click=request, args=("new",))
    s2.button("Save new version", type="primary", disabled=bool(why_not or why_not_version), width="stretch",
              key="builder_save_version", help=" ".join(why_not + why_not_version) or None,
              on_click=request, args=("version",))
    for reason in why_not + why_not_version:
        st.caption(reason)

    def save(as_version: bool) -> None:
        default_note = f"restored from v{d.version}" if as_version and restoring else ""
        try:
            saved = save_segment(ws, definition, author=identity.user, role=identity.role,
                                 segment_id=d.segment_id if as_version else None, note=note or default_note)
        except SegmentStudioError as exc:
            st.error(f"Not saved: {exc}")
            return
        draft.saved_as(saved)
        st.query_params["segment"] = saved.segment_id
        st.query_params.pop("version", None)
        cached_library.clear()
        st.toast(f"Saved {saved.definition.name} as version {saved.version} ({saved.audience_size:,} members)")
        st.rerun()

    asked = st.session_state.pop("builder_request", None)
    if asked in ("new", "version") and not why_not:
        if result.audience == 0:
            st.session_state["builder_confirm"] = asked  # an empty audience is saved only when confirmed
        else:
            save(as_version=asked == "version")
    elif asked in ("confirmed_new", "confirmed_version"):
        save(as_version=asked == "confirmed_version")
    if st.session_state.get("builder_confirm"):
        st.warning("This segment has no members today: exports of it would be empty. Save it anyway?",
                   icon=":material/warning:")
        pending = st.session_state["builder_confirm"]

        def answer(confirmed: bool) -> None:
            st.session_state.pop("builder_confirm", None)
            if confirmed:
                st.session_state["builder_request"] = f"confirmed_{pending}"

        c1, c2 = st.columns(2)
        c1.button("Save anyway", key="builder_confirm_empty", type="primary", width="stretch", on_click=answer,
                  args=(True,))
        c2.button("Cancel", key="builder_confirm_cancel", width="stretch", on_click=answer, args=(False,))
