"""AppTest of the Cost page: real numbers for managers, a reason for everyone else."""

from __future__ import annotations

import datetime as dt

P = "customer_segmentation_for_retail_personalization"
USAGE = f"{P}_cost.{P}_fact_cost_usage"


def direct_total(warehouse, month: dt.date, extra: str = "") -> float:
    """Straight from the daily fact of the demo warehouse (the app runs on its own copy)."""
    end = (month + dt.timedelta(days=32)).replace(day=1)
    return float(warehouse.scalar(f"select sum(cost_amount_usd) from {USAGE} "
                                  f"where usage_date >= $s and usage_date < $e {extra}", {"s": month, "e": end}))


def metric(at, label: str):
    return next(m for m in at.metric if m.label == label)


def usd(value: float) -> str:
    return f"${value:,.2f}"


def test_a_manager_sees_the_month_total_forecast_and_charts(app, demo_warehouse):
    at = app(page="pages/cost.py", role="manager")
    month = at.selectbox(key="cost_month").value
    assert isinstance(month, dt.date) and month.day == 1
    assert not at.error
    total = direct_total(demo_warehouse, month)
    assert metric(at, "Month total").value == usd(total)
    before = (month - dt.timedelta(days=1)).replace(day=1)
    previous = direct_total(demo_warehouse, before)
    change = metric(at, f"vs {before:%b %Y}")
    assert change.value == f"{(total - previous) / previous:+.1%}"
    assert metric(at, "Forecast").value.startswith("$")
    assert len(at.get("plotly_chart")) == 4
    tagged = direct_total(demo_warehouse, month, "and tag_app = 'segment_studio'")
    assert metric(at, "Tagged app resources this month").value == usd(tagged)
    assert at.number_input(key="cost_price_per_hour").value == 5.0


def test_picking_another_month_shows_that_months_total(app, demo_warehouse):
    at = app(page="pages/cost.py", role="manager")
    # Options are the formatted labels ("October 2026"), newest first.
    oldest = dt.datetime.strptime(at.selectbox(key="cost_month").options[-1], "%B %Y").date()
    at.selectbox(key="cost_month").set_value(oldest).run()
    assert not at.exception and not at.error
    assert metric(at, "Month total").value == usd(direct_total(demo_warehouse, oldest))


def test_a_marketer_is_told_why_the_page_is_not_available(app):
    at = app(page="pages/cost.py", role="marketer")
    assert not at.error
    assert any("not available for your role" in i.value and "manager, admin" in i.value for i in at.info)
    assert not at.metric and not at.get("plotly_chart")


def test_the_apps_own_query_cost_names_pages_and_segments(app):
    """Per segment showed ids ("sample-vip-...", "seg-3f..."), per page url paths: now names and titles."""
    import os
    from pathlib import Path

    from services.warehouse.duckdb_engine import DuckDBWarehouse
    from services.warehouse.querylog import LoggedWarehouse

    logged = LoggedWarehouse(DuckDBWarehouse(Path(os.environ["SEGMENT_STUDIO_WAREHOUSE"])))
    with logged.context(user="ana@example.com", page="builder", segment_id="sample-vip-champions-early-access"):
        logged.scalar("select 1")
    with logged.context(user="ana@example.com", page="data_quality", segment_id="seg-gone"):
        logged.scalar("select 1")
    logged.flush()
    logged.inner.close()
    at = app(page="pages/cost.py", role="manager")
    pages, segments = (d.value for d in at.dataframe[-2:])
    assert {"Segment Builder", "Data Quality"} <= set(pages["page"])
    assert list(segments.columns[:2]) == ["segment", "queries"]
    assert {"VIP champions: early access", "seg-gone"} <= set(segments["segment"])
