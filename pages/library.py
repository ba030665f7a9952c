"""Segment Library: saved segments, their versions and diffs, sample campaigns."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import session
from components.background import together
from components.pickers import segment_picker
from components.segments import cached_library, library, workspace
from components.text import plain
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
    "members": segments["audience_size"],
    "id": segments["segment_id"],
    "owner": segments["owner"],
    "version": segments["latest_version"],
    "updated": segments["updated_ts"],
    "sample": segments["is_sample"],
    "archived": segments["archived"],
    "open": "/builder?segment=" + segments["segment_id"],
})
st.dataframe(table, hide_index=True, width="stretch", column_config={
    "segment": "Segment", "id": "Id", "owner": "Owner", "version": "Version", "sample": "Sample",
    "archived": "Archived",
    "members": st.column_config.NumberColumn("Members", format="localized", help="when the latest version was saved"),
    "open": st.column_config.LinkColumn("Open", display_text="open in builder"),
    "updated": st.column_config.DatetimeColumn("Updated", format="YYYY-MM-DD HH:mm"),
})

chosen = segment_picker("Segment", segments, key="library_chosen", default=st.query_params.get("segment"))
# The list holds the segment's row; one query brings every version (the latest, the table, the diff).
info = with_brief(segments.loc[segments["segment_id"] == chosen].iloc[0].to_dict())
history = {v.version: v for v in lib.history(chosen)}
latest = history[max(history)]
st.subheader(plain(info["name"]))
st.caption(f"`{chosen}` · owner {plain(info['owner'])} · version {info['latest_version']} · "
           f"{latest.audience_size or 0:,} members when saved (as of {latest.as_of_date})"
           + (" · archived" if info["archived"] else ""))
if info.get("description"):
    st.markdown(plain(info["description"]))
if info.get("brief"):
    brief = info["brief"]
    b1, b2, b3, b4 = st.columns(4)
    b1.markdown(f"**Goal**  \n{plain(brief.get('goal', ''))}")
    b2.markdown(f"**Channel**  \n{plain(brief.get('channel', ''))}")
    b3.markdown(f"**Offer**  \n{plain(brief.get('offer', ''))}")
    b4.markdown(f"**KPI**  \n{plain(brief.get('kpi', ''))} · holdout {plain(brief.get('holdout_pct', 0))}%")
if info["is_sample"]:
    st.caption("A sample campaign: a read-only template. Duplicate it, or open it in the builder and save it as a "
               "new segment of your own.")
st.markdown(f"**Rule:** {plain(latest.definition.rule.describe())}")


# Actions run in callbacks, before the rerun draws the page: the list, the picker and the
# versions below then show what the action made (they showed the state before it).
def _outcome(kind: str, message: str) -> None:
    st.session_state["library_outcome"] = (kind, message)


def _duplicate(segment_id: str) -> None:
    try:
        copy = duplicate_segment(workspace(path), segment_id, author=identity.user, role=identity.role)
    except SegmentStudioError as exc:
        _outcome("error", f"Not duplicated: {exc}")
        return
    cached_library.clear()
    st.session_state["library_chosen"] = copy.segment_id
    # No user text in these messages: they are markdown, and names are shown as plain text elsewhere.
    _outcome("success", f"Duplicated as a new segment (`{copy.segment_id}`, {copy.audience_size or 0:,} members): "
                        "it is selected below.")


def _restore(segment_id: str, version: int) -> None:
    try:
        restored = restore_segment(workspace(path), segment_id, version, author=identity.user, role=identity.role)
    except SegmentStudioError as exc:
        _outcome("error", f"Not restored: {exc}")
        return
    cached_library.clear()
    _outcome("success", f"Restored: version {restored.version} now has the definition of version {version} "
                        f"({restored.audience_size or 0:,} members today).")


def _archive(segment_id: str, archive: bool) -> None:
    st.session_state["library_archive_asked"] = None
    try:
        lib.archive(segment_id, author=identity.user, role=identity.role, archived=archive)
    except SegmentStudioError as exc:
        _outcome("error", f"Not {'archived' if archive else 'unarchived'}: {exc}")
        return
    cached_library.clear()
    _outcome("success", f"{'Archived' if archive else 'Unarchived'} `{segment_id}`."
                        + (" Turn on *Show archived* to see it again." if archive else ""))


a1, a2, a3 = st.columns(3)
a1.link_button("Open in builder", f"/builder?segment={chosen}", width="stretch")
can_save = rbac.can(identity.role, "save_segments")
a2.button("Duplicate", disabled=not can_save, width="stretch", key="library_duplicate", on_click=_duplicate,
          args=(chosen,), help=session.why_not("save_segments", "save segments") or "A new segment with this definition")
may_archive = rbac.can(identity.role, "archive_segments")
refused = session.why_not("archive_segments", "archive segments")
if info["archived"]:
    a3.button("Unarchive", disabled=not may_archive, width="stretch", key="library_unarchive", on_click=_archive,
              args=(chosen, False), help=refused or "Back in the lists and pickers")
else:
    a3.button("Archive", disabled=not may_archive, width="stretch", key="library_archive",
              on_click=lambda: st.session_state.update(library_archive_asked=chosen),
              help=refused or "Hide it from the lists; exports and memberships of it keep working")
if st.session_state.get("library_archive_asked") == chosen and not info["archived"]:
    st.warning("Archive this segment? It leaves the lists and pickers; its versions, exports and the "
               "segments that use it keep working, and you can unarchive it.")
    y, n = st.columns([1, 4])
    y.button("Yes, archive", type="primary", key="library_archive_confirm", on_click=_archive, args=(chosen, True))
    n.button("Cancel", key="library_archive_cancel",
             on_click=lambda: st.session_state.update(library_archive_asked=None))
outcome = st.session_state.pop("library_outcome", None)
if outcome:
    (st.success if outcome[0] == "success" else st.error)(outcome[1])

st.subheader("Versions")
versions = versions_frame(list(history.values()))
st.dataframe(versions, hide_index=True, width="stretch", column_config={
    "version": "Version", "name": "Name", "author": "Author", "note": "Note",
    "created_ts": st.column_config.DatetimeColumn("Saved", format="YYYY-MM-DD HH:mm"),
    "audience_size": st.column_config.NumberColumn("Members when saved", format="localized"),
    "as_of_date": st.column_config.DateColumn("Data as of")})
numbers = list(versions["version"])
if len(numbers) >= 2:
    d1, d2 = st.columns(2)
    old = d1.selectbox("Compare version", numbers, index=1, key="library_old")
    new = d2.selectbox("with version", numbers, index=0, key="library_new")
    diff = version_diff(history[int(old)], history[int(new)])
    left, right = st.columns(2)
    left.markdown(f"**v{old}** · {plain(diff.old.author)} · {plain(diff.old.note or '')}")
    left.code(diff.old.definition.to_json(), language="json")
    left.code(diff.old.sql_databricks or "", language="sql")
    right.markdown(f"**v{new}** · {plain(diff.new.author)} · {plain(diff.new.note or '')}")
    right.code(diff.new.definition.to_json(), language="json")
    right.code(diff.new.sql_databricks or "", language="sql")
    if diff.changed:
        with st.expander("Changes (unified diff)"):
            st.code("\n".join(diff.definition_diff), language="diff")
    else:
        st.caption("The two versions have the same definition.")
restore = st.selectbox("Restore a version", numbers, key=f"library_restore_version_{chosen}")
st.button(f"Restore version {restore} as a new version", disabled=not can_save or bool(info["is_sample"]),
          key="library_restore", on_click=_restore, args=(chosen, int(restore)),
          help=session.why_not("save_segments", "save segments")
          or ("A sample campaign is a read-only template: duplicate it to change it" if info["is_sample"]
              else "Saves its definition as the newest version"))
