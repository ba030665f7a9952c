"""Cached reads of the audit log and the Audit log page's filter bar and tables.

The log grows whenever someone saves a segment or runs an export, so reads
are cached for thirty seconds only: long enough to make reruns cheap, short
enough that a manager sees a colleague's save almost at once. Cached
functions take the warehouse path and plain values (tuples, dates, strings).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from components.warehouse import get_warehouse
from services import audit_view

TTL = 30
LIMIT = 500
ALL_TYPES = "All object types"


@dataclass(frozen=True)
class Filters:
    """What the filter bar asks for, as plain values a cache can key on."""

    actors: tuple[str, ...]
    actions: tuple[str, ...]
    object_type: str | None
    since: dt.date | None
    until: dt.date | None
    search: str

    def as_kwargs(self) -> dict:
        return dict(actors=self.actors, actions=self.actions, object_type=self.object_type,
                    since=self.since, until=self.until, search=self.search or None)


@st.cache_data(ttl=TTL, show_spinner=False)
def facets(path: str) -> audit_view.AuditFacets:
    return audit_view.audit_facets(get_warehouse(path))


@st.cache_data(ttl=TTL, max_entries=50, show_spinner=False)
def events(path: str, filters: Filters) -> pd.DataFrame:
    return audit_view.audit_events(get_warehouse(path), **filters.as_kwargs(), limit=LIMIT)


@st.cache_data(ttl=TTL, max_entries=50, show_spinner=False)
def counts(path: str, filters: Filters) -> pd.DataFrame:
    return audit_view.action_counts(get_warehouse(path), **filters.as_kwargs())


def filter_bar(available: audit_view.AuditFacets) -> Filters:
    """The filter widgets; an empty multiselect means every value, as in the service."""
    c1, c2, c3 = st.columns([2, 2, 1])
    actors = c1.multiselect("Actor", available.actors, key="audit_actors", placeholder="Everyone")
    actions = c2.multiselect("Action", available.actions, key="audit_actions", placeholder="Every action")
    object_type = c3.selectbox("Object type", (ALL_TYPES, *available.object_types), key="audit_object_type")
    c4, c5 = st.columns([2, 3])
    first = available.first.date() if available.first else dt.date.today()
    last = available.last.date() if available.last else dt.date.today()
    picked = c4.date_input("Between (UTC)", value=(first, last), key="audit_dates", format="YYYY-MM-DD")
    # While the user is picking, the range has only its first date: filter from it, open-ended.
    chosen = tuple(picked) if isinstance(picked, (tuple, list)) else (picked,)
    since = chosen[0] if chosen else None
    until = chosen[1] if len(chosen) > 1 else None
    search = c5.text_input("Search", key="audit_search",
                           placeholder="segment id, export name, note, checksum ...").strip()
    return Filters(actors=tuple(actors), actions=tuple(actions),
                   object_type=None if object_type == ALL_TYPES else object_type,
                   since=since, until=until, search=search)


def _utc(series: pd.Series) -> pd.Series:
    # Shown as naive UTC with the zone in the column label, like the filter bar.
    times = pd.to_datetime(series)
    return times.dt.tz_convert("UTC").dt.tz_localize(None) if times.dt.tz is not None else times


def events_table(frame: pd.DataFrame) -> None:
    shown = pd.DataFrame({
        "time": _utc(frame["event_ts"]),
        "actor": frame["actor"],
        "role": frame["role"],
        "action": frame["action"],
        "object": (frame["object_type"].fillna("") + " " + frame["object_id"].fillna("")).str.strip(),
        "version": frame["object_version"],
        "rows": frame["row_count"],
        "checksum": frame["checksum"],
        "details": frame["details"],
    })
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "time": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "actor": "Actor", "role": "Role", "action": "Action", "object": "Object", "checksum": "Checksum",
        "version": st.column_config.NumberColumn("Version", format="%d"),
        "rows": st.column_config.NumberColumn("Rows", format="%d"),
        "details": st.column_config.TextColumn("Details", width="large"),
    })


def counts_table(frame: pd.DataFrame) -> None:
    st.dataframe(frame.assign(last_event=_utc(frame["last_event"])), hide_index=True, width="stretch",
                 column_config={
                     "action": "Action",
                     "events": st.column_config.NumberColumn("Events", format="%d"),
                     "rows": st.column_config.NumberColumn("Rows affected", format="%d"),
                     "last_event": st.column_config.DatetimeColumn("Last event (UTC)", format="YYYY-MM-DD HH:mm"),
                 })
