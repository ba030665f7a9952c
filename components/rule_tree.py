"""Render the rule tree: groups with their conditions, to any depth, with
buttons to add, remove and reorder, and each condition's error beside it."""

from __future__ import annotations

import streamlit as st

from components import rule_state
from components.rule_editor import (
    KIND_LABELS,
    behavior_editor,
    condition_error,
    membership_editor,
    trait_editor,
)
from services.segments.catalog import FeatureCatalog


def _tree() -> dict:
    return st.session_state["builder_rule"]


def _add(group_id: str, kind: str) -> None:
    rule_state.add(_tree(), group_id, kind)


def _remove(node_id: str) -> None:
    rule_state.remove(_tree(), node_id)


def _move(node_id: str, step: int) -> None:
    rule_state.move(_tree(), node_id, step)


def _add_buttons(group: dict, *, nested: bool) -> None:
    cols = st.columns(4)
    for col, (kind, label) in zip(cols, [("trait", "+ Trait"), ("behavior", "+ Behaviour"),
                                         ("membership", "+ Membership"), ("group", "+ Group")]):
        col.button(label, key=f"builder_{group['_id']}_add_{kind}", on_click=_add, args=(group["_id"], kind),
                   width="stretch", disabled=(kind == "group" and nested and _depth(group) >= 4))


def _depth(group: dict) -> int:
    parent, _ = rule_state.find_parent(_tree(), group["_id"])
    depth = 0
    while parent is not None:
        depth += 1
        parent, _ = rule_state.find_parent(_tree(), parent["_id"])
    return depth


def _node_header(node: dict, index: int, total: int, label: str) -> None:
    h, up, down, rm = st.columns([7, 1, 1, 1], vertical_alignment="center")
    h.markdown(f"**{index + 1}. {label}**")
    up.button("", icon=":material/arrow_upward:", key=f"builder_{node['_id']}_up", on_click=_move,
              args=(node["_id"], -1), disabled=index == 0, help="Move up")
    down.button("", icon=":material/arrow_downward:", key=f"builder_{node['_id']}_down", on_click=_move,
                args=(node["_id"], 1), disabled=index == total - 1, help="Move down")
    rm.button("", icon=":material/delete:", key=f"builder_{node['_id']}_remove", on_click=_remove,
              args=(node["_id"],), help="Remove this condition")


def render_group(group: dict, catalog: FeatureCatalog, *, saved, versions_of, resolver, nested: bool = False,
                 labels: dict[str, str] | None = None) -> None:
    c1, c2 = st.columns([3, 1])
    matches = ["all", "any"]
    group["match"] = c1.segmented_control(
        "Match", matches, default=group.get("match", "all"), key=f"builder_{group['_id']}_match",
        format_func={"all": "ALL of these (and)", "any": "ANY of these (or)"}.get, label_visibility="collapsed",
    ) or group.get("match", "all")
    group["negate"] = c2.toggle("NOT", value=bool(group.get("negate")), key=f"builder_{group['_id']}_negate",
                                help="Exclude the customers this group matches")
    conditions = group["conditions"]
    if not conditions:
        st.caption("No conditions: this group matches " + ("everyone." if group["match"] == "all" else "no one."))
    for i, node in enumerate(list(conditions)):
        with st.container(border=True):
            _node_header(node, i, len(conditions), KIND_LABELS[node["kind"]])
            if node["kind"] == "group":
                render_group(node, catalog, saved=saved, versions_of=versions_of, resolver=resolver, nested=True,
                             labels=labels)
                continue
            if node["kind"] == "trait":
                trait_editor(node, catalog)
            elif node["kind"] == "behavior":
                behavior_editor(node, catalog)
            else:
                membership_editor(node, catalog, saved, versions_of, labels)
            error = condition_error(node, catalog, resolver)
            # Kept on the node (keys starting "_" never reach the definition) so the
            # page leaves incomplete conditions out without compiling them again.
            node["_error"] = error
            if error:
                st.error(f"Condition {i + 1}: {error}", icon=":material/error:")
    _add_buttons(group, nested=nested)
