"""Home: which warehouse you are looking at, how fresh it is, and whether it reconciles."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import session

from components.warehouse import ensure_built
from services.errors import SegmentStudioError

settings = session.settings()

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
st.caption(f"Embedded warehouse file: `{status.location}` · gold table: {status.gold_columns} columns per customer")

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
