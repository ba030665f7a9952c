"""The page-facing view of the session: settings, who is signed in, and whether they may open a page."""

from __future__ import annotations

import streamlit as st

from components.identity import Identity, current_identity
from components.request import settings
from services import rbac

__all__ = ["gate", "identity", "refuse", "settings", "why_not"]


def identity() -> Identity:
    if "identity" not in st.session_state:
        return current_identity(settings())
    return st.session_state["identity"]


def gate(permission: str, *, feature: str, reason: str) -> None:
    """Stop the page with an explanation when the user's role lacks ``permission``.

    A refused page says why, which roles may, and where roles are decided (the Roles page),
    rather than failing: the permission table in services/rbac.py is the only place that decides.
    """
    role = identity().role
    if rbac.can(role, permission):
        return
    refuse(f"{feature} is not available for your role ({role}): {reason}, so only these roles may open it: "
           f"{', '.join(rbac.allowed_roles(permission))}.")
    st.stop()


def refuse(message: str) -> None:
    """A refusal, and where to see who may do what and whom to ask."""
    # A plain link: it works wherever the page runs (st.page_link needs the app's navigation).
    st.info(f"{message} An admin can change your role: see [the Roles page](/admin) for what each role may do "
            "and whom to ask.")


def why_not(permission: str, doing: str) -> str | None:
    """A disabled button's help when the role lacks ``permission`` (None when it has it)."""
    role = identity().role
    if rbac.can(role, permission):
        return None
    return f"Your role ({role}) may not {doing}; roles that may: {', '.join(rbac.allowed_roles(permission))}."
