"""The Segment Builder's save panel: save as a new segment or a new version, each button saying why
it is disabled when it is, and an empty audience saved only when confirmed.

A click asks for the save in the button's callback and the panel carries it out on the rerun, once
the page has compiled the draft: a click's own return value would not survive the rerun that page
navigation may start.
"""

from __future__ import annotations

import streamlit as st

from components import draft
from components.identity import Identity
from components.segments import cached_library
from components.text import plain
from services import rbac
from services.errors import SegmentStudioError
from services.segments.spec import SegmentDefinition
from services.segments.workspace import Workspace, save_segment

REQUEST, CONFIRM = "builder_request", "builder_confirm"


def _request(action: str) -> None:
    st.session_state[REQUEST] = action


def _answer(confirmed: bool) -> None:
    pending = st.session_state.pop(CONFIRM, None)
    if confirmed and pending:
        st.session_state[REQUEST] = f"confirmed_{pending}"


def _save(ws: Workspace, definition: SegmentDefinition, identity: Identity, *, as_version: bool, note: str) -> None:
    d = draft.current()
    try:
        saved = save_segment(ws, definition, author=identity.user, role=identity.role,
                             segment_id=d.segment_id if as_version else None,
                             note=note or (f"restored from v{d.version}" if as_version and d.restoring else ""))
    except SegmentStudioError as exc:
        st.error(f"Not saved: {plain(exc)}")
        return
    draft.saved_as(saved)
    st.query_params["segment"] = saved.segment_id
    st.query_params.pop("version", None)
    cached_library.clear()
    st.toast(f"Saved {plain(saved.definition.name)} as version {saved.version} ({saved.audience_size:,} members)")
    st.rerun()


def save_panel(ws: Workspace, definition: SegmentDefinition, *, audience: int, identity: Identity,
               complete: bool, changed: bool) -> None:
    """The version note, the two save buttons with the reasons they are disabled, and the confirmation."""
    d = draft.current()
    note = st.text_input("Version note", key="builder_note", placeholder="What changed and why")
    why_not = [] if rbac.can(identity.role, "save_segments") else [f"Your role ({identity.role}) cannot save segments."]
    if not complete:
        why_not.append("Complete or remove the unfinished conditions to save.")
    if not d.name.strip():
        why_not.append("Give the segment a name to save it.")
    why_not_version = (["Not saved yet: save it as a new segment first."] if not d.segment_id else
                       ["Sample campaigns are read-only templates: save your changes as a new segment."] if d.is_sample
                       else [] if changed or d.restoring else ["No changes to save as a new version."])
    s1, s2 = st.columns(2)
    s1.button("Save as new segment", type="primary" if not d.segment_id or d.is_sample else "secondary",
              disabled=bool(why_not), width="stretch", key="builder_save_new", help=" ".join(why_not) or None,
              on_click=_request, args=("new",))
    s2.button("Save new version", type="primary", disabled=bool(why_not or why_not_version), width="stretch",
              key="builder_save_version", help=" ".join(why_not + why_not_version) or None,
              on_click=_request, args=("version",))
    for reason in why_not + why_not_version:
        st.caption(reason)

    asked = st.session_state.pop(REQUEST, None)
    if asked in ("new", "version") and not why_not:
        if audience == 0:
            st.session_state[CONFIRM] = asked  # an empty audience is saved only when confirmed
        else:
            _save(ws, definition, identity, as_version=asked == "version", note=note)
    elif asked in ("confirmed_new", "confirmed_version"):
        _save(ws, definition, identity, as_version=asked == "confirmed_version", note=note)
    if st.session_state.get(CONFIRM):
        st.warning("This segment has no members today: exports of it would be empty. Save it anyway?",
                   icon=":material/warning:")
        c1, c2 = st.columns(2)
        c1.button("Save anyway", key="builder_confirm_empty", type="primary", width="stretch", on_click=_answer,
                  args=(True,))
        c2.button("Cancel", key="builder_confirm_cancel", width="stretch", on_click=_answer, args=(False,))
