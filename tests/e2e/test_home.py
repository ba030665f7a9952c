"""The Home page in a real browser: real numbers from the warehouse."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_home_page_shows_engine_as_of_and_row_counts(app_url, page, tmp_path):
    page.goto(app_url)
    expect(page.get_by_text("Segment Studio").first).to_be_visible()
    expect(page.get_by_text("DuckDB", exact=True)).to_be_visible()
    expect(page.get_by_text("2026-10-31")).to_be_visible()
    expect(page.get_by_text("Rows per source")).to_be_visible()
    table = page.get_by_test_id("stTableStyledTable")  # st.table; the start list is a dataframe grid
    expect(table).to_contain_text("Transactions")
    expect(table).to_contain_text("customer_segmentation_for_retail_personalization_txn")
    expect(page.get_by_text(re.compile(r"all batches and the fact table reconcile"))).to_be_visible()
    expect(page.get_by_test_id("stSidebarUserContent").get_by_text("e2e@example.com")).to_be_visible()
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
