"""The Exports page's scheduled syncs: schedule the export on the form, list, pause, resume, delete.

Nothing here is cached: a schedule list is a small read and must show a pause
or a run at once. Runs happen outside the page (``services.cli sync-due``,
from cron or the bundle's job), so the list shows each schedule's next run
and its last job, whose details are in the History below.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from components.text import plain
from components.warehouse import get_warehouse, warehouse_key
from services.clock import now
from services.errors import SegmentStudioError
from services.exports import jobs, schedules
from services.exports.base import ExportRequest
from services.exports.destinations import DESTINATIONS
from services.settings import Settings
from services.warehouse import Warehouse


def schedule_form(settings: Settings, request: ExportRequest, *, user: str, role: str,
                  blocked_why: str | None) -> None:
    """"Schedule this export": how often, whether only the changes go; runs as ``user``, in their role then."""
    with st.expander("Schedule this export"):
        c1, c2, c3 = st.columns(3)
        frequency = c1.selectbox("Every", schedules.FREQUENCIES, index=1, key="schedule_frequency",
                                 format_func=lambda f: {"hourly": "hour", "daily": "day", "weekly": "week"}[f])
        hour = c2.selectbox("At (UTC)", range(24), index=6, key="schedule_hour", format_func=lambda h: f"{h:02d}:00",
                            disabled=frequency == "hourly")
        weekday = c3.selectbox("On", range(7), format_func=lambda d: schedules.WEEKDAYS[d], key="schedule_weekday",
                               disabled=frequency != "weekly")
        diff = st.checkbox("Send only the changes since the last run (diff)", value=True, key="schedule_diff")
        st.caption("Each run exports the segment's latest version as an ordinary export job in your name, "
                   "with your permissions at that time. Secrets are not stored: a webhook's auth header comes "
                   "from the app's configuration ($SEGMENT_STUDIO_WEBHOOK_AUTH).")
        scheduled = replace(request, mode="diff" if diff else "full")
        st.button("Schedule", key="schedule_create", on_click=_create,
                  args=(settings, scheduled, frequency, int(hour), int(weekday), user, role),
                  disabled=blocked_why is not None, help=blocked_why)
    if st.session_state.get("schedule_message"):
        kind, text = st.session_state["schedule_message"]
        (st.success if kind == "ok" else st.error)(text)


def _create(settings: Settings, request: ExportRequest, frequency: str, hour: int, weekday: int, user: str,
            role: str) -> None:
    try:
        made = schedules.create(get_warehouse(warehouse_key(settings)), request, frequency=frequency, user=user,
                                role=role, hour_utc=hour, weekday=weekday)
        st.session_state["schedule_message"] = ("ok", f"Scheduled {made.schedule_id}: {made.describe()}.")
        st.session_state[VIEW_KEY] = SCHEDULED  # show the list with the new schedule in it
    except SegmentStudioError as exc:
        st.session_state["schedule_message"] = ("error", plain(exc))


def _change(settings: Settings, schedule_id: str, action: str, user: str, role: str) -> None:
    warehouse = get_warehouse(warehouse_key(settings))
    try:
        if action == "delete":
            schedules.delete(warehouse, schedule_id, user=user, role=role)
        else:
            schedules.set_status(warehouse, schedule_id, action, user=user, role=role)
        st.session_state["schedule_message"] = None
    except SegmentStudioError as exc:
        st.session_state["schedule_message"] = ("error", plain(exc))


def _last_job(warehouse: Warehouse, job_id: str | None) -> str:
    if not job_id:
        return ""
    try:
        return f"{job_id} ({jobs.get(warehouse, job_id).status})"
    except SegmentStudioError:
        return job_id


#: the Exports page shows the history or the scheduled syncs, one at a time (each is a read of its own)
VIEW_KEY, HISTORY, SCHEDULED = "exports_view", "History", "Scheduled syncs"


def chosen_view() -> str:
    """History or the scheduled syncs, as the page's switch says (History when nothing is picked)."""
    return st.segmented_control("Past and scheduled exports", [HISTORY, SCHEDULED], default=HISTORY, key=VIEW_KEY,
                                label_visibility="collapsed") or HISTORY


def schedule_list(settings: Settings, *, user: str, role: str) -> None:
    """The schedules the user may see (their own; everyone's for managers and admins), with controls."""
    st.subheader("Scheduled syncs")
    warehouse = get_warehouse(warehouse_key(settings))
    listed = schedules.listed(warehouse, user=user, role=role)
    if not listed:
        st.caption("No scheduled exports. Schedule one from the form above; `python -m services.cli sync-due` "
                   "(cron, or the bundle's job on Databricks) runs them when due.")
        return
    at = now()
    table = pd.DataFrame([{
        "schedule": s.schedule_id, "segment": s.segment_id,
        "destination": DESTINATIONS[s.request.destination].label if s.request.destination in DESTINATIONS
        else s.request.destination,
        "mode": s.request.mode, "when": s.describe(), "status": s.status, "owner": s.owner,
        "next run": ("due now" if s.is_due(at) else f"{s.next_run(at):%Y-%m-%d %H:%M} UTC")
        if s.status == "active" else "paused",
        "last job": _last_job(warehouse, s.last_job_id),
    } for s in listed])
    st.dataframe(table, hide_index=True, width="stretch", key="schedules_table")
    chosen = st.selectbox("Schedule", [s.schedule_id for s in listed], key="schedule_chosen")
    current = next(s for s in listed if s.schedule_id == chosen)
    b1, b2, _ = st.columns([1, 1, 4])
    toggle = "paused" if current.status == "active" else "active"
    b1.button("Pause" if toggle == "paused" else "Resume", key="schedule_toggle", on_click=_change,
              args=(settings, chosen, toggle, user, role))
    b2.button("Delete", key="schedule_delete", on_click=_change, args=(settings, chosen, "delete", user, role))
