"""Roles: who may do what. Admins assign roles here; every change is audited."""

from __future__ import annotations

import streamlit as st

from components import session
from components.identity import forget_roles
from components.warehouse import get_warehouse, ready_or_stop
from services.errors import SegmentStudioError
from services.rbac import PERMISSIONS, ROLES, load_role_map
from services.role_assignments import assign_role, assignments

settings = session.settings()
identity = session.identity()

st.title("Roles")
session.gate("change_roles", feature="Role administration", reason="it decides who may see and export customer data")


def _open(key: str):
    warehouse = get_warehouse(key)
    return warehouse, assignments(warehouse)


warehouse, current = ready_or_stop(settings, _open, failure="The role assignments could not be read")


def _assign() -> None:
    # A callback runs before the rerun that follows the click, so the outcome
    # survives any rerun of the page script.
    email = st.session_state.get("admin_email", "")
    role = st.session_state.get("admin_role", "marketer")
    note = st.session_state.get("admin_note", "")
    mapped = load_role_map(settings.roles_file).role_for(email)
    try:
        assign_role(warehouse, email, role, by=identity.user, by_role=identity.role, note=note, current_role=mapped)
    except SegmentStudioError as exc:
        st.session_state["admin_outcome"] = ("error", f"Not assigned: {exc}")
    else:
        forget_roles()
        st.session_state["admin_outcome"] = ("success", f"{email.strip().lower()} is now {role}. "
                                                        "The change is in the audit log.")


st.subheader("Assign a role")
with st.form("admin_assign", clear_on_submit=True):
    c1, c2 = st.columns([2, 1])
    c1.text_input("Email", placeholder="name@company.com", key="admin_email")
    c2.selectbox("Role", ROLES, index=ROLES.index("marketer"), key="admin_role")
    st.text_input("Why", placeholder="what changed for this person", key="admin_note")
    st.form_submit_button("Assign role", type="primary", on_click=_assign)
outcome = st.session_state.pop("admin_outcome", None)
if outcome:
    (st.success if outcome[0] == "success" else st.error)(outcome[1])
    current = assignments(warehouse)

st.subheader("Assigned in the app")
if current.empty:
    st.caption("No roles assigned in the app yet: roles.toml decides for everyone.")
else:
    st.dataframe(current, hide_index=True, width="stretch")

st.subheader("What each role may do")
st.dataframe(
    [{"action": action.replace("_", " "), **{r: ("yes" if r in allowed else "") for r in ROLES}}
     for action, allowed in PERMISSIONS.items()],
    hide_index=True, width="stretch",
)
