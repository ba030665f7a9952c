"""Render the rule tree: groups with their conditions, to any depth, with
buttons to add, remove and reorder, and a place beside each condition for
its error (filled by the page once it has compiled the whole rule).

One rule for empty groups, here as in the count (services/segments/compiler/draft.py):
a group with no conditions yet is left out, neither adding nor removing anyone,
until it has one; the editor says so where the group is.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components import draft, rule_state
from components.rule_editor import EDITORS, EditorContext
from services.segments.catalog import FeatureCatalog
from services.segments.features import FEATURES_BY_NAME

GROUP = {"match": "any", "negate": False, "conditions": []}
MAX_DEPTH = 4


def _tree() -> dict:
    return draft.current().rule


def _add(group_id: str, kind: str) -> None:
    fields = GROUP if kind == "group" else EDITORS[kind].blank
    rule_state.add(_tree(), group_id, rule_state.new_node(kind, fields))


def _remove(node_id: str) -> None:
    rule_state.remove(_tree(), node_id)


def _move(node_id: str, step: int) -> None:
    rule_state.move(_tree(), node_id, step)


def _add_buttons(group: dict, *, nested: bool) -> None:
    buttons = [(kind, editor.button) for kind, editor in EDITORS.items()] + [("group", "+ Group")]
    for col, (kind, label) in zip(st.columns(len(buttons)), buttons):
        col.button(label, key=f"builder_{group['_id']}_add_{kind}", on_click=_add, args=(group["_id"], kind),
                   width="stretch", disabled=(kind == "group" and nested and _depth(group) >= MAX_DEPTH))


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


def _nullable_inside(group: dict, catalog: FeatureCatalog) -> dict[str, int]:
    """Fields a group's traits compare whose value can be empty: label -> customers with no value."""
    out: dict[str, int] = {}
    for node in group["conditions"]:
        if node.get("kind") == "group":
            out |= _nullable_inside(node, catalog)
        elif node.get("kind") == "trait" and node.get("op") not in ("is_null", "is_not_null"):
            domain = catalog.domains.get(node.get("field"))
            if domain is not None and domain.null_count and node.get("field") in FEATURES_BY_NAME:
                out[FEATURES_BY_NAME[node["field"]].label] = domain.null_count
    return out


def render_group(group: dict, ctx: EditorContext, *, path: tuple[int, ...] = (),
                 nested: bool = False) -> dict[tuple[int, ...], DeltaGenerator]:
    """Draw ``group`` (at ``path`` in the rule) for editing; returns the error slot of each condition by its path."""
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
        st.caption("No conditions yet: everyone is counted. Add a condition below." if not nested else
                   f"Group {path[-1] + 1} has no conditions yet: it is left out of the count (it neither adds "
                   "nor removes anyone) until you add one.")
    elif group["negate"]:
        kept = _nullable_inside(group, ctx.catalog)
        if kept:
            st.caption("NOT also keeps the customers with no value in " + ", ".join(
                f"{label} ({n:,})" for label, n in kept.items()) + ".")
    slots: dict[tuple[int, ...], DeltaGenerator] = {}
    for i, node in enumerate(list(conditions)):
        here = (*path, i)
        with st.container(border=True):
            if node["kind"] == "group":
                _node_header(node, i, len(conditions), "Group")
                slots |= render_group(node, ctx, path=here, nested=True)
                continue
            editor = EDITORS[node["kind"]]
            _node_header(node, i, len(conditions), editor.label)
            editor.render(node, ctx)
            slots[here] = st.empty()
    _add_buttons(group, nested=nested)
    return slots
