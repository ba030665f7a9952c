"""Who is using the app, and in which role.

On Databricks Apps the proxy forwards the signed-in user's email in the
``X-Forwarded-Email`` header; locally the settings name the user. The role
is, in order: a role pinned for local work (SEGMENT_STUDIO_ROLE), one an
admin assigned in the app, then roles.toml.

An assigned role is read once per user and kept; a request that finds it older
than ``ROLE_CHECK_S`` is served it and re-reads it in the background, so no
request waits for the check. A role an admin changes in this app applies at the
user's next request; one changed elsewhere, within ``ROLE_CHECK_S`` and one request.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components.background import Kept
from components.request import forwarded
from components.warehouse import get_warehouse, warehouse_key
from services.errors import SegmentStudioError
from services.rbac import load_role_map
from services.role_assignments import assigned_role
from services.settings import Settings
from services.warehouse import Warehouse


@dataclass(frozen=True)
class Identity:
    user: str
    role: str


#: how old a user's assigned role may get before a request re-reads it (in the background)
ROLE_CHECK_S = 30.0
_roles: Kept[str | None] = Kept("role", max_age_s=ROLE_CHECK_S, max_entries=1024)


def _lookup(warehouse: Warehouse, email: str) -> str | None:
    try:
        return assigned_role(warehouse, email)
    except SegmentStudioError:
        # Before the first build there is no assignment table: the file decides.
        return None


def _assigned_role(path: str, email: str) -> str | None:
    # Deciding who is asking is not the user's own query: keep it out of the query log.
    warehouse = get_warehouse(path).inner
    return _roles.get((path, email), lambda: _lookup(warehouse, email))


def forget_roles() -> None:
    """After an admin assigns a role in this process: every user's next request reads theirs again."""
    _roles.forget()


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
