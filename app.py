"""Segment Studio entry point: settings, identity and navigation, nothing else."""

from __future__ import annotations

import streamlit as st

from components import session
from components.identity import current_identity
from components.text import plain
from components.warehouse import query_attribution
from services.errors import SegmentStudioError

st.set_page_config(page_title="Segment Studio", page_icon=":material/groups:", layout="wide")

try:
    settings = session.settings()
    identity = current_identity(settings)
except SegmentStudioError as exc:
    # Bad settings or an unreachable warehouse: say which, instead of a traceback.
    st.error(f"Segment Studio cannot start: {exc}")
    st.stop()

pages = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Segments": [
        st.Page("pages/builder.py", title="Segment Builder", icon=":material/tune:", url_path="builder"),
        st.Page("pages/library.py", title="Segment Library", icon=":material/folder_open:", url_path="library"),
        st.Page("pages/exports.py", title="Exports", icon=":material/ios_share:", url_path="exports"),
    ],
    "Discover": [
        st.Page("pages/clusters.py", title="Cluster Explorer", icon=":material/bubble_chart:", url_path="clusters"),
        st.Page("pages/lookalikes.py", title="Lookalikes", icon=":material/group_add:", url_path="lookalikes"),
    ],
    "Governance": [
        st.Page("pages/data_quality.py", title="Data Quality", icon=":material/verified:", url_path="data_quality"),
        st.Page("pages/cost.py", title="Cost", icon=":material/payments:", url_path="cost"),
        st.Page("pages/audit.py", title="Audit log", icon=":material/history:", url_path="audit"),
        st.Page("pages/admin.py", title="Roles", icon=":material/admin_panel_settings:", url_path="admin"),
    ],
}
with st.sidebar:
    st.caption(f"Signed in as **{plain(identity.user)}** · role **{identity.role}**")

if settings.warm_up_maps:
    # Compile UMAP in the background now, so no one waits for it when they ask for a new map.
    from components.clusters import warm_up_maps

    warm_up_maps()

page = st.navigation(pages)
with query_attribution(settings, identity.user, page.url_path or "home"):
    page.run()
