"""The Data Quality page in a real browser, served to a manager (the shared e2e server's user is a marketer)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from services import naming

pytestmark = pytest.mark.e2e

RECON = naming.fq("txn", "audit_recon")
DATASET = naming.fq("gov", "dim_dataset")


@pytest.fixture(scope="module")
def expected(demo_warehouse):
    # The session's warehouse: the manager's server runs on a copy of it.
    return {
        "datasets": demo_warehouse.scalar(f"select count(*) from {DATASET}"),
        "recon": demo_warehouse.df(f"select * from {RECON} order by checked_ts desc limit 1").iloc[0],
    }


@pytest.fixture(scope="module")
def manager_url(served):
    return served("manager")[0]


def test_data_quality_page_shows_charts_and_real_numbers(manager_url, expected, page, tmp_path):
    # In through the home page and the navigation, as a user would: a server's very first
    # request to a page URL comes before st.navigation has registered the pages.
    page.goto(manager_url)
    expect(page.get_by_text("Rows per source")).to_be_visible()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Data Quality").click()
    expect(page.get_by_role("heading", name="Data Quality")).to_be_visible()
    datasets = page.get_by_test_id("stMetric").filter(has_text="Datasets")
    expect(datasets).to_contain_text(f"{expected['datasets']:,}")

    page.get_by_role("radio", name="Pass rate").click()
    chart = page.locator("[data-testid=stPlotlyChart], .js-plotly-plot").first
    expect(chart).to_be_visible(timeout=30_000)
    expect(page.locator(".js-plotly-plot .scatterlayer .trace").first).to_be_attached()

    page.get_by_role("radio", name="Reconciliation").click()
    recon = expected["recon"]
    expect(page.get_by_text(re.compile(f"^{recon['status']}: "))).to_be_visible()
    table = page.locator("table").first
    expect(table).to_contain_text(f"{recon['source_rows']:,}")
    expect(table).to_contain_text(recon["target_checksum"])
    page.screenshot(path=str(tmp_path / "data_quality.png"), full_page=True)
