"""Turn a definition found on a discovery page into a segment: save it to the
library, or open it as an editable draft in the Segment Builder."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components import draft
from components.segments import cached_library, saved_models, workspace
from components.text import plain
from services.errors import SegmentStudioError
from services.segments.library import SavedVersion
from services.segments.spec import SegmentDefinition
from services.segments.workspace import save_segment


def save_definition(path: str, definition: SegmentDefinition, *, user: str, role: str, note: str) -> SavedVersion:
    """Save as a new segment with its SQL and audience size, like the builder does."""
    saved_models.clear()  # a run or model saved moments ago must be known to the catalog
    saved = save_segment(workspace(path), definition, author=user, role=role, note=note)
    cached_library.clear()
    return saved


def open_in_builder(definition: SegmentDefinition) -> None:
    """Make the definition the Builder's draft, unsaved, then go there."""
    draft.open_unsaved(definition)
    st.switch_page("pages/builder.py")


def save_in_callback(key: str, save: Callable[[], SavedVersion]) -> None:
    """Run ``save`` in a button callback and keep its outcome (``<key>_saved`` or ``<key>_error``) for
    ``saved_notice(key)`` to show on the rerun."""
    try:
        saved = save()
    except SegmentStudioError as exc:
        st.session_state[f"{key}_error"] = f"Not saved: {plain(exc)}"
    else:
        st.session_state[f"{key}_saved"] = (saved.segment_id, saved.definition.name, saved.audience_size or 0)


def saved_notice(key: str) -> None:
    """Show (once) why a callback's save failed, or the segment it saved with a link to open it."""
    if f"{key}_error" in st.session_state:
        st.error(st.session_state.pop(f"{key}_error"))
    saved = st.session_state.pop(f"{key}_saved", None)
    if saved:
        segment_id, name, size = saved
        st.success(f"Saved **{plain(name)}** as segment `{segment_id}` ({size:,} members).")
        st.link_button("Open in Segment Builder", f"/builder?segment={segment_id}")
