"""Who is using the app.

On Databricks Apps the proxy forwards the signed-in user's email in the
``X-Forwarded-Email`` header; locally the settings name the user.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from services.rbac import load_role_map
from services.settings import Settings


@dataclass(frozen=True)
class Identity:
    user: str
    role: str


def current_identity(settings: Settings) -> Identity:
    headers = {}
    try:
        headers = dict(st.context.headers or {})
    except Exception:  # noqa: BLE001 - no request context in AppTest or bare scripts
        headers = {}
    forwarded = headers.get("X-Forwarded-Email") or headers.get("x-forwarded-email")
    user = forwarded or settings.user
    if settings.default_role and not forwarded:
        role = settings.default_role
    else:
        role = load_role_map(settings.roles_file).role_for(user)
    identity = Identity(user=user, role=role)
    st.session_state["identity"] = identity
    return identity
