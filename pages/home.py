"""Home: where a marketer starts (a segment, recent work, sample campaigns, recent exports), then the warehouse."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from components import exports, quality, runs, session
from components.background import together
from components.segments import cached_library
from components.text import plain
from components.warehouse import ensure_built, expected_rebuild, warehouse_key
from services import rbac
from services.cost import estimate_action_cost
from services.errors import SegmentStudioError
from services.quality.overview import health

settings = session.settings()
identity = session.identity()
path = warehouse_key(settings)

st.title("Segment Studio")
st.caption("Build customer segments on your own lakehouse: point, click, activate.")

try:
    status = ensure_built(settings)
except SegmentStudioError as exc:
    st.error(f"The warehouse could not be opened or built: {exc}")
    st.stop()

# -- start here ------------------------------------------------------------------------
may_build = rbac.can(identity.role, "build_segments")
s1, s2, s3 = st.columns(3)
s1.page_link("pages/builder.py", label="Build a segment", icon=":material/add_circle:", disabled=not may_build,
             help=None if may_build else session.why_not("build_segments", "build segments"))
s2.page_link("pages/library.py", label="Browse the segment library", icon=":material/folder_open:")
if rbac.can(identity.role, "export"):
    s3.page_link("pages/exports.py", label="Export a segment", icon=":material/ios_share:")

may_export = rbac.can(identity.role, "export")


def or_error(read):
    """``read``, returning its SegmentStudioError instead of raising it (a summary that cannot be read says so)."""
    def run():
        try:
            return read()
        except SegmentStudioError as exc:
            return exc
    return run


# The summaries below do not depend on each other: read at once, one wait instead of four.
segments, recent, failing, issues = together(
    lambda: cached_library(path, "", False),
    lambda: exports.recent_jobs(path, user=identity.user, role=identity.role) if may_export else None,
    or_error(lambda: quality.failing_checks(path)), or_error(lambda: quality.open_issues(path)))
OPEN = st.column_config.LinkColumn("Open", display_text="open")
MEMBERS = st.column_config.NumberColumn("Members", format="localized", help="when the latest version was saved")
left, right = st.columns(2)
with left:
    st.subheader("Recent segments")
    own = segments[~segments["is_sample"]].head(5)
    if own.empty:
        st.caption("No segments of your own yet: start from a sample campaign or build one.")
    else:
        st.dataframe(pd.DataFrame({
            "Segment": own["name"], "Members": own["audience_size"], "Owner": own["owner"],
            "Updated": own["updated_ts"], "Open": "/builder?segment=" + own["segment_id"],
        }), hide_index=True, width="stretch", key="home_recent", column_config={
            "Open": OPEN, "Members": MEMBERS,
            "Updated": st.column_config.DatetimeColumn("Updated", format="YYYY-MM-DD HH:mm")})
with right:
    st.subheader("Sample campaigns")
    samples = segments[segments["is_sample"]]
    goals = [json.loads(b).get("goal", "") if isinstance(b, str) and b else "" for b in samples["brief_json"]]
    st.dataframe(pd.DataFrame({
        "Campaign": samples["name"], "Goal": goals, "Members": samples["audience_size"],
        "Open": "/library?segment=" + samples["segment_id"],
    }), hide_index=True, width="stretch", key="home_samples", column_config={"Open": OPEN, "Members": MEMBERS})
    st.caption("Templates to start from: open one, then save it as a new segment of your own.")

if may_export:
    st.subheader("Recent exports")
    if recent.empty:
        st.caption("No exports yet.")
    else:
        st.dataframe(pd.DataFrame({
            "Segment": recent["segment_name"], "Destination": recent["destination"], "Status": recent["status"],
            "Rows sent": recent["rows_exported"], "By": recent["created_by"], "Finished": recent["finished_ts"],
        }), hide_index=True, width="stretch", key="home_exports", column_config={
            "Rows sent": st.column_config.NumberColumn(format="localized"),
            "Finished": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})

# -- the data behind it ----------------------------------------------------------------------
st.divider()
st.subheader("Warehouse")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Engine", status.engine)
c2.metric("As-of date", str(status.as_of_date or "-"))
c3.metric("Customers with features", f"{status.gold_customers:,}")
c4.metric("Reconciled", {True: "Yes", False: "No", None: "-"}[status.reconciled])

if status.reconciled is False:
    st.error(f"The last reconciliation failed: {status.recon_message}")
elif status.reconciled:
    st.success(f"Last audit: {status.recon_message}")

# The same reads and the same counting as the Data Quality page, so both say the same.
dq_error = next((r for r in (failing, issues) if isinstance(r, SegmentStudioError)), None)
if dq_error is not None:
    st.warning(f"The data-quality results could not be read: {plain(dq_error)}")
else:
    dq = health(failing, issues)
    (st.warning if dq.failing_critical else st.info)(f"Data quality: {dq.describe()}.")
    if rbac.may_open(identity.role, "data_quality"):
        st.page_link("pages/data_quality.py", label="See the failing checks", icon=":material/verified:")

st.markdown("**Last build**")
built = f"**{status.build_status}** at {status.built_at:%Y-%m-%d %H:%M UTC}" if status.built_at is not None \
    else status.build_status
# A failed build's message says why; a good one's check tally is the Data Quality line's job.
st.write(built + (f" · {status.build_message}" if status.build_status != "succeeded" and status.build_message
                  else ""))
where = "Embedded warehouse file" if status.engine == "DuckDB" else status.engine
st.caption(f"{where}: `{status.location}` · gold table: {status.gold_columns} columns per customer")

st.markdown("**Rows per source**")
labels = {"ingest": "Ingest & landing", "ops": "Operational logs", "gov": "Governance & catalog",
          "cost": "Cost & billing", "txn": "Transactions", "gold": "Gold features"}
table = pd.DataFrame(
    [{"source": labels[s], "schema": f"customer_segmentation_for_retail_personalization_{s}",
      "tables": status.tables_per_source[s], "rows": f"{status.rows_per_source[s]:,}"}
     for s in status.rows_per_source]
).set_index("source")
# A plain table: six rows read better as text than in a scrolling grid.
st.table(table)

if rbac.can(identity.role, "rebuild_warehouse"):
    with st.expander("Rebuild the warehouse from the landing zone"):
        seconds = expected_rebuild(path)
        if seconds is None:
            st.caption("No earlier build to estimate from.")
        else:
            estimate = estimate_action_cost(seconds, settings.price_per_warehouse_hour)
            st.write(f"Expected to take about **{estimate.duration_s:,.0f} s** of warehouse time, "
                     f"about **${estimate.cost_usd:,.4f}** at ${settings.price_per_warehouse_hour:g} per warehouse-hour. "
                     "Every silver model is rebuilt, gold is recomputed and the quality checks run again.")
        def ask(asked: bool, run: bool = False) -> None:
            st.session_state["home_rebuild_asked"] = asked
            st.session_state["home_rebuild_run"] = run

        if not st.session_state.get("home_rebuild_asked"):
            st.button("Rebuild now (full refresh)", key="home_rebuild", on_click=ask, args=(True,))
        else:
            st.warning("Rebuild the whole warehouse now? It keeps the warehouse busy for about the time above, "
                       "and every page shows the old figures until it finishes.")
            r1, r2 = st.columns(2)
            r1.button("Yes, rebuild now", type="primary", key="home_rebuild_confirm", on_click=ask, args=(False, True))
            r2.button("Cancel", key="home_rebuild_cancel", on_click=ask, args=(False,))
        # A run of the bundle's build job (Databricks), or a thread of this process (locally): either goes on
        # whatever this page does, and Home follows it.
        if st.session_state.pop("home_rebuild_run", False):
            try:
                runs.start_rebuild(settings, user=identity.user, role=identity.role)
            except SegmentStudioError as exc:
                st.error(f"The rebuild was not started: {plain(exc)}")
        runs.rebuild_progress(settings)
