"""The rule being edited, as a tree of plain dicts in session state.

Every node carries an ``_id`` so widget keys stay stable while conditions
are added, removed and reordered. ``to_definition_dict`` strips the ids and
gives the JSON form that ``SegmentDefinition.from_dict`` reads.
"""

from __future__ import annotations

import copy
import uuid


def new_id() -> str:
    return uuid.uuid4().hex[:8]


def new_node(kind: str) -> dict:
    if kind == "trait":
        return {"_id": new_id(), "kind": "trait", "field": "rfm_segment", "op": "in", "values": []}
    if kind == "behavior":
        return {"_id": new_id(), "kind": "behavior", "measure": "orders", "comparator": "at_least", "threshold": 1,
                "categories": [], "channels": [], "merchants": [], "products": [], "last_days": 90, "negate": False}
    if kind == "membership":
        return {"_id": new_id(), "kind": "membership", "of": "segment", "segment_id": None}
    if kind == "group":
        return {"_id": new_id(), "kind": "group", "match": "any", "negate": False, "conditions": []}
    raise ValueError(f"unknown node kind {kind!r}")


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


def add(root: dict, group_id: str, kind: str) -> dict:
    group = find(root, group_id)
    node = new_node(kind)
    group["conditions"].append(node)
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



def prune(group: dict, error_of) -> tuple[dict, list[tuple[str, str]]]:
    """The rule without conditions that cannot compile yet, and what was left out.

    A condition still being filled in (no value picked yet) must not blank
    the live count; it is left out, and named, until it is complete. A group
    emptied this way is left out too, rather than matching everyone or no one.
    """
    kept, skipped = [], []
    for _i, child in enumerate(group.get("conditions", [])):
        if child["kind"] == "group":
            inner, inner_skipped = prune(child, error_of)
            skipped += inner_skipped
            if inner["conditions"] or not child["conditions"]:
                kept.append(inner)
            continue
        error = error_of(child)
        if error:
            skipped.append((child["_id"], error))
        else:
            kept.append(child)
    return {**group, "conditions": kept}, skipped
