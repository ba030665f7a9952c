"""Finding 3: identity comes from the proxy only where there is one.

Chromium sends the headers the Databricks Apps proxy would. Before the fix a
viewer who added ``X-Forwarded-Email: admin@example.com`` got the Roles form:
the header was trusted from any client and beat the pinned role. Now forwarded
identity headers count only when the app runs as a Databricks App
(``DATABRICKS_APP_NAME``, which the platform sets in every app process), a
request without them is refused there, and ``make run`` listens on 127.0.0.1
unless asked otherwise.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from services.role_assignments import assign_role, assignments
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.processes import ROOT

pytestmark = pytest.mark.e2e

LOCAL_VIEWER = {"SEGMENT_STUDIO_ROLE": "viewer", "SEGMENT_STUDIO_USER": "viewer@example.com"}
ON_DATABRICKS = {"DATABRICKS_APP_NAME": "segment-studio"}
FORGED = {"X-Forwarded-Email": "admin@example.com", "X-Forwarded-User": "1234@5678"}


def open_roles(browser, url: str, headers: dict[str, str] | None = None):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, extra_http_headers=headers or {})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{url}/admin")
    return context, page


def test_a_forged_forwarded_email_is_ignored_when_not_on_databricks(serve, browser):
    with serve(LOCAL_VIEWER) as url:
        context, page = open_roles(browser, url, FORGED)
        try:
            expect(page.get_by_text("Role administration is not available for your role (viewer)")).to_be_visible()
            expect(page.get_by_test_id("stSidebarUserContent").get_by_text("Signed in as viewer@example.com")).to_be_visible()
            expect(page.get_by_text("Assign a role")).to_have_count(0)
        finally:
            context.close()


def test_on_databricks_a_request_without_identity_is_refused(serve, browser):
    with serve({**LOCAL_VIEWER, **ON_DATABRICKS}) as url:
        context, page = open_roles(browser, url)
        try:
            expect(page.get_by_text("no signed-in user", exact=False)).to_be_visible()
            expect(page.get_by_text("local-user")).to_have_count(0)
            expect(page.get_by_text("viewer@example.com")).to_have_count(0)
            expect(page.get_by_text("Assign a role")).to_have_count(0)
        finally:
            context.close()


def test_on_databricks_the_forwarded_identity_decides_the_role(serve, browser):
    with serve({**LOCAL_VIEWER, **ON_DATABRICKS}) as url:
        context, page = open_roles(browser, url, {"X-Forwarded-Email": "viewer@example.com",
                                                   "X-Forwarded-User": "42@5678"})
        try:
            expect(page.get_by_text("Role administration is not available for your role (viewer)")).to_be_visible()
        finally:
            context.close()
        context, page = open_roles(browser, url, FORGED)
        try:
            # Behind the real proxy a client cannot set these headers: the proxy replaces them.
            expect(page.get_by_text("Assign a role")).to_be_visible()
            expect(page.get_by_test_id("stSidebarUserContent").get_by_text("Signed in as admin@example.com")).to_be_visible()
        finally:
            context.close()


@pytest.mark.parametrize("extra, address", [([], "127.0.0.1"), (["HOST=0.0.0.0"], "0.0.0.0")])
def test_make_run_listens_on_localhost_unless_asked(extra, address):
    plan = subprocess.run(["make", "-n", "run", *extra], cwd=ROOT, capture_output=True, text=True, timeout=60)
    [command] = [line for line in plan.stdout.splitlines() if "streamlit run app.py" in line]
    assert f"--server.address {address}" in command


def test_on_databricks_an_assigned_role_stays_with_the_user_id_not_the_address(serve, browser, demo_warehouse_path,
                                                                                tmp_path):
    """An address that reaches another person (a new IdP id) does not bring the role assigned to it."""
    path = tmp_path / "assigned.duckdb"
    shutil.copy(demo_warehouse_path, path)
    warehouse = DuckDBWarehouse(path)
    assign_role(warehouse, "ann@example.com", "admin", by="root@example.com", by_role="admin")
    warehouse.close()
    with serve({**LOCAL_VIEWER, **ON_DATABRICKS}, warehouse=path) as url:
        context, page = open_roles(browser, url, {"X-Forwarded-Email": "ann@example.com", "X-Forwarded-User": "111@5678"})
        try:
            expect(page.get_by_text("Assign a role")).to_be_visible()
        finally:
            context.close()
        context, page = open_roles(browser, url, {"X-Forwarded-Email": "ann@example.com", "X-Forwarded-User": "222@5678"})
        try:
            expect(page.get_by_text("Role administration is not available for your role", exact=False)).to_be_visible()
            expect(page.get_by_text("Assign a role")).to_have_count(0)
        finally:
            context.close()
    warehouse = DuckDBWarehouse(path)
    try:
        bound = assignments(warehouse)
    finally:
        warehouse.close()
    assert bound[["email", "role", "user_id"]].values.tolist() == [["ann@example.com", "admin", "111@5678"]]
