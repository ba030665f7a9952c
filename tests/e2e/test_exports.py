"""The Exports page in a real browser: run a CSV export of a sample campaign, see it succeed in the history."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

VIP = "sample-vip-champions-early-access"


@pytest.fixture(scope="module")
def marketer_url(served):
    url, folder = served("marketer")
    return url, folder / "exports"


def test_run_a_csv_export_and_see_it_succeed_in_the_history(marketer_url, page, tmp_path):
    url, out = marketer_url
    page.goto(f"{url}/exports?segment={VIP}")
    expect(page.get_by_role("heading", name="Pre-flight check")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Members", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"The control group \([\d,]+\) is left out"))).to_be_visible()

    page.get_by_role("button", name="Run export").click()
    expect(page.get_by_text(re.compile(r"Export exp-[0-9a-f]+ succeeded"))).to_be_visible(timeout=60_000)
    job_id = re.search(r"exp-[0-9a-f]+", page.get_by_text(re.compile(r"Export exp-[0-9a-f]+ succeeded")).inner_text()).group(0)

    # The history's details of the newest job say it succeeded, with its counts and checksum.
    details = page.get_by_text(re.compile(rf"job {job_id}: succeeded"))
    expect(details).to_be_visible(timeout=30_000)
    expect(page.get_by_text(re.compile(r"checksum sha256:[0-9a-f]{64}"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"Download .*\.csv")).first).to_be_visible()
    files = list(out.glob(f"{VIP}-v1-csv-full-{job_id}.csv"))
    assert len(files) == 1 and files[0].stat().st_size > 0
    page.screenshot(path=str(tmp_path / "exports.png"), full_page=True)


def test_download_right_after_an_export_then_the_idle_page_is_quiet(marketer_url, page, tmp_path):
    """Two bugs: the download drawn inside the polling fragment lost its file each second
    (MediaFileStorageError, 3 of 3 tries); and once a job had run, the page polled the
    warehouse every second forever. Idle, the page must now send the server nothing, so
    no script runs and no query reaches the warehouse."""
    url, out = marketer_url
    sent: list[float] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.monotonic())))
    page.goto(f"{url}/exports?segment={VIP}")
    expect(page.get_by_role("heading", name="Pre-flight check")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Run export").click()
    done = page.get_by_text(re.compile(r"Export exp-[0-9a-f]+ succeeded"))
    expect(done).to_be_visible(timeout=60_000)
    job_id = re.search(r"exp-[0-9a-f]+", done.inner_text()).group(0)

    page.wait_for_timeout(2_500)  # a person reads the message before clicking
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile(rf"Download .*{job_id}\.csv")).first.click()
    (written,) = out.glob(f"*{job_id}.csv")
    assert Path(download.value.path()).read_bytes() == written.read_bytes()
    expect(page.get_by_text("MediaFileStorageError")).to_have_count(0)

    page.wait_for_timeout(1_500)  # the download's own rerun settles
    before = len(sent)
    page.wait_for_timeout(5_000)
    assert len(sent) == before, f"the idle page sent {len(sent) - before} messages in 5 s"
