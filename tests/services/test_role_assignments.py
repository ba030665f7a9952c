"""Admins set roles in the app; each change is audited; nobody else may."""

from __future__ import annotations

import pytest

from services import naming
from services.errors import PermissionDeniedError, SpecError
from services.rbac import RoleMap
from services.role_assignments import admins, assign_role, assigned_role, assignments

AUDIT = naming.fq("app", "app_audit_log")


def test_an_admin_assigns_and_changes_a_role_with_audit_rows(empty_warehouse):
    assign_role(empty_warehouse, " Ann@Shop.com ", "analyst", by="root@shop.com", by_role="admin",
                current_role="marketer", note="joins the insights team")
    assert assigned_role(empty_warehouse, "ann@shop.com") == "analyst"
    assign_role(empty_warehouse, "ann@shop.com", "manager", by="root@shop.com", by_role="admin")
    assert assignments(empty_warehouse)[["email", "role"]].values.tolist() == [["ann@shop.com", "manager"]]
    audit = empty_warehouse.df(f"SELECT actor, action, object_id, details FROM {AUDIT} ORDER BY event_ts")
    assert list(audit["action"]) == ["role.change", "role.change"]
    assert '"from": "marketer"' in audit["details"][0] and '"to": "analyst"' in audit["details"][0]
    assert '"from": "analyst"' in audit["details"][1] and '"to": "manager"' in audit["details"][1]


@pytest.mark.parametrize("role", ["viewer", "marketer", "analyst", "manager"])
def test_only_admins_may_change_roles(empty_warehouse, role):
    with pytest.raises(PermissionDeniedError, match="may not change roles"):
        assign_role(empty_warehouse, "bob@shop.com", "admin", by="x@shop.com", by_role=role)
    assert assigned_role(empty_warehouse, "bob@shop.com") is None


@pytest.mark.parametrize(("email", "role", "message"), [
    ("not-an-email", "viewer", "is not an email"),
    ("a b@shop.com", "viewer", "is not an email"),
    ("eve@shop.com", "owner", "is not a role"),
    ("x'; DROP TABLE t; --@shop.com", "viewer", "is not an email"),
])
def test_bad_input_is_refused(empty_warehouse, email, role, message):
    with pytest.raises(SpecError, match=message):
        assign_role(empty_warehouse, email, role, by="root@shop.com", by_role="admin")


def test_admins_are_named_from_the_file_and_the_app(empty_warehouse):
    role_map = RoleMap(default_role="viewer", users={"root@shop.com": "admin", "ann@shop.com": "admin"})
    assign_role(empty_warehouse, "bob@shop.com", "admin", by="root@shop.com", by_role="admin")
    assign_role(empty_warehouse, "ann@shop.com", "analyst", by="root@shop.com", by_role="admin")  # the app wins
    assert admins(empty_warehouse, role_map) == ["bob@shop.com", "root@shop.com"]
