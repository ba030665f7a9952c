"""Roles: the permission table, asserted cell by cell, and the role mapping file."""

from __future__ import annotations

import pytest

from services.errors import ConfigError, PermissionDeniedError
from services.rbac import (
    ACTION_LABELS,
    PERMISSIONS,
    ROLES,
    RoleMap,
    allowed_roles,
    can,
    load_role_map,
    may_open,
    require,
)

#       action              viewer marketer analyst manager admin
TABLE = {
    "view_segments":      (1, 1, 1, 1, 1),
    "build_segments":     (0, 1, 1, 1, 1),
    "save_segments":      (0, 1, 1, 1, 1),
    "archive_segments":   (0, 1, 0, 1, 1),
    "view_pii":           (0, 0, 0, 0, 1),
    "run_clustering":     (0, 0, 1, 1, 1),
    "run_lookalikes":     (0, 1, 1, 1, 1),
    "export":             (0, 1, 0, 1, 1),
    "export_unmasked":    (0, 0, 0, 0, 1),
    "view_all_exports":   (0, 0, 0, 1, 1),
    "download_clear_exports": (0, 0, 0, 0, 1),
    "view_data_quality":  (0, 0, 1, 1, 1),
    "override_dq_gate":   (0, 0, 0, 1, 1),
    "view_cost":          (0, 0, 0, 1, 1),
    "change_roles":       (0, 0, 0, 0, 1),
    "rebuild_warehouse":  (0, 0, 0, 0, 1),
}


def test_the_table_covers_every_action():
    assert set(TABLE) == set(PERMISSIONS)


@pytest.mark.parametrize(("action", "role"), [(a, r) for a in TABLE for r in ROLES])
def test_permission(action, role):
    expected = bool(TABLE[action][ROLES.index(role)])
    assert can(role, action) is expected
    if expected:
        require(role, action)
    else:
        with pytest.raises(PermissionDeniedError, match=f"your role \\({role}\\) may not"):
            require(role, action)


def test_unknown_action_is_a_programming_error():
    with pytest.raises(KeyError):
        can("admin", "launch_rockets")


def test_role_map_users_then_domains_then_default(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text('default_role = "viewer"\n[users]\n"Ann@Shop.com" = "admin"\n[domains]\n"shop.com" = "marketer"\n')
    roles = load_role_map(path)
    assert roles.role_for("ann@shop.com") == "admin"
    assert roles.role_for("bob@shop.com") == "marketer"
    assert roles.role_for("eve@elsewhere.org") == "viewer"


def test_bad_role_map_is_a_clear_config_error(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text('default_role = "superuser"\n')
    with pytest.raises(ConfigError, match="unknown role 'superuser'"):
        load_role_map(path)
    path.write_text("default_role = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_role_map(path)


def test_missing_file_gives_everyone_the_marketer_role(tmp_path):
    assert load_role_map(tmp_path / "absent.toml") == RoleMap(default_role="marketer")


def test_shipped_mapping_is_valid():
    from services.settings import PROJECT_ROOT

    roles = load_role_map(PROJECT_ROOT / "roles.toml")
    assert roles.role_for("admin@example.com") == "admin"
    assert roles.role_for("someone@example.com") == roles.default_role


def test_every_action_has_a_label_for_the_roles_page():
    assert set(ACTION_LABELS) == set(PERMISSIONS)
    assert all(label[0].isupper() and "_" not in label for label in ACTION_LABELS.values())


@pytest.mark.parametrize("role, pages", [
    pytest.param("viewer", {"builder", "library", "clusters", "lookalikes", "admin"}, id="viewer"),
    pytest.param("marketer", {"builder", "library", "exports", "clusters", "lookalikes", "admin"}, id="marketer"),
    pytest.param("analyst", {"builder", "library", "clusters", "lookalikes", "data_quality", "admin"}, id="analyst"),
    pytest.param("manager", {"builder", "library", "exports", "clusters", "lookalikes", "data_quality", "cost",
                             "audit", "admin"}, id="manager"),
])
def test_a_role_may_open_the_pages_its_permissions_allow(role, pages):
    every = {"builder", "library", "exports", "clusters", "lookalikes", "data_quality", "cost", "audit", "admin"}
    assert {p for p in every if may_open(role, p)} == pages


def test_allowed_roles_are_listed_least_trusted_first():
    assert allowed_roles("export") == ("marketer", "manager", "admin")
