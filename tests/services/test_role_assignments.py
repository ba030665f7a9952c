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


def test_an_assignment_follows_the_first_user_id_that_signs_in_with_its_email(empty_warehouse):
    """Roles key on the IdP's stable user id (X-Forwarded-User), not on an address that can change hands."""
    assign_role(empty_warehouse, "ann@shop.com", "analyst", by="root@shop.com", by_role="admin")
    # Ann signs in: the assignment binds to her id, with an audit row.
    assert assigned_role(empty_warehouse, "ann@shop.com", user_id="111@9") == "analyst"
    audit = empty_warehouse.df(f"SELECT action, object_id, details FROM {AUDIT} WHERE action = 'role.bind'")
    assert audit["object_id"].tolist() == ["ann@shop.com"] and '"user_id": "111@9"' in audit["details"][0]
    # Her address renamed by the IdP: the same id keeps her role.
    assert assigned_role(empty_warehouse, "ann.smith@shop.com", user_id="111@9") == "analyst"
    # The old address given to someone else: another id, so not Ann's role.
    assert assigned_role(empty_warehouse, "ann@shop.com", user_id="222@9") is None
    # Binding happens once: Ann's later sign-ins write nothing more.
    assert assigned_role(empty_warehouse, "ann@shop.com", user_id="111@9") == "analyst"
    assert len(empty_warehouse.df(f"SELECT * FROM {AUDIT} WHERE action = 'role.bind'")) == 1


def test_a_changed_role_keeps_its_binding(empty_warehouse):
    assign_role(empty_warehouse, "ann@shop.com", "analyst", by="root@shop.com", by_role="admin")
    assert assigned_role(empty_warehouse, "ann@shop.com", user_id="111@9") == "analyst"
    assign_role(empty_warehouse, "ann@shop.com", "manager", by="root@shop.com", by_role="admin")
    assert assigned_role(empty_warehouse, "ann@shop.com", user_id="111@9") == "manager"
    assert assigned_role(empty_warehouse, "ann@shop.com", user_id="222@9") is None
    bound = assignments(empty_warehouse)
    assert bound[["email", "role", "user_id"]].values.tolist() == [["ann@shop.com", "manager", "111@9"]]
