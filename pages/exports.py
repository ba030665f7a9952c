"""Exports: a segment to the tools that run campaigns, checked before, tracked after."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from components import exports as ui, session
from components.background import together
from components.segments import cached_library, catalog
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
names = dict(zip(segments["segment_id"], segments["name"]))
ids = list(names)
wanted = st.query_params.get("segment")
c1, c2, c3 = st.columns([3, 1, 2])
segment_id = c1.selectbox("Segment", ids, index=ids.index(wanted) if wanted in ids else 0, format_func=names.get,
                          key="exports_segment")
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
                                      key="exports_attributes"))
include_control = c6.checkbox("Include control group", key="exports_include_control",
                              help="The control group is left out of activation exports unless you ask.")

options = ui.destination_settings(dest, settings)

try:
    request = ExportRequest(segment_id=segment_id, version=int(version), destination=dest_name, mode=mode,
                            attributes=attributes, include_control=include_control, identifiers=identifiers,
                            **options)
except SegmentStudioError as exc:
    st.error(str(exc))
    st.stop()

# -- pre-flight ----------------------------------------------------------------------
st.subheader("Pre-flight check")
try:
    with st.spinner("Checking the audience"):
        # The export history (shown below) is read while the audience is checked.
        check, past = together(lambda: ui.preflight_check(settings, request, identity.role),
                               lambda: ui.history(settings))
except SegmentStudioError as exc:
    st.error(f"The pre-flight check failed: {exc}")
    st.stop()

m1, m2, m3, m4 = st.columns(4)
m1.metric("Members", f"{check.members:,}")
m2.metric("Usable here", f"{check.usable:,}", help="with an identifier this destination can use")
m3.metric("Excluded", f"{check.excluded:,}")
m4.metric("Predicted match rate", f"{check.predicted_match_rate:.0%}",
          help=f"usable share x a typical match rate of {check.expected_match_rate:.0%} for this destination")
if check.split_groups:
    groups = ", ".join(f"{g}: {n:,}" for g, n in sorted(check.split_groups.items()))
    st.caption(f"Split groups: {groups}. "
               + ("The control group is included." if include_control else
                  f"The control group ({check.control_excluded:,}) is left out."))
problems = problems_frame(check)
if not problems.empty:
    st.markdown("**Invalid identifiers**")
    st.dataframe(problems, hide_index=True, width="content")
pii = ", ".join(sorted(check.pii_columns)) or "none tagged"
st.caption(f"PII policy for your role ({identity.role}): personal columns per the governance catalog: {pii}. "
           + ("You may export them in clear." if check.may_export_clear else
              "They leave only hashed or not at all."))
st.caption(f"Estimated duration {check.estimate.duration_s:,.1f} s · estimated warehouse cost "
           f"${check.estimate.cost_usd:,.4f} at ${settings.price_per_warehouse_hour:g}/hour")

override = False
if check.gate.blocked:
    st.error(f"Blocked by failing critical data-quality checks on this segment's inputs: {check.gate.describe()}.")
    if check.may_override:
        override = st.checkbox("Override the data-quality gate (audited)", key="exports_override")
    else:
        st.caption("A manager may override the gate.")


def _run_export(req: ExportRequest, override_gate: bool) -> None:
    st.session_state.pop("exports_error", None)
    try:
        st.session_state["exports_job"] = ui.start_export(settings, req, user=identity.user, role=identity.role,
                                                          override_dq_gate=override_gate)
    except SegmentStudioError as exc:
        st.session_state["exports_error"] = str(exc)


st.button("Run export", type="primary", key="exports_run", on_click=_run_export, args=(request, override),
          disabled=check.gate.blocked and not override)
if st.session_state.get("exports_error"):
    st.error(st.session_state["exports_error"])


# -- live status -------------------------------------------------------------------------
@st.fragment(run_every=1.0)
def live_status() -> None:
    job_id = st.session_state.get("exports_job")
    if not job_id:
        return
    job = ui.job(settings, job_id)
    if not job.finished:
        st.progress(job.progress, text=f"{job.job_id}: {job.status} · {job.message or ''}")
        return
    if st.session_state.get("exports_announced") != job_id:
        # Once per job: rerun the whole page so the history below shows the finished job.
        st.session_state["exports_announced"] = job_id
        st.rerun()
    if job.status == "succeeded":
        st.success(f"Export {job.job_id} succeeded: {job.rows_exported:,} rows · sha256 {job.checksum[:16]}…")
        ui.download_button(job, key=f"exports_download_{job.job_id}")
    else:
        st.error(f"Export {job.job_id} failed: {job.message}")


live_status()

# -- history -------------------------------------------------------------------------------
st.subheader("History")
if past.empty:
    st.caption("No exports yet.")
    st.stop()
table = pd.DataFrame({
    "job": past["job_id"], "segment": past["segment_name"], "version": past["segment_version"],
    "destination": past["destination"], "mode": past["mode"], "status": past["status"],
    "exported": past["rows_exported"], "excluded": past["rows_excluded"], "by": past["created_by"],
    "started": past["started_ts"], "finished": past["finished_ts"],
})
st.dataframe(table, hide_index=True, width="stretch", key="exports_history",
             column_config={"started": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
                            "finished": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})
chosen = st.selectbox("Job details", list(past["job_id"]), key="exports_detail")
detail = ui.job(settings, chosen)
d1, d2 = st.columns(2)
d1.text(detail.summary())
d2.json({"request": json.loads(detail.request.to_json()), "excluded": detail.excluded,
         "dq_override": detail.dq_override})
ui.download_button(detail, key=f"exports_past_download_{detail.job_id}")


# Secrets (an auth header) are not kept with the job: the re-run takes the ones typed above.
again, missing = ui.rerun_request(detail.request, options)
st.button("Re-run this export", key="exports_rerun", on_click=_run_export, args=(again, detail.dq_override),
          disabled=bool(missing), help="Runs the same request again as a new job" + (
              f" (enter the {' and '.join(missing)} above first: secrets are not stored)" if missing else ""))
