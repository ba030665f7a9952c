"""Roles and what each may do.

Roles, least to most trusted: viewer, marketer, analyst, manager, admin.
``PERMISSIONS`` is the one table every page and service asks; a refused
action raises ``PermissionDeniedError`` that says which role may do it.
"""

from __future__ import annotations

from services.errors import PermissionDeniedError

ROLES = ("viewer", "marketer", "analyst", "manager", "admin")

PERMISSIONS: dict[str, frozenset[str]] = {
    "view_segments": frozenset(ROLES),
    "build_segments": frozenset({"marketer", "analyst", "manager", "admin"}),
    "save_segments": frozenset({"marketer", "analyst", "manager", "admin"}),
    "archive_segments": frozenset({"marketer", "manager", "admin"}),
    "view_pii": frozenset({"admin"}),
    "run_clustering": frozenset({"analyst", "manager", "admin"}),
    "run_lookalikes": frozenset({"marketer", "analyst", "manager", "admin"}),
    "export": frozenset({"marketer", "manager", "admin"}),
    "export_unmasked": frozenset({"admin"}),
    "view_data_quality": frozenset({"analyst", "manager", "admin"}),
    "override_dq_gate": frozenset({"manager", "admin"}),
    "view_cost": frozenset({"manager", "admin"}),
    "change_roles": frozenset({"admin"}),
}


def can(role: str, action: str) -> bool:
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}")
    return role in PERMISSIONS[action]


def require(role: str, action: str) -> None:
    if not can(role, action):
        allowed = ", ".join(r for r in ROLES if r in PERMISSIONS[action])
        raise PermissionDeniedError(f"your role ({role}) may not {action.replace('_', ' ')}; roles that may: {allowed}")
