"""The builder flow in a real browser: two conditions by clicking, the count moves,
save, reload, and the library shows the segment with the same count."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def audience(page: Page) -> int:
    return int(page.get_by_test_id("stMetricValue").first.inner_text().replace(",", ""))


def wait_for_audience_change(page: Page, before: int, timeout_ms: int = 20_000) -> int:
    waited = 0
    while waited < timeout_ms:
        page.wait_for_timeout(250)
        waited += 250
        running = page.get_by_test_id("stStatusWidget").count()
        if not running:
            try:
                now = audience(page)
            except ValueError:
                continue
            if now != before:
                return now
    raise AssertionError(f"the audience stayed at {before:,}")


def test_build_two_conditions_save_reload_and_find_in_library(app_url, page, tmp_path):
    page.goto(app_url)
    expect(page.get_by_text("Rows per source")).to_be_visible()
    page.goto(f"{app_url}/builder")
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    base = audience(page)
    assert base > 1000

    # Condition 1: RFM segment is Loyal (the default field of a new trait).
    page.get_by_role("button", name="+ Trait").click()
    expect(page.get_by_text("not counted until complete")).to_be_visible()
    page.get_by_test_id("stMultiSelect").first.click()
    page.get_by_role("option", name=re.compile(r"^Loyal")).click()
    page.keyboard.press("Escape")
    loyal = wait_for_audience_change(page, base)
    assert 0 < loyal < base

    # Condition 2: bought at least once in the last 90 days (a new behaviour's defaults).
    page.get_by_role("button", name="+ Behaviour").click()
    recent_loyal = wait_for_audience_change(page, loyal)
    assert 0 < recent_loyal < loyal
    expect(page.get_by_text(re.compile(r"2\. Bought at least 1 time in the last 90 days"))).to_be_visible()  # phrased (issue 13)

    name = page.get_by_label("Segment name")
    name.fill("E2E recent loyal")
    name.press("Enter")
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Save as new segment").click()
    expect(page).to_have_url(re.compile(r"segment=seg-[0-9a-f]+"), timeout=20_000)
    segment_id = re.search(r"segment=(seg-[0-9a-f]+)", page.url).group(1)

    page.reload()
    expect(page.get_by_label("Segment name")).to_have_value("E2E recent loyal", timeout=30_000)
    expect(page.get_by_test_id("stMetricValue").first).to_have_text(f"{recent_loyal:,}", timeout=30_000)

    page.goto(f"{app_url}/library?segment={segment_id}")
    expect(page.get_by_role("heading", name="E2E recent loyal")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(f"{recent_loyal:,} members when saved")).to_be_visible()
    page.screenshot(path=str(tmp_path / "library.png"), full_page=True)
