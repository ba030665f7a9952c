"""What the current request carries: the session's settings and the headers the proxy forwards.

A leaf of components/: every other component may ask it, it asks none of
them. ``app.py`` normally reads the settings before a page runs; Streamlit
may still run a page script directly on a server's very first request (its
legacy ``pages/`` directory mode, before ``st.navigation`` has been called
once), so ``settings`` sends such a session through app.py first.
"""

from __future__ import annotations

import os

import streamlit as st

from services.settings import Settings


def leave_legacy_pages_mode() -> None:
    """Rerun through app.py when Streamlit ran a page script directly.

    Streamlit decides per server whether the app uses the legacy ``pages/``
    directory; until ``st.navigation`` has run once it routes a direct link
    (``/builder?segment=...``) to the page script without the entry point, so
    the page would lose the wide layout and the navigation. Clearing the flag
    and rerunning sends the session through app.py. (Private API, checked
    against the pinned Streamlit range.)
    """
    from streamlit.runtime.pages_manager import (
        PagesManager,  # private API: imported only where it is used
    )

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def settings() -> Settings:
    """The app's settings, read from the environment once per session."""
    leave_legacy_pages_mode()
    if "settings" not in st.session_state:
        st.session_state["settings"] = Settings.from_env(os.environ)
    return st.session_state["settings"]


def forwarded(name: str) -> str | None:
    """A header the Databricks Apps proxy forwards, or None (outside a browser request, headers are empty)."""
    headers = dict(st.context.headers or {})
    return headers.get(name) or headers.get(name.lower()) or None


def forwarded_access_token() -> str | None:
    """The signed-in user's token, forwarded by the Databricks Apps proxy when user authorization is on."""
    return forwarded("X-Forwarded-Access-Token")
