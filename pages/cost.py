"""Cost: platform spend by month, cost centre, resource and region; forecast vs actual; the app's own footprint."""

from __future__ import annotations

import streamlit as st

from components import cost, session
from components.segments import cached_library
from components.warehouse import ready_or_stop, warehouse_key
from services.cost import DIMENSIONS
from services.errors import SegmentStudioError

settings = session.settings()
path = warehouse_key(settings)

st.title("Cost")
session.gate("view_cost", feature="Cost", reason="it shows what each cost centre spends")

available = ready_or_stop(settings, lambda key: cost.load(key, settings), failure="The cost data could not be read")
if not available:
    st.info("No billing data has been loaded yet: the cost tables are empty.")
    st.stop()

c1, c2 = st.columns([1, 3])
month = c1.selectbox("Month", available, format_func=lambda m: f"{m:%B %Y}", key="cost_month")
c2.caption("Figures are USD after discounts, converted at each month's rate; the month picker lists months with billed usage.")

try:
    summary = cost.month_summary(path, month)
    k1, k2, k3, k4 = st.columns(4)
    k1.metric("Month total", cost.usd(summary.total_usd))
    k2.metric(f"vs {summary.previous_month:%b %Y}", cost.pct(summary.mom_change_pct),
              delta=cost.signed_usd(summary.mom_change_usd), delta_color="inverse")
    k3.metric("Forecast", cost.usd(summary.forecast_usd))
    k4.metric("Actual vs forecast", cost.pct(summary.forecast_variance_pct),
              delta=cost.signed_usd(summary.forecast_variance_usd), delta_color="inverse")

    left, right = st.columns(2)
    left.plotly_chart(cost.stacked_by_month(cost.monthly_costs(path, "cost_center"), title="Monthly cost by cost centre",
                                            selected=month), key="cost_chart_cost_center")
    right.plotly_chart(cost.forecast_line(cost.forecast_vs_actual(path), selected=month), key="cost_chart_forecast")
    left, right = st.columns(2)
    left.plotly_chart(cost.stacked_by_month(cost.monthly_costs(path, "resource_type"), title="By resource type",
                                            selected=month), key="cost_chart_resource_type")
    right.plotly_chart(cost.stacked_by_month(cost.monthly_costs(path, "region"), title="By region", selected=month),
                       key="cost_chart_region")

    st.subheader(f"Top cost drivers in {month:%B %Y}")
    labels = {"resource": "Resource", "cost_center": "Cost centre", "resource_type": "Resource type", "region": "Region"}
    by = st.segmented_control("Driver", list(DIMENSIONS), default="resource", format_func=labels.get,
                              key="cost_driver_by") or "resource"
    d1, d2 = st.columns(2)
    d1.markdown("**Largest**")
    with d1:
        cost.drivers_table(cost.top_drivers(path, month, by))
    d2.markdown(f"**Largest increases since {summary.previous_month:%b %Y}**")
    increases = cost.largest_increases(path, month, by)
    with d2:
        if increases.empty:
            st.caption("Nothing cost more than the month before.")
        else:
            cost.drivers_table(increases)

    with st.expander("List price and discounts this month"):
        st.dataframe(cost.price_context(path, month), hide_index=True, width="stretch", column_config={
            "resource_type": "Resource type", "usage_quantity": "Usage",
            "list_cost_usd": st.column_config.NumberColumn("List cost", format="$%.2f"),
            "net_cost_usd": st.column_config.NumberColumn("Billed cost", format="$%.2f"),
            "effective_discount": st.column_config.NumberColumn("Effective discount", format="percent"),
        })
        st.caption("Negotiated discounts in force:")
        st.dataframe(cost.discounts_in_force(path, month), hide_index=True, width="stretch",
                     column_config=cost.DISCOUNT_COLUMNS)

    st.subheader("Segment Studio's own footprint")
    footprint = cost.app_footprint(path)
    this_month = footprint[footprint["month_start"] == month]
    f1, f2 = st.columns(2)
    f1.metric("Tagged app resources this month", cost.usd(this_month["cost_usd"].sum()))
    f2.metric("Share of the month's platform cost",
              "-" if this_month.empty else f"{this_month['share_of_month'].iloc[0]:.1%}")
    st.caption("Resources tagged `app=segment_studio` in the billing data: the app's SQL warehouse and the app itself.")

    on_databricks = settings.engine == "databricks"
    if on_databricks:
        # The platform prices its own records: no price to type in.
        price = 0.0
        st.caption(f"The app's statements of the last {cost.PLATFORM_DAYS} days from system.query.history (by their "
                   "query tags), each sharing its hour's list cost of the SQL warehouse (system.billing): a "
                   "list-price estimate; the system tables lag by about an hour.")
    else:
        price = st.number_input("Price per warehouse-hour (USD)", min_value=0.0, value=5.0, step=0.5,
                                key="cost_price_per_hour",
                                help="What an hour of the SQL warehouse the app queries costs; prices the logged query time.")
    logged = cost.query_costs(path, settings, float(price))
    if logged.queries == 0:
        st.caption("No queries have been recorded yet: they appear as people use the app.")
    else:
        q1, q2, q3 = st.columns(3)
        q1.metric("Queries", f"{logged.queries:,}")
        q2.metric("Warehouse time", f"{logged.duration_s:,.1f} s")
        q3.metric("Estimated query cost", f"${logged.cost_usd:,.4f}")
        money = {"queries": "Queries", "rows": st.column_config.NumberColumn("Rows", format="localized"),
                 "duration_s": st.column_config.NumberColumn("Time (s)", format="%.2f"),
                 "cost_usd": st.column_config.NumberColumn("Cost", format="$%.4f")}
        p1, p2 = st.columns(2)
        p1.markdown("**Per page**")
        p1.dataframe(cost.by_page(logged.by_page), hide_index=True, width="stretch",
                     column_config={**money, "page": "Page"})
        p2.markdown("**Per segment**")
        p2.dataframe(cost.by_segment(logged.by_segment, cached_library(path, "", True)), hide_index=True,
                     width="stretch", column_config={**money, "segment": "Segment"})
except SegmentStudioError as exc:
    st.error(f"The cost figures could not be computed: {exc}")
