"""Role administration through the app: an admin assigns, the user gets the role, the change is audited."""

from __future__ import annotations

import os
from pathlib import Path

from services import naming
from services.warehouse.duckdb_engine import DuckDBWarehouse


def test_an_admin_assigns_a_role_that_then_applies(app):
    at = app(page="pages/admin.py", user="admin@example.com")
    at.text_input[0].input("newcomer@example.com")
    at.selectbox[0].select("analyst")
    at.text_input[1].input("joins the insights team")
    at.button[0].click().run()
    assert not at.exception
    assert any("newcomer@example.com is now analyst" in s.value for s in at.success)
    warehouse = DuckDBWarehouse(Path(os.environ["SEGMENT_STUDIO_WAREHOUSE"]))
    audit = warehouse.df(f"SELECT actor, action, object_id, details FROM {naming.fq('app', 'app_audit_log')} "
                         "WHERE action = 'role.change'")
    assert audit[["actor", "object_id"]].values.tolist() == [["admin@example.com", "newcomer@example.com"]]
    assert '"from": "marketer"' in audit["details"][0]
    newcomer = app(user="newcomer@example.com")
    assert "role **analyst**" in " ".join(c.value for c in newcomer.sidebar.caption)


def test_a_manager_may_not_change_roles(app):
    at = app(page="pages/admin.py", user="manager@example.com")
    assert any("Role administration is not available for your role (manager)" in i.value for i in at.info)
    assert not at.button


def test_anyone_may_read_what_each_role_may_do_and_whom_to_ask(app):
    at = app(page="pages/admin.py", role="marketer")
    (refusal,) = at.info
    assert "not available for your role (marketer)" in refusal.value and "ask an admin: admin@example.com" in refusal.value
    table = at.dataframe[0].value
    assert "Export segments" in set(table["action"])
    assert table.set_index("action").loc["Export segments", "marketer"] == "yes"


def test_a_refused_page_points_to_the_roles_page(app):
    at = app(page="pages/cost.py", role="marketer")
    assert any("see [the Roles page](/admin)" in i.value for i in at.info)
