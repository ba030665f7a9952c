"""Segment Library: saved segments, their versions and diffs, sample campaigns."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import session
from components.background import together
from components.segments import cached_library, library, workspace
from components.warehouse import ready_or_stop, warehouse_key
from services import rbac
from services.errors import SegmentStudioError
from services.segments.library import version_diff, versions_frame, with_brief
from services.segments.workspace import duplicate_segment, restore_segment

settings = session.settings()
identity = session.identity()
path = warehouse_key(settings)

st.title("Segment Library")
# The list as it first shows (no search, no archived) is read while the warehouse is checked.
lib, _ = ready_or_stop(settings, lambda key: together(lambda: library(key), lambda: cached_library(key, "", False)))

c1, c2 = st.columns([3, 1])
search = c1.text_input("Search", key="library_search", placeholder="name, description, owner or id")
archived = c2.toggle("Show archived", key="library_archived")
segments = cached_library(path, search, archived)
if segments.empty:
    st.info("No segments match. Build one in the Segment Builder.")
    st.stop()

table = pd.DataFrame({
    "segment": segments["name"],
    "id": segments["segment_id"],
    "owner": segments["owner"],
    "version": segments["latest_version"],
    "updated": segments["updated_ts"],
    "sample": segments["is_sample"],
    "archived": segments["archived"],
    "open": "/builder?segment=" + segments["segment_id"],
})
st.dataframe(table, hide_index=True, width="stretch", column_config={
    "open": st.column_config.LinkColumn("open", display_text="open in builder"),
    "updated": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
})

names = dict(zip(segments["segment_id"], segments["name"]))
default = st.query_params.get("segment")
ids = list(names)
chosen = st.selectbox("Segment", ids, index=ids.index(default) if default in ids else 0, format_func=names.get,
                      key="library_chosen")
# The list holds the segment's row; one query brings every version (the latest, the table, the diff).
info = with_brief(segments.loc[segments["segment_id"] == chosen].iloc[0].to_dict())
history = {v.version: v for v in lib.history(chosen)}
latest = history[max(history)]
st.subheader(info["name"])
st.caption(f"`{chosen}` · owner {info['owner']} · version {info['latest_version']} · "
           f"{latest.audience_size or 0:,} members when saved (as of {latest.as_of_date})")
if info.get("description"):
    st.write(info["description"])
if info.get("brief"):
    brief = info["brief"]
    b1, b2, b3, b4 = st.columns(4)
    b1.markdown(f"**Goal**  \n{brief.get('goal', '')}")
    b2.markdown(f"**Channel**  \n{brief.get('channel', '')}")
    b3.markdown(f"**Offer**  \n{brief.get('offer', '')}")
    b4.markdown(f"**KPI**  \n{brief.get('kpi', '')} · holdout {brief.get('holdout_pct', 0)}%")
st.markdown(f"**Rule:** {latest.definition.rule.describe()}")

a1, a2, a3 = st.columns(3)
a1.link_button("Open in builder", f"/builder?segment={chosen}", width="stretch")
can_save = rbac.can(identity.role, "save_segments")
if a2.button("Duplicate", disabled=not can_save, width="stretch", key="library_duplicate"):
    try:
        copy = duplicate_segment(workspace(path), chosen, author=identity.user, role=identity.role)
    except SegmentStudioError as exc:
        st.error(f"Not duplicated: {exc}")
    else:
        cached_library.clear()
        st.success(f"Duplicated as {copy.definition.name} ({copy.segment_id}, {copy.audience_size:,} members)")
archive_label = "Unarchive" if info["archived"] else "Archive"
if a3.button(archive_label, disabled=not rbac.can(identity.role, "archive_segments"), width="stretch",
             key="library_archive"):
    lib.archive(chosen, author=identity.user, archived=not info["archived"])
    cached_library.clear()
    st.rerun()

st.subheader("Versions")
versions = versions_frame(list(history.values()))
st.dataframe(versions, hide_index=True, width="stretch")
numbers = list(versions["version"])
if len(numbers) >= 2:
    d1, d2 = st.columns(2)
    old = d1.selectbox("Compare version", numbers, index=1, key="library_old")
    new = d2.selectbox("with version", numbers, index=0, key="library_new")
    diff = version_diff(history[int(old)], history[int(new)])
    left, right = st.columns(2)
    left.markdown(f"**v{old}** · {diff.old.author} · {diff.old.note or ''}")
    left.code(diff.old.definition.to_json(), language="json")
    left.code(diff.old.sql_databricks or "", language="sql")
    right.markdown(f"**v{new}** · {diff.new.author} · {diff.new.note or ''}")
    right.code(diff.new.definition.to_json(), language="json")
    right.code(diff.new.sql_databricks or "", language="sql")
    if diff.changed:
        with st.expander("Changes (unified diff)"):
            st.code("\n".join(diff.definition_diff), language="diff")
    else:
        st.caption("The two versions have the same definition.")
restore = st.selectbox("Restore a version", numbers, key="library_restore_version")
if st.button(f"Restore version {restore} as a new version", disabled=not can_save, key="library_restore"):
    try:
        restored = restore_segment(workspace(path), chosen, int(restore), author=identity.user, role=identity.role)
    except SegmentStudioError as exc:
        st.error(f"Not restored: {exc}")
    else:
        cached_library.clear()
        st.success(f"Restored: version {restored.version} now has the definition of version {restore} "
                   f"({restored.audience_size:,} members today)")
