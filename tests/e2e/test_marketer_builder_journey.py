"""The marketer's Builder task end to end in Chromium (issue 13): build a rule by clicking and typing,
hold out a control group, save, change and save a version, leave the Builder and come back to the
whole draft, restore an older version from the Builder, and open the result from the Library's link,
with no exception box and no console error from the app at any step."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .test_builder import audience, wait_for_audience_change

pytestmark = pytest.mark.e2e

NAME = "E2E spring champions"


def from_the_app(app_url: str, message) -> bool:
    """Whether a console error is the app's own: not a resource of another host (the page icon's font on
    Google's servers, unreachable in this closed network), nor Streamlit's probe of a page's path for its
    server endpoints (``/library/_stcore/health`` 404s before it tries ``/_stcore/health``)."""
    url = (message.location or {}).get("url", "")
    if url and not url.startswith(app_url):
        return False
    return not re.search(r"/[^/]+/_stcore/(health|host-config)$", url)


def watch(page: Page, app_url: str, problems: list[str]) -> None:
    page.on("console", lambda message: problems.append(f"console: {message.text} @ {message.location}")
            if message.type == "error" and from_the_app(app_url, message) else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))


@pytest.fixture
def watched(page: Page, app_url: str):
    """The page, with every console error and uncaught page error of the app kept for the end."""
    problems: list[str] = []
    watch(page, app_url, problems)
    page.context.on("page", lambda opened: watch(opened, app_url, problems))  # links that open a new tab
    yield page, problems


def no_exception_box(page: Page, step: str) -> None:
    assert page.get_by_test_id("stException").count() == 0, f"an exception box after: {step}"


def settle(page: Page) -> None:
    """Wait until the app has finished its rerun."""
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)


def sidebar_link(page: Page, title: str):
    return page.get_by_test_id("stSidebarNav").get_by_role("link", name=title)


def net_spend_box(page: Page):
    """The number box beside the Net spend slider (the first number box of the rule)."""
    return page.get_by_test_id("stNumberInput").locator("input").first


def type_number(page: Page, box, value: str) -> None:
    box.fill(value)
    box.press("Enter")
    settle(page)


def test_a_marketer_builds_saves_versions_restores_and_finds_the_draft_again(app_url, watched, tmp_path):
    page, problems = watched
    page.goto(app_url)
    expect(page.get_by_text("Rows per source")).to_be_visible()
    sidebar_link(page, "Segment Builder").click()
    expect(page.get_by_role("heading", name="Segment Builder")).to_be_visible()
    expect(page.get_by_text("Draft audience")).to_be_visible()
    base = audience(page)

    # Rule: RFM segment is Champions, and Net spend at least $500 (typed, between the slider's steps).
    page.get_by_role("button", name="+ Trait").click()
    page.get_by_test_id("stMultiSelect").first.click()
    page.get_by_role("option", name=re.compile(r"^Champions")).click()
    page.keyboard.press("Escape")
    champions = wait_for_audience_change(page, base)
    page.get_by_role("button", name="+ Trait").click()
    settle(page)
    field = page.get_by_test_id("stSelectbox").nth(2)  # 0: field and 1: operator of the first condition
    field.click()
    page.keyboard.type("Net spend")
    page.get_by_role("option", name="RFM · Net spend", exact=True).click()
    settle(page)
    type_number(page, net_spend_box(page), "500")
    big_champions = wait_for_audience_change(page, champions)
    assert 0 < big_champions < champions
    expect(page.get_by_text(re.compile(r"2\. Net spend at least \$500"))).to_be_visible()
    no_exception_box(page, "building the rule")

    # Name, description and a 20% holdout with its counts.
    page.get_by_label("Segment name").fill(NAME)
    page.get_by_label("Segment name").press("Enter")
    page.get_by_label("Description").fill("Champions who spent $500 or more")
    page.get_by_label("Description").press("Enter")
    page.get_by_text("Holdout and split").click()
    page.get_by_text("Hold out a control group").click()
    settle(page)
    type_number(page, page.get_by_label("Control %"), "20")
    expect(page.get_by_text(re.compile(r"control \d+ · treatment \d+"))).to_be_visible()
    expect(page.get_by_text("● Unsaved changes").first).to_be_visible()

    # Save, then change the spend and save version 2.
    page.get_by_role("button", name="Save as new segment").click()
    expect(page).to_have_url(re.compile(r"segment=seg-[0-9a-f]+"), timeout=30_000)
    segment_id = re.search(r"segment=(seg-[0-9a-f]+)", page.url).group(1)
    expect(page.get_by_text("All changes saved as version 1").first).to_be_visible()
    type_number(page, net_spend_box(page), "1000")
    expect(page.get_by_text("● Unsaved changes").first).to_be_visible()
    page.get_by_label("Version note").fill("Only the biggest spenders")
    page.get_by_label("Version note").press("Enter")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("All changes saved as version 2").first).to_be_visible(timeout=30_000)
    no_exception_box(page, "saving two versions")

    # An unsaved edit, then away to the Library and back: the whole draft is still there.
    page.get_by_label("Description").fill("Champions who spent $1,000 or more")
    page.get_by_label("Description").press("Enter")
    settle(page)
    sidebar_link(page, "Segment Library").click()
    expect(page.get_by_role("heading", name="Segment Library")).to_be_visible()
    sidebar_link(page, "Segment Builder").click()
    expect(page.get_by_label("Segment name")).to_have_value(NAME)
    expect(page.get_by_label("Description")).to_have_value("Champions who spent $1,000 or more")
    expect(net_spend_box(page)).to_have_value("1000.00")
    expect(page.get_by_text("● Unsaved changes").first).to_be_visible()
    no_exception_box(page, "coming back to the Builder")

    # Restore version 1 from the Builder's version picker: it becomes version 3.
    page.get_by_label("Version", exact=True).click()
    page.get_by_role("option", name=re.compile(r"^version 1 · ")).click()
    expect(net_spend_box(page)).to_have_value("500.00")
    expect(page.get_by_text(re.compile("a restore"))).to_be_visible()
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("All changes saved as version 3").first).to_be_visible(timeout=30_000)
    no_exception_box(page, "restoring version 1")

    # The Library's link opens it in the Builder, as saved.
    page.goto(f"{app_url}/library?segment={segment_id}")
    expect(page.get_by_role("heading", name=NAME)).to_be_visible(timeout=30_000)
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Open in builder").first.click()
    builder = opened.value
    expect(builder.get_by_label("Segment name")).to_have_value(NAME, timeout=30_000)
    expect(builder.get_by_test_id("stNumberInput").locator("input").first).to_have_value("500.00")
    expect(builder.get_by_text("All changes saved as version 3").first).to_be_visible()
    expect(builder.get_by_test_id("stMetricValue").first).to_have_text(f"{big_champions:,}")
    no_exception_box(builder, "opening from the Library")
    builder.screenshot(path=str(tmp_path / "builder.png"), full_page=True)
    assert problems == []
