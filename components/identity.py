"""Who is using the app, and in which role.

On Databricks Apps the proxy forwards the signed-in user's email in the
``X-Forwarded-Email`` header; locally the settings name the user. The role
is, in order: a role pinned for local work (SEGMENT_STUDIO_ROLE), one an
admin assigned in the app, then roles.toml.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components.request import forwarded
from components.warehouse import get_warehouse, warehouse_key
from services.errors import SegmentStudioError
from services.rbac import load_role_map
from services.role_assignments import assigned_role
from services.settings import Settings


@dataclass(frozen=True)
class Identity:
    user: str
    role: str


@st.cache_data(ttl=30, show_spinner=False)
def _assigned_role(path: str, email: str) -> str | None:
    try:
        # Deciding who is asking is not the user's own query: keep it out of the query log.
        return assigned_role(get_warehouse(path).inner, email)
    except SegmentStudioError:
        # Before the first build there is no assignment table: the file decides.
        return None


def current_identity(settings: Settings) -> Identity:
    email = forwarded("X-Forwarded-Email")
    user = email or settings.user
    if settings.default_role and not email:
        role = settings.default_role
    else:
        role = _assigned_role(warehouse_key(settings), user) or load_role_map(settings.roles_file).role_for(user)
    identity = Identity(user=user, role=role)
    st.session_state["identity"] = identity
    return identity
