"""Roles: who may do what, for everyone; admins assign roles here, and every change is audited."""

from __future__ import annotations

import streamlit as st

from components import session
from components.identity import forget_roles
from components.warehouse import get_warehouse, ready_or_stop
from services import rbac
from services.errors import SegmentStudioError
from services.rbac import ACTION_LABELS, PERMISSIONS, ROLES, load_role_map
from services.role_assignments import admins, assign_role, assignments

settings = session.settings()
identity = session.identity()

st.title("Roles")
st.caption(f"You are signed in as **{identity.user}** with the role **{identity.role}**. A role comes from an "
           "admin's assignment here, else from roles.toml.")


def _open(key: str):
    warehouse = get_warehouse(key)
    return warehouse, assignments(warehouse)


warehouse, current = ready_or_stop(settings, _open, failure="The role assignments could not be read")
role_map = load_role_map(settings.roles_file)


def _assign() -> None:
    # A callback runs before the rerun that follows the click, so the outcome
    # survives any rerun of the page script.
    email = st.session_state.get("admin_email", "")
    role = st.session_state.get("admin_role", "marketer")
    note = st.session_state.get("admin_note", "")
    mapped = role_map.role_for(email)
    try:
        assign_role(warehouse, email, role, by=identity.user, by_role=identity.role, note=note, current_role=mapped)
    except SegmentStudioError as exc:
        st.session_state["admin_outcome"] = ("error", f"Not assigned: {exc}")
    else:
        forget_roles()
        st.session_state["admin_outcome"] = ("success", f"{email.strip().lower()} is now {role}. "
                                                        "The change is in the audit log.")


if rbac.can(identity.role, "change_roles"):
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
        st.dataframe(current, hide_index=True, width="stretch", column_config={
            "email": "Email", "role": "Role", "assigned_by": "Assigned by", "note": "Why",
            "user_id": st.column_config.TextColumn(
                "Bound to user id", help="The Databricks user id that first signed in with this email: the role "
                                         "stays with that id, even if the address later reaches someone else"),
            "assigned_ts": st.column_config.DatetimeColumn("Assigned", format="YYYY-MM-DD HH:mm")})
else:
    ask = ", ".join(admins(warehouse, role_map)) or "your workspace admin"
    st.info(f"Role administration is not available for your role ({identity.role}): it decides who may see and "
            f"export customer data, so only these roles may change roles: "
            f"{', '.join(rbac.allowed_roles('change_roles'))}. To change your role, ask an admin: {ask}.")

st.subheader("What each role may do")
st.dataframe(
    [{"action": ACTION_LABELS[action], **{r: ("yes" if r in allowed else "") for r in ROLES}}
     for action, allowed in PERMISSIONS.items()],
    hide_index=True, width="stretch", column_config={"action": "Action", **{r: r.title() for r in ROLES}},
)
