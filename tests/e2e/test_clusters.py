"""The Cluster Explorer in a real browser, as an analyst: run a small clustering, save a
cluster as a segment, and find it in the library with the cluster's size. No map is
computed here (UMAP's first compile is not something a browser test should wait for)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def analyst_url(served):
    return served("analyst")[0]


def test_run_a_clustering_and_save_a_cluster_as_segment(analyst_url, page, tmp_path):
    page.goto(f"{analyst_url}/clusters")
    expect(page.get_by_role("heading", name="Cluster Explorer")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("No clustering runs yet")).to_be_visible(timeout=60_000)

    k = page.get_by_role("spinbutton", name="Clusters (k)")
    k.fill("3")
    k.press("Enter")
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Run clustering").click()
    clusters = page.get_by_test_id("stMetric").filter(has_text="Clusters")
    expect(clusters).to_contain_text("3", timeout=90_000)
    expect(page.get_by_text(re.compile(r"^Precision \d+%")).first).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()  # the z-score heatmap

    page.get_by_role("button", name="Save cluster as segment").click()
    notice = page.get_by_test_id("stAlertContentSuccess").filter(has_text="as segment")
    expect(notice).to_be_visible(timeout=30_000)
    text = notice.inner_text()
    segment_id = re.search(r"seg-[0-9a-f]+", text).group(0)
    members = re.search(r"\(([\d,]+) members\)", text).group(1)
    page.screenshot(path=str(tmp_path / "clusters.png"), full_page=True)

    page.goto(f"{analyst_url}/library?segment={segment_id}")
    expect(page.get_by_text(f"{members} members when saved")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(re.compile(r"in cluster 1 of run run-"))).to_be_visible()
