"""Segment Studio entry point: settings, identity and navigation, nothing else."""

from __future__ import annotations

import streamlit as st

from components import session
from components.identity import current_identity
from components.text import plain
from components.warehouse import query_attribution
from services import rbac
from services.errors import SegmentStudioError

st.set_page_config(page_title="Segment Studio", page_icon=":material/groups:", layout="wide")

try:
    settings = session.settings()
    identity = current_identity(settings)
except SegmentStudioError as exc:
    # Bad settings or an unreachable warehouse: say which, instead of a traceback.
    st.error(f"Segment Studio cannot start: {exc}")
    st.stop()



def page(script: str, title: str, icon: str, url_path: str) -> st.Page:
    # A page the role may not use stays reachable by link (it explains why not) but leaves the menu.
    shown = "visible" if rbac.may_open(identity.role, url_path) else "hidden"
    return st.Page(script, title=title, icon=icon, url_path=url_path, visibility=shown)


pages = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Segments": [
        page("pages/builder.py", "Segment Builder", ":material/tune:", "builder"),
        page("pages/library.py", "Segment Library", ":material/folder_open:", "library"),
        page("pages/exports.py", "Exports", ":material/ios_share:", "exports"),
    ],
    "Discover": [
        page("pages/clusters.py", "Cluster Explorer", ":material/bubble_chart:", "clusters"),
        page("pages/lookalikes.py", "Lookalikes", ":material/group_add:", "lookalikes"),
    ],
    "Governance": [
        page("pages/data_quality.py", "Data Quality", ":material/verified:", "data_quality"),
        page("pages/cost.py", "Cost", ":material/payments:", "cost"),
        page("pages/audit.py", "Audit log", ":material/history:", "audit"),
        page("pages/admin.py", "Roles", ":material/admin_panel_settings:", "admin"),
    ],
}
with st.sidebar:
    st.caption(f"Signed in as **{plain(identity.user)}** · role **{identity.role}**")

if settings.warm_up_maps:
    # Compile UMAP in the background now, so no one waits for it when they ask for a new map.
    from components.clusters import warm_up_maps

    warm_up_maps()

current = st.navigation(pages)
with query_attribution(settings, identity.user, current.url_path or "home"):
    current.run()
