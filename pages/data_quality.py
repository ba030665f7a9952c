"""Data Quality: catalog and certifications, pass rates, failing checks, issues, freshness, reconciliation."""

from __future__ import annotations

import streamlit as st

from components import quality, session
from components.background import together
from components.warehouse import ready_or_stop, warehouse_key
from services.errors import SegmentStudioError
from services.quality.overview import summarize

settings = session.settings()
path = warehouse_key(settings)

st.title("Data Quality")
session.gate("view_data_quality", feature="Data quality",
             reason="it shows the state of every dataset and its owners")

st.caption("Checks from the governance source and the app's own checks on silver and gold, "
           "freshness against SLA, open issues, certifications and the audit trail.")
catalog, failing, issues, recon = ready_or_stop(
    settings, lambda key: together(lambda: quality.datasets(key), lambda: quality.failing_checks(key),
                                   lambda: quality.open_issues(key), lambda: quality.last_reconciliation(key)),
    failure="The data-quality tables could not be read")

summary = summarize(catalog, failing, issues, recon)
m1, m2, m3, m4, m5 = st.columns(5)
m1.metric("Datasets", f"{summary.datasets:,}")
m2.metric("Certified", f"{summary.certified:,}")
m3.metric("Failing checks", summary.failing_checks, help="latest result 'fail' or 'warn', both sources")
m4.metric("Failing critical", summary.failing_critical)
m5.metric("Open issues", summary.open_issues)
if summary.failing_critical:
    st.error(f"{summary.failing_critical} critical check(s) fail on their latest run: see Failing checks.")

SECTIONS = ["Datasets", "Pass rate", "Failing checks", "Issues", "Freshness", "Reconciliation"]
section = st.segmented_control("Section", SECTIONS, default="Datasets", key="dq_section",
                               label_visibility="collapsed") or "Datasets"

try:
    if section == "Datasets":
        search = st.text_input("Filter datasets", key="dq_dataset_search", placeholder="e.g. txn.fact or gold")
        shown = catalog[catalog["dataset"].str.contains(search, case=False, regex=False)] if search else catalog
        counts = catalog["certification_status"].fillna("not certified").value_counts()
        st.caption(" · ".join(f"{status}: {n}" for status, n in counts.items()))
        st.dataframe(
            shown.fillna({"certification_status": "not certified"})[
                ["dataset", "layer", "owner", "owner_team", "classification", "sensitivity", "contains_pii",
                 "certification_status", "certified_by", "certified_ts", "expires_ts"]],
            hide_index=True, width="stretch",
            column_config={
                "dataset": "Dataset", "layer": "Layer", "owner": "Owner", "owner_team": "Owner team",
                "classification": "Classification", "sensitivity": "Sensitivity", "contains_pii": "Personal data",
                "certification_status": st.column_config.TextColumn("Certification"),
                "certified_by": "Certified by",
                "certified_ts": st.column_config.DatetimeColumn("Certified", format="YYYY-MM-DD"),
                "expires_ts": st.column_config.DatetimeColumn("Expires", format="YYYY-MM-DD"),
            },
        )

    elif section == "Pass rate":
        windows = {"Last 30 days": 30, "Last 90 days": 90, "Last 365 days": 365, "All history": None}
        c1, c2 = st.columns([1, 3])
        window = c1.selectbox("Window", list(windows), index=1, key="dq_window")
        rates = quality.pass_rate(path, windows[window])
        names = sorted(rates["dataset"].unique())
        # Datasets that slipped at least once in the window are the ones worth a line by default.
        slipped = sorted(rates.loc[rates["pass_rate"] < 1, "dataset"].unique()) or names[:5]
        chosen = c2.multiselect("Datasets", names, default=slipped, key=f"dq_rate_datasets_{window}")
        shown = rates[rates["dataset"].isin(chosen)]
        if shown.empty:
            st.info("No check results for these datasets in this window.")
        else:
            st.plotly_chart(quality.pass_rate_chart(shown), key="dq_pass_rate_chart")
            totals = shown.groupby("dataset")[["passed", "checks"]].sum()
            totals["pass_rate"] = totals["passed"] / totals["checks"]
            st.caption("Pass rate per dataset over the window (checks passed / checks run, both sources)")
            st.dataframe(totals.sort_values("pass_rate").reset_index(), hide_index=True, width="stretch",
                         column_config={"dataset": "Dataset", "passed": "Passed", "checks": "Checks run",
                                        "pass_rate": st.column_config.NumberColumn("Pass rate", format="percent")})

    elif section == "Failing checks":
        if failing.empty:
            st.success("Every check's latest result passes.")
        else:
            table = failing[["dataset", "check_name", "severity", "status", "source", "observed_value", "threshold",
                             "checked_ts", "details"]]
            st.dataframe(quality.highlight_critical(table), hide_index=True, width="stretch",
                         column_config={**quality.CHECK_COLUMNS,
                                        "checked_ts": st.column_config.DatetimeColumn("Checked",
                                                                                     format="YYYY-MM-DD HH:mm")})
            labels = {i: f"{'CRITICAL · ' if row.critical else ''}{row.dataset} · {row.check_name} ({row.source})"
                      for i, row in failing.iterrows()}
            picked = st.selectbox("Check history", list(labels), format_func=labels.get, key="dq_check")
            row = failing.loc[picked]
            history = quality.check_history(path, row["source"], row["dataset_id"], row["check_name"])
            runs, failed = len(history), int((history["status"] != "pass").sum())
            st.caption(f"{runs} runs, {failed} not passing · latest: {row['details']}")
            st.plotly_chart(quality.check_history_chart(history), key="dq_check_chart")
            st.dataframe(history.iloc[::-1].head(20), hide_index=True, width="stretch", column_config={
                **quality.CHECK_COLUMNS, "run_id": "Run", "dq_id": "Result",
                "checked_ts": st.column_config.DatetimeColumn("Checked", format="YYYY-MM-DD HH:mm")})

    elif section == "Issues":
        st.subheader(f"Open issues ({len(issues)})")
        if issues.empty:
            st.success("No open issues.")
        else:
            st.dataframe(issues[["issue_id", "dataset", "title", "severity", "status", "opened_ts", "team_name",
                                 "team_email", "on_call", "escalation_email"]],
                         hide_index=True, width="stretch",
                         column_config={"issue_id": "Issue", "dataset": "Dataset", "title": "Title",
                                        "severity": "Severity", "status": "Status", "team_name": "Team",
                                        "team_email": "Team email", "on_call": "On call",
                                        "escalation_email": "Escalation",
                                        "opened_ts": st.column_config.DatetimeColumn("Opened", format="YYYY-MM-DD")})
        st.subheader("Remediation teams")
        st.dataframe(quality.remediation_teams(path), hide_index=True, width="stretch", column_config={
            **quality.TEAM_COLUMNS,
            "avg_hours_to_resolve": st.column_config.NumberColumn("Average hours to resolve", format="%.1f"),
        })

    elif section == "Freshness":
        fresh = quality.freshness(path)
        if fresh.empty:
            st.info("The app's freshness checks have not run yet: they run after every build.")
        else:
            stale = fresh.loc[fresh["status"] != "pass", "dataset"]
            if stale.empty:
                st.success(f"All {len(fresh)} datasets the app checks are within their SLA")
            else:
                st.error(f"{len(stale)} of {len(fresh)} datasets are older than their SLA: {', '.join(stale)}")
            st.caption("Age: from the end of each dataset's newest data (its newest posting, as-of date or "
                       "change) to the last check. Rebuilding old data does not make it fresh.")
            st.plotly_chart(quality.freshness_chart(fresh), key="dq_freshness_chart")
            st.dataframe(fresh[["dataset", "age_days", "sla_hours", "headroom_hours", "status", "checked_ts",
                                "details"]], hide_index=True, width="stretch",
                         column_config={"dataset": "Dataset",
                                        "age_days": st.column_config.NumberColumn("Age (days)", format="%.1f"),
                                        "sla_hours": st.column_config.NumberColumn("SLA (hours)", format="%g"),
                                        "headroom_hours": st.column_config.NumberColumn("Headroom (hours)",
                                                                                        format="%.1f"),
                                        "status": "Status", "details": "Details",
                                        "checked_ts": st.column_config.DatetimeColumn("Checked",
                                                                                     format="YYYY-MM-DD HH:mm")})

    elif section == "Reconciliation":
        if recon is None:
            st.warning("No reconciliation has been recorded: rebuild the warehouse to run one.")
        else:
            st.subheader("Last reconciliation: raw -> fact")
            ok = recon.status == "matched"
            (st.success if ok else st.error)(f"{recon.status}: {recon.message or ''}")
            st.caption(f"run `{recon.run_id}` · {recon.check_name} · "
                       f"{recon.checked_ts:%Y-%m-%d %H:%M UTC}" if recon.checked_ts else f"run `{recon.run_id}`")
            st.table(recon.side_by_side().set_index("measure"))
        batches = quality.ingest_batches(path)
        st.subheader(f"Latest load per batch: stg -> raw ({len(batches)} batches)")
        mismatched = int((~batches["matched"]).sum())
        if mismatched:
            st.error(f"{mismatched} batch(es) do not match between source and target")
        st.dataframe(batches[["batch_id", "source_rows", "target_rows", "source_checksum", "target_checksum",
                              "status", "matched", "run_id", "finished_ts"]], hide_index=True, width="stretch",
                     column_config={"batch_id": "Batch", "source_rows": "Source rows", "target_rows": "Target rows",
                                    "source_checksum": "Source checksum", "target_checksum": "Target checksum",
                                    "status": "Status", "matched": "Matched", "run_id": "Run",
                                    "finished_ts": st.column_config.DatetimeColumn("Finished",
                                                                                   format="YYYY-MM-DD HH:mm")})
except SegmentStudioError as exc:
    st.error(f"This section could not be read: {exc}")
