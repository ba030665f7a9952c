"""A segment picker that shows each segment's size, so a choice is made knowing what it holds.

Sizes are the member counts saved with each segment's latest version (the library's list
carries them): no count runs while a user scrolls the list.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st


def size_label(name: str, size) -> str:
    """``Name · 1,234 members``; a segment saved without a count says so."""
    if size is None or pd.isna(size):
        return f"{name} · size not counted"
    return f"{name} · {int(size):,} member{'' if int(size) == 1 else 's'}"


def segment_picker(label: str, segments: pd.DataFrame, *, key: str, default: str | None = None,
                   container=st, help: str | None = None) -> str:
    """A selectbox over ``segments`` (the library's list) that returns a segment id."""
    labels = {row.segment_id: size_label(row.name, row.audience_size) for row in segments.itertuples()}
    ids = list(labels)
    if st.session_state.get(key) in ids:
        # Chosen before (or by an action, a duplicate say): the session keeps it; a default would clash.
        return container.selectbox(label, ids, format_func=labels.get, key=key, help=help)
    st.session_state.pop(key, None)  # a segment no longer listed (archived, filtered out)
    return container.selectbox(label, ids, index=ids.index(default) if default in ids else 0,
                               format_func=labels.get, key=key, help=help)


def saved_size(segments: pd.DataFrame, segment_id: str) -> int | None:
    """The chosen segment's saved member count, or None when it was saved without one."""
    size = segments.loc[segments["segment_id"] == segment_id, "audience_size"]
    return None if size.empty or pd.isna(size.iloc[0]) else int(size.iloc[0])
