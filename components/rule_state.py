"""The rule being edited, as a tree of plain dicts in session state.

Every node carries an ``_id`` so widget keys stay stable while conditions
are added, removed and reordered. ``strip_ids`` strips the ids and gives the
JSON form that the workspace's ``compile_draft`` reads (a node's index path in
the tree is its path in that form, so a left-out condition finds its node).
"""

from __future__ import annotations

import copy
import uuid


def new_id() -> str:
    return uuid.uuid4().hex[:8]


def new_node(kind: str, fields: dict) -> dict:
    """A node of ``kind`` with its own copy of ``fields`` (a kind's blank, rule_editor.EDITORS) and a fresh id."""
    return {"_id": new_id(), "kind": kind, **copy.deepcopy(fields)}


def with_ids(node: dict) -> dict:
    """A copy of a stored definition's rule with fresh ids on every node."""
    out = copy.deepcopy(node)

    def visit(n: dict) -> None:
        n["_id"] = new_id()
        n.setdefault("kind", "group" if "conditions" in n else n.get("kind"))
        for child in n.get("conditions", []):
            visit(child)

    visit(out)
    return out


def strip_ids(node: dict) -> dict:
    out = {k: v for k, v in node.items() if not k.startswith("_")}
    if "conditions" in out:
        out["conditions"] = [strip_ids(c) for c in out["conditions"]]
    return out


def find_parent(root: dict, node_id: str) -> tuple[dict | None, int]:
    for i, child in enumerate(root.get("conditions", [])):
        if child["_id"] == node_id:
            return root, i
        parent, index = find_parent(child, node_id)
        if parent is not None:
            return parent, index
    return None, -1


def find(root: dict, node_id: str) -> dict | None:
    if root["_id"] == node_id:
        return root
    for child in root.get("conditions", []):
        hit = find(child, node_id)
        if hit is not None:
            return hit
    return None


def add(root: dict, group_id: str, node: dict) -> dict:
    find(root, group_id)["conditions"].append(node)
    return node


def remove(root: dict, node_id: str) -> None:
    parent, index = find_parent(root, node_id)
    if parent is not None:
        parent["conditions"].pop(index)


def move(root: dict, node_id: str, step: int) -> None:
    parent, index = find_parent(root, node_id)
    if parent is None:
        return
    target = index + step
    if 0 <= target < len(parent["conditions"]):
        items = parent["conditions"]
        items[index], items[target] = items[target], items[index]
