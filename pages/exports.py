"""Exports: a segment to the tools that run campaigns, checked before, tracked after."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from components import exports as ui, schedules as schedule_ui, session
from components.background import together
from components.pickers import segment_picker
from components.segments import cached_library, catalog
from components.text import plain
from components.warehouse import ready_or_stop, warehouse_key
from services import rbac
from services.errors import SegmentStudioError
from services.exports.base import ExportRequest
from services.exports.destinations import DESTINATIONS
from services.exports.preflight import problems_frame

settings = session.settings()
identity = session.identity()
path = warehouse_key(settings)

st.title("Exports")
session.gate("export", feature="Exports", reason="sending customers to other tools needs the export permission")
# The catalog and the saved segments do not depend on each other: read at once.
cat, segments = ready_or_stop(settings, lambda key: together(lambda: catalog(key),
                                                             lambda: cached_library(key, "", False)))
if segments.empty:
    st.info("No saved segments yet. Build one in the Segment Builder.")
    st.stop()

# -- what, where, how ------------------------------------------------------------------
c1, c2, c3 = st.columns([3, 1, 2])
segment_id = segment_picker("Segment", segments, key="exports_segment", default=st.query_params.get("segment"),
                            container=c1, help="Members: the count saved with the segment's latest version")
latest = int(segments.loc[segments["segment_id"] == segment_id, "latest_version"].iloc[0])
version = c2.selectbox("Version", list(range(latest, 0, -1)), key=f"exports_version_{segment_id}")
dest_name = c3.selectbox("Destination", list(DESTINATIONS), format_func=lambda n: DESTINATIONS[n].label,
                         key="exports_destination")
dest = DESTINATIONS[dest_name]

c4, c5, c6 = st.columns([1, 2, 1])
mode = c4.radio("Mode", ["full", "diff"], horizontal=True, key="exports_mode",
                help="diff: only members added or removed since the last successful export of this segment here")
may_clear = rbac.can(identity.role, "export_unmasked")
if dest.fixed_schema:
    c5.caption("Identifiers: normalised and SHA-256 hashed as the platform requires.")
    identifiers, attributes = "hashed", ()
else:
    choices = ["none", "hashed", "clear"] if may_clear else ["none", "hashed"]
    identifiers = c5.radio("Contact identifiers", choices, horizontal=True, key="exports_identifiers",
                           help=None if may_clear else "Your role may not export personal data in clear; "
                                                       "identifiers go out hashed or not at all.")
    attributes = tuple(st.multiselect("Attributes", [f for f in cat.names if f != "customer_id"],
                                      format_func=lambda f: cat.feature(f).label, key="exports_attributes"))
include_control = c6.checkbox("Include control group", key="exports_include_control",
                              help="The control group is left out of activation exports unless you ask.")

options = ui.destination_settings(dest, settings)

try:
    request = ExportRequest(segment_id=segment_id, version=int(version), destination=dest_name, mode=mode,
                            attributes=attributes, include_control=include_control, identifiers=identifiers,
                            **options)
except SegmentStudioError as exc:
    st.error(plain(exc))
    st.stop()

# -- pre-flight ----------------------------------------------------------------------
st.subheader("Pre-flight check")
try:
    with st.spinner("Checking the audience"):
        # The export history (shown below) is read while the audience is checked.
        check, past = together(lambda: ui.preflight_check(settings, request, identity.role),
                               lambda: ui.history(settings, user=identity.user, role=identity.role))
        check = ui.at_past_rate(check, past, settings)
except SegmentStudioError as exc:
    st.error(f"The pre-flight check failed: {plain(exc)}")
    st.stop()

m1, m2, m3, m4 = st.columns(4)
m1.metric("Members", f"{check.members:,}")
m2.metric("Usable here", f"{check.usable:,}", help="with an identifier this destination can use")
m3.metric("Excluded", f"{check.excluded:,}")
if check.identifiers != "none":
    # A match rate is about identifiers the destination matches on: none sent, nothing to match.
    m4.metric("Predicted match rate", f"{check.predicted_match_rate:.0%}",
              help=f"usable share x a typical match rate of {check.expected_match_rate:.0%} for this destination")
else:
    m4.metric("Estimated duration", ui.seconds(check.estimate.duration_s), help=check.estimate_basis)
if check.split_groups:
    groups = ", ".join(f"{g}: {n:,}" for g, n in sorted(check.split_groups.items()))
    st.caption(f"Split groups: {groups}. "
               + ("The control group is included." if include_control else
                  f"The control group ({check.control_excluded:,}) is left out."))
problems = problems_frame(check)
if not problems.empty:
    st.markdown("**Invalid identifiers**")
    st.dataframe(problems, hide_index=True, width="content",
                 column_config={"identifier": "Identifier", "problem": "Problem", "members": "Members"})
pii = ", ".join(sorted(check.pii_columns)) or "none tagged"
st.caption(f"PII policy for your role ({identity.role}): personal columns per the governance catalog: {pii}. "
           + ("You may export them in clear." if check.may_export_clear else
              "They leave only hashed or not at all."))
st.caption(f"Estimated duration {ui.seconds(check.estimate.duration_s)} ({check.estimate_basis}) · estimated "
           f"warehouse cost ${check.estimate.cost_usd:,.4f} at ${settings.price_per_warehouse_hour:g}/hour")

# -- what must be settled before the click ----------------------------------------------
missing = dest.missing(request)
if missing:
    st.warning(f"{dest.label} needs its {' and '.join(m.lower() for m in missing)} before an export can start: "
               "enter it under Destination settings.")
override = False
if check.gate.blocked:
    st.error(f"Blocked by failing critical data-quality checks on this segment's inputs: {check.gate.describe()}.")
    if check.may_override:
        override = st.checkbox("Override the data-quality gate (audited)", key="exports_override")
    else:
        session.refuse(f"Your role ({identity.role}) may not override the gate; a manager may.")
confirm = ui.confirmations(check, override=override)
if check.usable == 0:
    st.warning("Nobody would be sent: " + ("the segment has no members today." if not check.members else
                                          "every member is excluded here."))
blocked_why = ui.why_not_run(check, missing, override=override)


def _run_export(req: ExportRequest, override_gate: bool, asks: tuple[str, ...]) -> None:
    st.session_state.pop("exports_error", None)
    if asks:
        # Started only from the confirmation below, which shows what is being accepted.
        st.session_state["exports_pending"] = (req, override_gate, asks)
        return
    _start(req, override_gate)


def _start(req: ExportRequest, override_gate: bool) -> None:
    st.session_state.pop("exports_pending", None)
    try:
        st.session_state["exports_job"] = ui.start_export(settings, req, user=identity.user, role=identity.role,
                                                          override_dq_gate=override_gate)
    except SegmentStudioError as exc:
        st.session_state["exports_error"] = plain(exc)


st.button("Run export", type="primary", key="exports_run", on_click=_run_export, args=(request, override, confirm),
          disabled=blocked_why is not None, help=blocked_why)
pending = st.session_state.get("exports_pending")
if pending and pending[0] != request:
    # The form changed since the click: what was to be confirmed is not what the form asks now.
    st.session_state.pop("exports_pending")
    pending = None
if pending:
    req, override_gate, asks = pending
    st.warning("Please confirm: " + " ".join(asks))
    y, n = st.columns([1, 4])
    y.button("Yes, export", type="primary", key="exports_confirm", on_click=_start, args=(req, override_gate))
    n.button("Cancel", key="exports_cancel", on_click=lambda: st.session_state.pop("exports_pending", None))
if st.session_state.get("exports_error"):
    st.error(st.session_state["exports_error"])
schedule_ui.schedule_form(settings, request, user=identity.user, role=identity.role,
                          blocked_why=f"{dest.label} needs its {' and '.join(m.lower() for m in missing)} first"
                          if missing else None)

# -- this session's job ----------------------------------------------------------------------
job_id = st.session_state.get("exports_job")
current = ui.job(settings, job_id, user=identity.user, role=identity.role) if job_id else None
if current is not None and not current.finished:
    # Polls only while this session's job runs: an idle page asks the warehouse nothing.
    @st.fragment(run_every=1.0)
    def live_status() -> None:
        job = ui.job(settings, job_id, user=identity.user, role=identity.role)
        if job.finished:
            st.rerun()  # the whole page: the finished job and its download are drawn outside this fragment
        st.progress(job.progress, text=f"{job.job_id}: {job.status} · {plain(job.message or '')}")

    live_status()
elif current is not None:
    if current.status == "succeeded":
        st.success(f"Export {current.job_id} succeeded: {ui.sent(current)} · sha256 {current.checksum[:16]}…")
        # Outside any polling fragment: a download button redrawn every second loses its file.
        ui.download_button(settings, current, key=f"exports_download_{current.job_id}", user=identity.user,
                           role=identity.role)
    else:
        st.error(f"Export {current.job_id} failed: {plain(current.message)}")

# -- history, or the scheduled syncs: only the one shown is read ----------------------------
if schedule_ui.chosen_view() == schedule_ui.SCHEDULED:
    schedule_ui.schedule_list(settings, user=identity.user, role=identity.role)
    st.stop()
st.subheader("History")
# Only the jobs this user may see (their own; everyone's for managers and admins), read with the check above.
if past.empty:
    st.caption("No exports yet.")
    st.stop()
table = pd.DataFrame({
    "job": past["job_id"], "segment": past["segment_name"], "version": past["segment_version"],
    "destination": past["destination"].map(lambda n: DESTINATIONS[n].label if n in DESTINATIONS else n),
    "mode": past["mode"], "status": past["status"],
    "exported": past["rows_exported"], "excluded": past["rows_excluded"], "by": past["created_by"],
    "started": past["started_ts"], "finished": past["finished_ts"],
})
st.dataframe(table, hide_index=True, width="stretch", key="exports_history", column_config={
    "job": "Job", "segment": "Segment", "version": "Version", "destination": "Destination", "mode": "Mode",
    "status": "Status", "exported": st.column_config.NumberColumn("Rows sent", format="localized"),
    "excluded": st.column_config.NumberColumn("Excluded", format="localized"), "by": "By",
    "started": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm:ss"),
    "finished": st.column_config.DatetimeColumn("Finished", format="YYYY-MM-DD HH:mm:ss")})
chosen = st.selectbox("Job details", list(past["job_id"]), key="exports_detail")
detail = ui.job(settings, chosen, user=identity.user, role=identity.role)
d1, d2 = st.columns(2)
d1.text(detail.summary())
d2.json({"request": json.loads(detail.request.to_json()), "excluded": detail.excluded,
         "dq_override": detail.dq_override})
ui.download_button(settings, detail, key=f"exports_past_download_{detail.job_id}", user=identity.user,
                   role=identity.role)


# Secrets (an auth header) are not kept with the job: the re-run takes the ones typed above.
again, missing = ui.rerun_request(detail, options, configured_secrets=ui.runs_remotely(settings))
st.button("Re-run this export", key="exports_rerun", on_click=_run_export, args=(again, detail.dq_override, ()),
          disabled=bool(missing), help="Runs the same request again as a new job" + (
              f" (enter the {' and '.join(missing)} above first: secrets are not stored)" if missing else ""))
