"""Settings and identity for the current session, wherever the script starts.

``app.py`` normally sets both before a page runs. Streamlit may still run a
page script directly on a server's very first request (its legacy ``pages/``
directory mode, before ``st.navigation`` has been called once), so pages ask
here instead of reading session state blindly.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Iterator

import streamlit as st

from components.identity import Identity, current_identity
from services import rbac
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
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def settings() -> Settings:
    leave_legacy_pages_mode()
    if "settings" not in st.session_state:
        st.session_state["settings"] = Settings.from_env(os.environ)
    return st.session_state["settings"]


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


@contextmanager
def progress_bar(text: str = "starting") -> Iterator[Callable[[str, float], None]]:
    """A progress bar for a slow service call: yields its ``progress(step, fraction)`` callback
    (fractions clamped to 0..1) and removes the bar when the call ends, however it ends."""
    bar = st.progress(0.0, text=text)
    try:
        yield lambda step, fraction: bar.progress(min(max(fraction, 0.0), 1.0), text=step)
    finally:
        bar.empty()
