"""The Exports page in a real browser: run a CSV export of a sample campaign, see it succeed in the history."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from services.devserver import running_app

pytestmark = pytest.mark.e2e

VIP = "sample-vip-champions-early-access"


@pytest.fixture(scope="module")
def marketer_url(demo_warehouse_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e_exports")
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, warehouse)  # a private copy: the app's process takes DuckDB's file lock
    with running_app(warehouse, log=folder / "server.log",
                     env={"SEGMENT_STUDIO_ROLE": "marketer", "SEGMENT_STUDIO_USER": "marketer@example.com",
                          "SEGMENT_STUDIO_EXPORT_DIR": str(folder / "exports")}) as url:
        yield url, folder / "exports"


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
