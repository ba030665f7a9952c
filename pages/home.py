"""Home: which warehouse you are looking at, how fresh it is, and whether it reconciles."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import session
from components.warehouse import ensure_built, expected_rebuild, rebuild, warehouse_key
from services import rbac
from services.cost import estimate_action_cost
from services.errors import SegmentStudioError

settings = session.settings()
identity = session.identity()

st.title("Segment Studio")
st.caption("Build customer segments on your own lakehouse: point, click, activate.")

try:
    status = ensure_built(settings)
except SegmentStudioError as exc:
    st.error(f"The warehouse could not be opened or built: {exc}")
    st.stop()

c1, c2, c3, c4 = st.columns(4)
c1.metric("Engine", status.engine)
c2.metric("As-of date", str(status.as_of_date or "-"))
c3.metric("Customers with features", f"{status.gold_customers:,}")
c4.metric("Reconciled", {True: "Yes", False: "No", None: "-"}[status.reconciled])

if status.reconciled is False:
    st.error(f"The last reconciliation failed: {status.recon_message}")
elif status.reconciled:
    st.success(f"Last audit: {status.recon_message}")

st.subheader("Last build")
st.write(
    f"**{status.build_status}** at {status.built_at:%Y-%m-%d %H:%M UTC} · {status.build_message or ''}"
    if status.built_at is not None else status.build_status
)
where = "Embedded warehouse file" if status.engine == "DuckDB" else status.engine
st.caption(f"{where}: `{status.location}` · gold table: {status.gold_columns} columns per customer")

st.subheader("Rows per source")
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
        seconds = expected_rebuild(warehouse_key(settings))
        if seconds is None:
            st.caption("No earlier build to estimate from.")
        else:
            estimate = estimate_action_cost(seconds, settings.price_per_warehouse_hour)
            st.write(f"Expected to take about **{estimate.duration_s:,.0f} s** of warehouse time, "
                     f"about **${estimate.cost_usd:,.4f}** at ${settings.price_per_warehouse_hour:g} per warehouse-hour. "
                     "Every silver model is rebuilt, gold is recomputed and the quality checks run again.")
        if st.button("Rebuild now (full refresh)", key="home_rebuild"):
            bar = st.progress(0.0, text="starting")
            try:
                result = rebuild(settings, progress=lambda step, f: bar.progress(min(max(f, 0.0), 1.0), text=step))
            except SegmentStudioError as exc:
                st.error(f"The rebuild failed: {exc}")
            else:
                st.success(f"Rebuilt in {result.seconds:.1f} s: {result.gold_rows:,} customers, as of {result.as_of_date}.")
