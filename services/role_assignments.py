"""Roles set by an admin in the app, on top of roles.toml.

An assignment overrides the mapping file for one user; every change writes an
audit row with the old and the new role. Only a role that may ``change_roles``
can make one.
"""

from __future__ import annotations

import pandas as pd
from sqlglot import exp

from services import audit_log, checkpoints, naming
from services.clock import now
from services.errors import SpecError
from services.rbac import ROLES, RoleMap, require
from services.warehouse import Warehouse

ASSIGNMENTS = naming.fq("app", "app_role_assignments")


def assignments(warehouse: Warehouse) -> pd.DataFrame:
    return warehouse.df(exp.select("email", "role", "assigned_by", "assigned_ts", "note").from_(ASSIGNMENTS)
                        .order_by("email"))


def assigned_role(warehouse: Warehouse, email: str) -> str | None:
    value = warehouse.scalar(exp.select("role").from_(ASSIGNMENTS).where(
        exp.column("email").eq(exp.Literal.string(email.strip().lower()))))
    return None if value is None else str(value)


def assign_role(warehouse: Warehouse, email: str, role: str, *, by: str, by_role: str, note: str = "",
                current_role: str | None = None) -> None:
    """Set ``email``'s role; ``current_role`` is what they had before (for the audit row)."""
    require(by_role, "change_roles")
    email = (email or "").strip().lower()
    if "@" not in email or " " in email:
        raise SpecError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise SpecError(f"{role!r} is not a role; roles are {', '.join(ROLES)}")
    previous = assigned_role(warehouse, email) or current_role
    row = exp.insert(exp.values([exp.Tuple(expressions=[
        exp.Literal.string(email), exp.Literal.string(role), exp.Literal.string(by),
        exp.cast(exp.Literal.string(now().isoformat(sep=" ")), "TIMESTAMP"), exp.Literal.string(note or ""),
    ])]), ASSIGNMENTS, columns=[exp.to_identifier(c) for c in ("email", "role", "assigned_by", "assigned_ts", "note")])
    # The assignment and its audit row land together: a role change nobody can trace must not exist.
    with checkpoints.during("role.change"):
        warehouse.transaction([
            (exp.delete(ASSIGNMENTS, where=exp.column("email").eq(exp.Literal.string(email))), None),
            (row, None),
            audit_log.entry(actor=by, role=by_role, action="role.change", object_type="user", object_id=email,
                            details={"from": previous, "to": role, "note": note}),
        ])


def admins(warehouse: Warehouse, role_map: RoleMap) -> list[str]:
    """Who holds the admin role by name (file or app), so a refused user knows whom to ask."""
    assigned = assignments(warehouse)
    named = {**role_map.users, **dict(zip(assigned["email"], assigned["role"]))}
    return sorted(email for email, role in named.items() if role == "admin")
