"""Finding 2: an export file goes to its requester, managers and admins; clear identifiers to admins only.

One app runs as a Databricks App, so each browser context is a different
signed-in user (the proxy's headers, which the app trusts only there). Before
the fix any exporter saw every job in the history and got a download button
for the newest, here an admin's file of customers' emails and phones in clear.
Every download now writes an ``export.download`` audit row.
"""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from services import naming
from services.exports import jobs
from services.exports.base import ExportRequest
from services.warehouse.duckdb_engine import DuckDBWarehouse

pytestmark = pytest.mark.e2e

VIP = "sample-vip-champions-early-access"


@pytest.fixture
def exported(demo_warehouse_path, tmp_path):
    """A warehouse with alice's hashed CSV and, newer, an admin's CSV with identifiers in clear."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    warehouse = DuckDBWarehouse(path)
    made = {}
    for user, role, identifiers in [("alice@example.com", "marketer", "hashed"), ("admin@example.com", "admin", "clear")]:
        request = ExportRequest(segment_id=VIP, version=1, destination="csv", identifiers=identifiers)
        made[user] = jobs.run_job(warehouse, jobs.create_job(warehouse, request, user=user, role=role),
                                  output_dir=tmp_path / "exports")
    warehouse.close()
    return path, made


def as_user(browser, url: str, email: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  extra_http_headers={"X-Forwarded-Email": email, "X-Forwarded-User": email})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{url}/exports?segment={VIP}")
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    return context, page


def test_each_user_gets_only_the_files_they_may_have_and_downloads_are_audited(exported, serve, browser, tmp_path):
    path, made = exported
    alice, admin = made["alice@example.com"], made["admin@example.com"]
    download = re.compile(r"Download .*\.csv")
    env = {"DATABRICKS_APP_NAME": "segment-studio", "SEGMENT_STUDIO_EXPORT_DIR": str(tmp_path / "exports")}
    with serve(env, warehouse=path) as url:
        context, page = as_user(browser, url, "bob@example.com")        # another marketer
        try:
            expect(page.get_by_text("No exports yet.")).to_be_visible()
            expect(page.get_by_text(admin.job_id)).to_have_count(0)
            expect(page.get_by_text(alice.job_id)).to_have_count(0)
            expect(page.get_by_role("button", name=download)).to_have_count(0)
        finally:
            context.close()

        context, page = as_user(browser, url, "alice@example.com")
        try:
            expect(page.get_by_text(f"job {alice.job_id}: succeeded")).to_be_visible()
            expect(page.get_by_text(admin.job_id)).to_have_count(0)
            with page.expect_download() as got:
                page.get_by_role("button", name=download).click()
            assert open(got.value.path(), "rb").read() == open(alice.output_path, "rb").read()
        finally:
            context.close()

        context, page = as_user(browser, url, "manager@example.com")
        try:
            expect(page.get_by_text(f"job {admin.job_id}: succeeded")).to_be_visible()
            expect(page.get_by_text("only admins may download it")).to_be_visible()
            expect(page.get_by_role("button", name=download)).to_have_count(0)
        finally:
            context.close()

        context, page = as_user(browser, url, "admin@example.com")
        try:
            expect(page.get_by_text(f"job {admin.job_id}: succeeded")).to_be_visible()
            expect(page.get_by_role("button", name=download)).to_be_visible()
        finally:
            context.close()

    warehouse = DuckDBWarehouse(path, read_only=True)
    rows = warehouse.arrow(f"SELECT actor, object_id FROM {naming.fq('app', 'app_audit_log')} "
                           "WHERE action = 'export.download'").to_pylist()
    warehouse.close()
    assert rows == [{"actor": "alice@example.com", "object_id": alice.job_id}]
