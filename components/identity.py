"""Who is using the app, and in which role.

Forwarded identity headers are trusted only when the app runs as a Databricks
App (``settings.databricks_app``: the platform sets ``DATABRICKS_APP_NAME`` in
every app process, and only there). There the Databricks Apps proxy signs the
user in and sets ``X-Forwarded-User`` (the IdP's stable user id) and
``X-Forwarded-Email`` on every request, replacing whatever a client sent; a
request without them did not come through the proxy and is refused. A role
assigned in the app belongs to the user id (an email can change hands); the
email is what the app shows and what roles.toml names. Anywhere
else a client could send any header it likes, so they are ignored and the
settings name the user (SEGMENT_STUDIO_USER). The role is, in order: a role
pinned for local work (SEGMENT_STUDIO_ROLE, never on Databricks), one an admin
assigned in the app, then roles.toml.

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
    #: the email on Databricks (what roles.toml and assignments name), SEGMENT_STUDIO_USER locally
    user: str
    role: str
    #: the stable id: X-Forwarded-User on Databricks (emails can change), the user locally
    user_id: str = ""


#: how old a user's assigned role may get before a request re-reads it (in the background)
ROLE_CHECK_S = 30.0
_roles: Kept[str | None] = Kept("role", max_age_s=ROLE_CHECK_S, max_entries=1024)


def _lookup(warehouse: Warehouse, email: str, user_id: str | None) -> str | None:
    try:
        return assigned_role(warehouse, email, user_id=user_id)
    except SegmentStudioError:
        # Before the first build there is no assignment table: the file decides.
        return None


def _header(name: str) -> str | None:
    # Trimmed, so surrounding whitespace cannot make a second identity of one user.
    value = (forwarded(name) or "").strip()
    return value or None
def _assigned_role(path: str, email: str, user_id: str | None = None) -> str | None:
    # Deciding who is asking is not the user's own query: keep it out of the query log.
    warehouse = get_warehouse(path).inner
    return _roles.get((path, email, user_id), lambda: _lookup(warehouse, email, user_id))


def forget_roles() -> None:
    """After an admin assigns a role in this process: every user's next request reads theirs again."""
    _roles.forget()


def current_identity(settings: Settings) -> Identity:
    if settings.databricks_app:
        user_id, email = _header("X-Forwarded-User"), _header("X-Forwarded-Email")
        if not (user_id or email):
            st.error("Segment Studio received no signed-in user with this request. It runs as a Databricks App "
                     "and learns who you are from the Databricks Apps sign-in; open it through its Databricks "
                     "URL.")
            st.stop()
        user = email or user_id
        # The assignment keys on the stable id (services/role_assignments.py); the email is what people see.
        role = (_assigned_role(warehouse_key(settings), user, user_id)
                or load_role_map(settings.roles_file).role_for(user))
        identity = Identity(user=user, role=role, user_id=user_id or user)
    else:
        user = settings.user
        role = (settings.default_role or _assigned_role(warehouse_key(settings), user)
                or load_role_map(settings.roles_file).role_for(user))
        identity = Identity(user=user, role=role, user_id=user)
    st.session_state["identity"] = identity
    return identity
