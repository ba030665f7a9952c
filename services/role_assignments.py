"""Roles set by an admin in the app, on top of roles.toml.

An assignment overrides the mapping file for one user; every change writes an
audit row with the old and the new role. Only a role that may ``change_roles``
can make one.

An admin names the user by email (who they know), but on Databricks the role
keys on the IdP's stable user id, ``X-Forwarded-User`` (docs.databricks.com
dev-tools/databricks-apps/http-headers: "The user identifier provided by the
IdP"; an email can be renamed, or reach another person). The first user id that
signs in with an assigned email is bound to the assignment (``role.bind``,
audited); from then on the role is that id's, under whatever email it signs in
with, and another id arriving with the same address does not get it.
"""

from __future__ import annotations

import pandas as pd
from sqlglot import exp

from services import audit_log, checkpoints, naming
from services.clock import now
from services.errors import SpecError, WarehouseError
from services.rbac import ROLES, RoleMap, require
from services.sqlterms import equals, literal, table
from services.warehouse import Rows, Warehouse

ASSIGNMENTS = naming.fq("app", "app_role_assignments")
BINDINGS = naming.fq("app", "app_role_bindings")


def _with_bindings(*columns: str) -> exp.Select:
    return (exp.select(*[exp.column(c, table="a") for c in columns], exp.column("user_id", table="b"))
            .from_(table(ASSIGNMENTS, alias="a"))
            .join(table(BINDINGS, alias="b"), on=exp.column("email", table="b").eq(exp.column("email", table="a")),
                  join_type="left"))


def assignments(warehouse: Warehouse) -> pd.DataFrame:
    """Every assignment, with the user id it is bound to (empty until that user first signs in)."""
    return warehouse.df(_with_bindings("email", "role", "assigned_by", "assigned_ts", "note")
                        .order_by(exp.column("email", table="a")))


def assigned_role(warehouse: Warehouse, email: str, *, user_id: str | None = None) -> str | None:
    """The role an admin assigned to this user, or None.

    Without ``user_id`` (locally, where the settings name the user) the email decides. With it, the
    assignment bound to that id decides, whatever the email; an assignment of this email that no id
    holds yet is bound to it now (one write, once per user); one bound to another id is not theirs.
    """
    email = email.strip().lower()
    if user_id is None:
        value = warehouse.scalar(exp.select("role").from_(ASSIGNMENTS).where(
            exp.column("email").eq(exp.Literal.string(email))))
        return None if value is None else str(value)
    # One read for both cases: the assignment bound to this id, and an unbound one of this email.
    rows = warehouse.arrow(_with_bindings("email", "role").where(
        exp.or_(exp.column("user_id", table="b").eq(literal(user_id)),
                exp.column("email", table="a").eq(literal(email))))).to_pylist()
    for row in rows:
        if row["user_id"] == user_id:
            return str(row["role"])
    for row in rows:
        if row["email"] == email and row["user_id"] is None:
            try:
                _bind(warehouse, email, user_id)
            except WarehouseError:
                # Two first requests of one user at once: the other bound it (the key refused this
                # second row). Whichever id holds it now decides.
                return assigned_role(warehouse, email, user_id=user_id) if _bound_to(warehouse, email) else None
            return str(row["role"])
    return None


def _bound_to(warehouse: Warehouse, email: str) -> str | None:
    value = warehouse.scalar(exp.select("user_id").from_(BINDINGS).where(equals("email", email)))
    return None if value is None else str(value)


def _bind(warehouse: Warehouse, email: str, user_id: str) -> None:
    warehouse.transaction([
        Rows(BINDINGS, pd.DataFrame([{"email": email, "user_id": user_id, "bound_ts": now()}])),
        audit_log.entry(actor=email, role=None, action="role.bind", object_type="user", object_id=email,
                        details={"user_id": user_id}),
    ])


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
