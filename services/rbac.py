"""Roles, who has which, and what each may do.

Roles, least to most trusted: viewer, marketer, analyst, manager, admin.
``PERMISSIONS`` is the one table every page and service asks; a refused
action raises ``PermissionDeniedError`` that says which role may do it.
``RoleMap`` assigns roles from a TOML file (exact emails, then email
domains, then a default), so who may do what is configuration, not code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from services.errors import ConfigError, PermissionDeniedError

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
    # every user's export jobs and their files (a user always has their own)
    "view_all_exports": frozenset({"manager", "admin"}),
    # a file holding contact identifiers in clear
    "download_clear_exports": frozenset({"admin"}),
    "view_data_quality": frozenset({"analyst", "manager", "admin"}),
    "override_dq_gate": frozenset({"manager", "admin"}),
    "view_cost": frozenset({"manager", "admin"}),
    "change_roles": frozenset({"admin"}),
    "rebuild_warehouse": frozenset({"admin"}),
}


#: page (its url path) -> the permission that opens it; a page not listed is open to every role.
#: The navigation shows a role only the pages it may open; a link to another still explains why not.
PAGES: dict[str, str] = {
    "exports": "export",
    "data_quality": "view_data_quality",
    "cost": "view_cost",
    "audit": "view_cost",
}


def may_open(role: str, page: str) -> bool:
    return can(role, PAGES[page]) if page in PAGES else True


def allowed_roles(action: str) -> tuple[str, ...]:
    """The roles that may do ``action``, least trusted first."""
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}")
    return tuple(r for r in ROLES if r in PERMISSIONS[action])

#: how the Roles page names each action
ACTION_LABELS: dict[str, str] = {
    "view_segments": "See segments",
    "build_segments": "Build segments",
    "save_segments": "Save segments",
    "archive_segments": "Archive segments",
    "view_pii": "See personal data in clear",
    "run_clustering": "Run clustering",
    "run_lookalikes": "Train lookalike models",
    "export": "Export segments",
    "export_unmasked": "Export identifiers in clear",
    "view_all_exports": "See and download everyone's exports",
    "download_clear_exports": "Download files with identifiers in clear",
    "view_data_quality": "See data quality",
    "override_dq_gate": "Override the data-quality gate",
    "view_cost": "See cost and the audit log",
    "change_roles": "Change roles",
    "rebuild_warehouse": "Rebuild the warehouse",
}


def can(role: str, action: str) -> bool:
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}")
    return role in PERMISSIONS[action]


def require(role: str, action: str) -> None:
    if not can(role, action):
        allowed = ", ".join(r for r in ROLES if r in PERMISSIONS[action])
        raise PermissionDeniedError(f"your role ({role}) may not {action.replace('_', ' ')}; roles that may: {allowed}")


@dataclass(frozen=True)
class RoleMap:
    """Who gets which role: exact emails first, then email domains, then the default."""

    default_role: str = "viewer"
    users: dict[str, str] = field(default_factory=dict)
    domains: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for who, role in [("default_role", self.default_role), *self.users.items(), *self.domains.items()]:
            if role not in ROLES:
                raise ConfigError(f"role mapping: {who} has unknown role {role!r}; roles are {', '.join(ROLES)}")

    def role_for(self, email: str) -> str:
        key = (email or "").strip().lower()
        if key in self.users:
            return self.users[key]
        domain = key.rpartition("@")[2]
        return self.domains.get(domain, self.default_role)


def load_role_map(path: Path) -> RoleMap:
    """Read the TOML mapping file; a missing file means everyone gets the default role."""
    if not path.exists():
        return RoleMap(default_role="marketer")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the role mapping {path} is not valid TOML: {exc}") from None
    return RoleMap(
        default_role=str(data.get("default_role", "viewer")),
        users={k.strip().lower(): str(v) for k, v in data.get("users", {}).items()},
        domains={k.strip().lower(): str(v) for k, v in data.get("domains", {}).items()},
    )
