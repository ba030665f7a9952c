"""The page-facing view of the session: settings, who is signed in, and whether they may open a page."""

from __future__ import annotations

import streamlit as st

from components.identity import Identity, current_identity
from components.request import settings
from services import rbac

__all__ = ["gate", "identity", "settings"]


def identity() -> Identity:
    if "identity" not in st.session_state:
        return current_identity(settings())
    return st.session_state["identity"]


def gate(permission: str, *, feature: str, reason: str) -> None:
    """Stop the page with an explanation when the user's role lacks ``permission``.

    A refused page says why and who may, rather than failing: the permission
    table in services/rbac.py is the only place that decides.
    """
    role = identity().role
    if rbac.can(role, permission):
        return
    allowed = ", ".join(r for r in rbac.ROLES if rbac.can(r, permission))
    st.info(f"{feature} is not available for your role ({role}): {reason}, so only these roles may open it: "
            f"{allowed}. Ask an admin to change your role in roles.toml.")
    st.stop()
