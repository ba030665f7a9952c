"""Who is using the app.

On Databricks Apps the proxy forwards the signed-in user's email in the
``X-Forwarded-Email`` header; locally the settings name the user.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

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
    user = headers.get("X-Forwarded-Email") or headers.get("x-forwarded-email") or settings.user
    role = st.session_state.get("role", settings.default_role)
    identity = Identity(user=user, role=role)
    st.session_state["identity"] = identity
    return identity
