"""Segment Studio entry point: settings, identity and navigation, nothing else."""

from __future__ import annotations

import os

import streamlit as st

from components.identity import current_identity
from services.settings import Settings

st.set_page_config(page_title="Segment Studio", page_icon=":material/groups:", layout="wide")

if "settings" not in st.session_state:
    st.session_state["settings"] = Settings.from_env(os.environ)
settings: Settings = st.session_state["settings"]
identity = current_identity(settings)

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
]
with st.sidebar:
    st.caption(f"Signed in as **{identity.user}** · role **{identity.role}**")

st.navigation(pages).run()
