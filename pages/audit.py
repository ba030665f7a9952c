"""Audit log: who saved, archived or exported what, when, how many rows, with which checksum."""

from __future__ import annotations

import streamlit as st

from components import audit, session
from components.warehouse import ready_or_stop, warehouse_key
from services.errors import SegmentStudioError

settings = session.settings()
path = warehouse_key(settings)

st.title("Audit log")
# The log names people and what they exported, so it is for the roles that
# already oversee the platform's use and spend.
session.gate("view_cost", feature="The audit log", reason="it shows who did what with customer data")

st.caption("Every segment change and every export writes one row: who, when, what, how many rows, checksum.")
available = ready_or_stop(settings, audit.facets, failure="The audit log could not be read")
if not available.actions:
    st.info("Nothing has been recorded yet: the log fills when segments are saved or exported.")
    st.stop()

filters = audit.filter_bar(available)
try:
    events = audit.events(path, filters)
    per_action = audit.counts(path, filters)
except SegmentStudioError as exc:
    st.error(f"The audit events could not be read: {exc}")
    st.stop()

total = int(per_action["events"].sum()) if not per_action.empty else 0
m1, m2, m3 = st.columns(3)
m1.metric("Matching events", f"{total:,}")
m2.metric("Actions", f"{len(per_action):,}")
m3.metric("Rows affected", f"{int(per_action['rows'].sum()):,}", help="Members saved or exported, summed over the events")

if events.empty:
    st.info("No event matches these filters. Clear the search or widen the dates.")
    st.stop()

st.subheader("Per action")
audit.counts_table(per_action)
st.subheader("Events, newest first")
audit.events_table(events)
if total > len(events):
    st.caption(f"Showing the newest {len(events):,} of {total:,} matching events; narrow the filters to see older ones.")
