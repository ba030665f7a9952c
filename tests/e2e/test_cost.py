"""The Cost page in a real browser, served as a manager: charts drawn and real figures shown."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

P = "customer_segmentation_for_retail_personalization"


@pytest.fixture(scope="module")
def manager_url(served):
    """The manager's server: the shared one runs with the default role, which may not view cost."""
    return served("manager")[0]


@pytest.fixture(scope="module")
def latest_month_total(demo_warehouse) -> tuple[dt.date, float]:
    # The session's own connection: DuckDB refuses a second, differently configured one to the same file.
    month, total = demo_warehouse.df(
        f"select cast(date_trunc('month', usage_date) as date) m, sum(cost_amount_usd) t "
        f"from {P}_cost.{P}_fact_cost_usage group by 1 order by 1 desc limit 1").iloc[0]
    return pd.Timestamp(month).date(), float(total)


def test_cost_page_draws_charts_and_the_month_total(manager_url, latest_month_total, page, tmp_path):
    month, total = latest_month_total
    page.goto(f"{manager_url}/cost")
    expect(page.get_by_role("heading", name="Cost").first).to_be_visible()
    kpi = page.get_by_test_id("stMetric").filter(has_text="Month total")
    expect(kpi).to_contain_text(f"${total:,.2f}", timeout=60_000)
    expect(page.get_by_text(f"{month:%B %Y}").first).to_be_visible()
    charts = page.locator(".js-plotly-plot")
    expect(charts.first).to_be_visible(timeout=60_000)
    assert charts.count() >= 1
    expect(page.get_by_text("Monthly cost by cost centre").first).to_be_visible()
    expect(page.get_by_text("manager@example.com")).to_be_visible()
    page.screenshot(path=str(tmp_path / "cost.png"), full_page=True)
