"""One journey per role through the real app in Chromium: each role's own tasks, end to end, with no
exception box and no console error from the app. (The marketer's Builder journey is in test_builder.py.)

Each role has its own server for the session (``served`` in conftest.py): its own warehouse copy,
its role pinned, the user ``<role>@example.com``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

VIP = "sample-vip-champions-early-access"
#: every page's title in the navigation, and which roles see it there
MENU = {
    "Home": {"viewer", "marketer", "analyst", "manager", "admin"},
    "Segment Builder": {"viewer", "marketer", "analyst", "manager", "admin"},
    "Segment Library": {"viewer", "marketer", "analyst", "manager", "admin"},
    "Exports": {"marketer", "manager", "admin"},
    "Cluster Explorer": {"viewer", "marketer", "analyst", "manager", "admin"},
    "Lookalikes": {"viewer", "marketer", "analyst", "manager", "admin"},
    "Data Quality": {"analyst", "manager", "admin"},
    "Cost": {"manager", "admin"},
    "Audit log": {"manager", "admin"},
    "Roles": {"viewer", "marketer", "analyst", "manager", "admin"},
}


class Journey:
    """A page with its console watched: app errors and exception boxes fail the journey."""

    def __init__(self, page: Page, url: str):
        self.page, self.url, self.errors = page, url, []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, message) -> None:
        where = message.location.get("url", "")
        # This machine has no internet: a file from elsewhere (the material icon the browser tab shows,
        # from fonts.gstatic.com) fails to load, which says nothing about the app.
        # Opened by a deep link (/exports), Streamlit's frontend first asks /exports/_stcore/... for its
        # host config and falls back to /_stcore/ on the 404: the framework finding its base path.
        probe = "/_stcore/" in where and where.split("/_stcore/")[0] != self.url
        if message.type == "error" and not probe and (not where.startswith("http") or where.startswith(self.url)):
            self.errors.append(f"{message.text} ({where})")

    def start(self) -> Journey:
        # In through Home, as a user would (and so the server has its navigation before a page link).
        self.page.goto(self.url)
        expect(self.page.get_by_role("heading", name="Segment Studio")).to_be_visible(timeout=60_000)
        return self

    def open(self, title: str, heading: str | None = None) -> None:
        self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
        expect(self.page.get_by_role("heading", name=heading or title).first).to_be_visible(timeout=60_000)
        self.fine()

    def menu(self) -> set[str]:
        links = self.page.get_by_test_id("stSidebarNav").get_by_role("link")
        # Each link reads "<icon name>\n\n<title>": the title is its last line.
        return {links.nth(i).inner_text().strip().splitlines()[-1] for i in range(links.count())}

    def fine(self) -> None:
        expect(self.page.get_by_test_id("stException")).to_have_count(0)
        assert not self.errors, self.errors


def test_a_marketer_exports_and_downloads_then_grows_a_lookalike_and_saves_it(served, page, tmp_path):
    url, folder = served("marketer")
    me = Journey(page, url).start()
    assert me.menu() == {t for t, roles in MENU.items() if "marketer" in roles}
    expect(page.get_by_text("Sample campaigns")).to_be_visible()

    me.open("Exports")
    page.get_by_test_id("stSelectbox").filter(has_text="Segment").first.click()
    page.get_by_role("option", name=re.compile(r"^VIP champions: early access · [\d,]+ members$")).click()
    expect(page.get_by_role("heading", name="Pre-flight check")).to_be_visible()
    page.get_by_role("button", name="Run export").click()
    done = page.get_by_text(re.compile(r"Export exp-[0-9a-f]+ succeeded"))
    expect(done).to_be_visible(timeout=60_000)
    job_id = re.search(r"exp-[0-9a-f]+", done.inner_text()).group(0)
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile(rf"Download .*{job_id}\.csv")).first.click()
    (written,) = (folder / "exports").glob(f"*{job_id}.csv")
    assert Path(download.value.path()).read_bytes() == written.read_bytes()
    me.fine()

    me.open("Lookalikes")
    page.get_by_test_id("stSelectbox").filter(has_text="Seed segment").click()
    page.get_by_role("option", name=re.compile(r"^Lapsed reactivation · ")).click()
    page.get_by_role("button", name="Train lookalike").click()
    expect(page.get_by_test_id("stMetric").filter(has_text="Held-out recall")).to_be_visible(timeout=120_000)
    name = page.get_by_label("Segment name")
    name.fill("Lapsed lookalikes for the spring mailing")
    name.press("Enter")
    expect(page.get_by_text("What sets the seed apart")).to_be_visible()
    # A data grid draws on a canvas; its headers are there for screen readers.
    expect(page.locator("th", has_text="Model weight (log-odds per standard deviation)")).to_be_attached()
    page.get_by_role("button", name="Save as segment").click()
    saved = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Lapsed lookalikes for the spring mailing")
    expect(saved).to_be_visible(timeout=60_000)
    me.fine()
    page.screenshot(path=str(tmp_path / "marketer.png"), full_page=True)


def test_an_analyst_clusters_with_the_suggested_k_and_saves_a_cluster(served, page, tmp_path):
    url, _ = served("analyst")
    me = Journey(page, url).start()
    assert me.menu() == {t for t, roles in MENU.items() if "analyst" in roles}
    me.open("Cluster Explorer")
    suggest = page.get_by_role("button", name="Suggest k")
    # The page has settled when it shows either no run yet or the newest run's clusters.
    expect(page.get_by_text(re.compile(r"^(No clustering runs yet|Turn a cluster into a segment)"))).to_be_visible()
    if not page.get_by_text("No clustering runs yet").is_visible():  # the form opens by itself only then
        page.get_by_text("New clustering run").click()
    suggest.click()
    said = page.get_by_text(re.compile(r"^Suggested k = \d+"))
    expect(said).to_be_visible(timeout=90_000)
    best = re.search(r"k = (\d+)", said.inner_text()).group(1)
    expect(page.get_by_role("spinbutton", name="Clusters (k)")).to_have_value(best)
    page.get_by_role("button", name="Run clustering").click()
    expect(page.get_by_test_id("stMetric").filter(has_text="Clusters")).to_contain_text(best, timeout=120_000)
    page.get_by_role("button", name="Save cluster as segment").click()
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="as segment")).to_be_visible(timeout=60_000)
    me.fine()
    me.open("Data Quality")
    me.fine()
    page.screenshot(path=str(tmp_path / "analyst.png"), full_page=True)


def test_a_manager_reads_the_governance_pages_and_overrides_the_gate_once_confirmed(served, page, tmp_path):
    url, _ = served("manager")
    me = Journey(page, url).start()
    assert me.menu() == {t for t, roles in MENU.items() if "manager" in roles}
    expect(page.get_by_text(re.compile(r"^Data quality: \d+ checks? failing \(\d+ critical\)"))).to_be_visible()

    me.open("Data Quality")
    page.get_by_role("radio", name="Freshness").click()
    expect(page.get_by_text(re.compile(r"datasets are older than their SLA: .*gold\.gold_customer_features"))).to_be_visible()
    page.get_by_role("radio", name="Failing checks").click()
    expect(page.get_by_text("Check history")).to_be_visible()
    me.fine()
    me.open("Cost")
    expect(page.get_by_test_id("stMetric").filter(has_text="Month total")).to_contain_text("$", timeout=60_000)
    me.fine()

    me.open("Exports")
    expect(page.get_by_text(re.compile(r"Blocked by failing critical data-quality checks"))).to_be_visible(timeout=60_000)
    run = page.get_by_role("button", name="Run export")
    expect(run).to_be_disabled()
    page.get_by_text("Override the data-quality gate (audited)").click()
    expect(run).to_be_enabled()
    run.click()
    expect(page.get_by_text(re.compile(r"Please confirm: It goes out despite failing critical checks"))).to_be_visible()
    page.get_by_role("button", name="Yes, export").click()
    expect(page.get_by_text(re.compile(r"Export exp-[0-9a-f]+ succeeded"))).to_be_visible(timeout=60_000)
    me.fine()
    me.open("Audit log")
    expect(page.locator("td", has_text="export.dq_override").first).to_be_attached()  # in a data grid
    me.fine()
    page.screenshot(path=str(tmp_path / "manager.png"), full_page=True)


def test_a_viewer_sees_only_what_it_may_open_and_is_told_why_elsewhere(served, page, tmp_path):
    url, _ = served("viewer")
    me = Journey(page, url).start()
    assert me.menu() == {t for t, roles in MENU.items() if "viewer" in roles}
    build = page.get_by_role("link", name="Build a segment")
    expect(build).to_have_attribute("disabled", "")
    expect(page.get_by_text("Recent exports")).to_have_count(0)

    me.open("Segment Library")
    expect(page.get_by_role("button", name="Duplicate")).to_be_disabled()
    me.open("Lookalikes")
    me.fine()
    page.goto(f"{url}/exports")  # a link to a page the role may not use explains itself
    expect(page.get_by_text(re.compile(r"Exports is not available for your role \(viewer\)"))).to_be_visible(
        timeout=60_000)
    expect(page.get_by_role("link", name="the Roles page")).to_have_attribute("href", "/admin")
    page.goto(f"{url}/admin")
    expect(page.get_by_role("heading", name="What each role may do")).to_be_visible(timeout=60_000)
    expect(page.get_by_text(re.compile(r"ask an admin: admin@example\.com"))).to_be_visible()
    me.fine()
    page.screenshot(path=str(tmp_path / "viewer.png"), full_page=True)


def test_an_admin_assigns_a_role_and_confirms_a_rebuild(served, page, tmp_path):
    url, _ = served("admin")
    me = Journey(page, url).start()
    assert me.menu() == set(MENU)
    page.get_by_text("Rebuild the warehouse from the landing zone").click()
    page.get_by_role("button", name="Rebuild now (full refresh)").click()
    expect(page.get_by_text(re.compile(r"^Rebuild the whole warehouse now\?"))).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("button", name="Rebuild now (full refresh)")).to_be_visible()
    page.get_by_role("button", name="Rebuild now (full refresh)").click()
    page.get_by_role("button", name="Yes, rebuild now").click()
    expect(page.get_by_text("You may leave this page", exact=False)).to_be_visible(timeout=60_000)
    # A click elsewhere while it runs: the rebuild goes on (it used to stop with the page's run).
    me.open("Segment Library")
    me.open("Home", heading="Segment Studio")
    page.get_by_text("Rebuild the warehouse from the landing zone").click()
    expect(page.get_by_text(re.compile(r"^Rebuilt in [\d.]+ s"))).to_be_visible(timeout=180_000)
    me.fine()

    me.open("Roles")
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Why").fill("joins the insights team")
    page.get_by_role("button", name="Assign role").click()
    expect(page.get_by_text("newcomer@example.com is now marketer")).to_be_visible(timeout=30_000)
    me.fine()
    page.screenshot(path=str(tmp_path / "admin.png"), full_page=True)
