"""The point-and-click rule editor of the Segment Builder.

Widgets come from the feature catalog: the field picker lists its features,
the operator picker the field type's operators, and the value widget fits
the field (``components/value_widgets.py``: a slider with a number box beside it
for numbers, a multiselect with counts for categories). Edits write straight into
the rule tree of the draft (``components/draft.py``); buttons use callbacks so the
rerun shows the change.

``EDITORS`` holds one entry per kind of condition (services/segments/conditions/,
``KINDS``), by the same name: its heading, its add button, a new node's fields and
the widget that edits it. Whether a node is complete is not decided here: the page
compiles the whole rule once and shows each left-out condition's reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import streamlit as st

from components.value_widgets import category_value, date_value, key as _key, number_value, reset_if_reshaped
from services.segments.catalog import FeatureCatalog
from services.segments.spec import COMPARATORS, TRAIT_OPS

OP_LABELS = {**TRAIT_OPS, "eq": "is", "ne": "is not", "in": "is any of", "not_in": "is none of",
             "gte": "at least", "lte": "at most", "gt": "more than", "lt": "less than"}
#: operators that negate, and so keep the customers with no value (docs/segment-spec.md)
NEGATING = ("ne", "not_in")


@dataclass(frozen=True)
class EditorContext:
    """What an editor offers to choose from: the catalog, the saved segments as (id, name) with
    ``versions_of(id)`` and their sizes (``sizes``: id -> members when saved), and what to call a saved
    run or model (``labels``: id -> name and date)."""

    catalog: FeatureCatalog
    saved: list[tuple[str, str]] = field(default_factory=list)
    versions_of: Callable[[str], list[int]] = lambda segment_id: []
    labels: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


def _field_health_note(name: str) -> None:
    """The field's as-of date and null rate, and any failing data-quality check on it."""
    health = st.session_state.get("builder_field_health", {}).get(name)
    if health is None:
        return
    empty = f" · {health.null_rate:.1%} empty" if health.null_rate else ""
    st.caption(f"as of {health.as_of_date}{empty}")
    for check in health.failing_checks:
        icon = ":material/error:" if check.severity == "critical" else ":material/warning:"
        text = f"Data-quality check **{check.check_name}** on {check.dataset_id.split('.')[-1]} fails: {check.details}"
        (st.error if check.severity == "critical" else st.warning)(text, icon=icon)


def trait_editor(node: dict, ctx: EditorContext) -> None:
    catalog = ctx.catalog
    names = list(catalog.names)
    labels = {f.name: f"{f.group} · {f.label}" for f in catalog.features}
    if node.get("field") not in names:
        node["field"] = names[0]
    c1, c2 = st.columns([3, 2])
    node["field"] = c1.selectbox("Field", names, index=names.index(node["field"]), format_func=labels.get,
                                 key=_key(node, "field"), label_visibility="collapsed")
    meta = catalog.feature(node["field"])
    _field_health_note(meta.name)
    ops = list(meta.operators)
    if node.get("op") not in ops:
        node["op"] = ops[0]
    node["op"] = c2.selectbox("Operator", ops, index=ops.index(node["op"]), format_func=lambda o: OP_LABELS.get(o, o),
                              key=_key(node, meta.name, "op"), label_visibility="collapsed")
    # A value chosen for another field or operator is never shown to this one's widget.
    reset_if_reshaped(node, meta)
    if meta.type == "number" and node["op"] not in ("is_null", "is_not_null"):
        number_value(node, meta, catalog.domains[meta.name])
    elif meta.type == "category" and node["op"] in ("in", "not_in"):
        category_value(node, meta, catalog)
    elif meta.type == "date" and node["op"] not in ("is_null", "is_not_null"):
        date_value(node, meta, catalog)
    empty = catalog.domains[meta.name].null_count if meta.name in catalog.domains else 0
    if node["op"] in NEGATING and empty:
        st.caption(f"Also keeps the {empty:,} customers with no {meta.label.lower()}: a negation keeps "
                   "customers with no value.")


def behavior_editor(node: dict, ctx: EditorContext) -> None:
    catalog = ctx.catalog
    c0, c1, c2, c3 = st.columns([1.1, 1.2, 1.1, 1])
    node["negate"] = c0.toggle("did not", value=bool(node.get("negate")), key=_key(node, "negate"),
                               help="Turn 'bought ...' into 'did not buy ...'")
    measures = ["orders", "spend"]
    node["measure"] = c1.selectbox("Measure", measures, index=measures.index(node.get("measure", "orders")),
                                   format_func={"orders": "bought", "spend": "spent (net)"}.get,
                                   key=_key(node, "measure"), label_visibility="collapsed")
    comparators = list(COMPARATORS)
    node["comparator"] = c2.selectbox("Comparator", comparators, index=comparators.index(node.get("comparator", "at_least")),
                                      format_func=lambda c: c.replace("_", " "), key=_key(node, "comparator"),
                                      label_visibility="collapsed")
    if node["measure"] == "orders":
        node["threshold"] = int(c3.number_input("times", min_value=0, max_value=10_000, step=1,
                                                value=int(node.get("threshold", 1)), key=_key(node, "orders_n")))
    else:
        node["threshold"] = float(c3.number_input("USD", min_value=-1e9, max_value=1e9, step=10.0,
                                                  value=float(node.get("threshold", 100.0)), key=_key(node, "spend_x")))
    f1, f2 = st.columns(2)
    node["categories"] = f1.multiselect("in categories", list(catalog.behavior_values.get("categories", ())),
                                        default=node.get("categories", []), key=_key(node, "categories"),
                                        placeholder="any category")
    node["channels"] = f2.multiselect("on channels", list(catalog.behavior_values.get("channels", ())),
                                      default=node.get("channels", []), key=_key(node, "channels"),
                                      placeholder="any channel")
    with st.expander("Merchants and products"):
        node["merchants"] = st.multiselect("at merchants", list(catalog.behavior_values.get("merchants", ())),
                                           default=node.get("merchants", []), key=_key(node, "merchants"),
                                           placeholder="any merchant")
        node["products"] = st.multiselect("products", list(catalog.behavior_values.get("products", ())),
                                          default=node.get("products", []), key=_key(node, "products"),
                                          placeholder="any product")
    windows = ["last_days", "between", "ever"]
    last_days, start, end = node.pop("last_days", None), node.pop("start", None), node.pop("end", None)
    current = "last_days" if last_days else ("between" if start or end else "ever")
    w1, w2 = st.columns([1, 2])
    window = w1.selectbox("Window", windows, index=windows.index(current), key=_key(node, "window"),
                          format_func={"last_days": "in the last … days", "between": "between dates", "ever": "ever"}.get,
                          label_visibility="collapsed")
    as_of = catalog.as_of_date
    if window == "last_days":
        node["last_days"] = int(w2.number_input("days", min_value=1, max_value=3650, step=1, value=int(last_days or 90),
                                                key=_key(node, "last_days"), label_visibility="collapsed"))
    elif window == "between":
        first = date.fromisoformat(start) if isinstance(start, str) else (start or as_of - timedelta(days=90))
        last = date.fromisoformat(end) if isinstance(end, str) else (end or as_of)
        picked = w2.date_input("between", value=(first, last), max_value=as_of,
                               key=_key(node, "dates"), label_visibility="collapsed")
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            node["start"], node["end"] = picked[0].isoformat(), picked[1].isoformat()
        else:
            node["start"], node["end"] = first.isoformat(), last.isoformat()


def _pick_saved(column, node: dict, field: str, options: list[str], label: str, key: str,
                labels: dict[str, str] | None, empty: str) -> bool:
    """A run or model picker showing names, not ids; False (with a hint) when nothing is saved yet."""
    if not options:
        column.info(empty)
        return False
    names = labels or {}
    node[field] = column.selectbox(label, options, key=_key(node, key), label_visibility="collapsed",
                                   format_func=lambda i: names.get(i, i))
    return True


def membership_editor(node: dict, ctx: EditorContext) -> None:
    catalog, saved, versions_of, labels = ctx.catalog, ctx.saved, ctx.versions_of, ctx.labels
    kinds = ["segment", "cluster", "lookalike"]
    c0, c1, c2 = st.columns([1, 1.2, 3])
    node["negate"] = c0.toggle("not", value=bool(node.get("negate")), key=_key(node, "negate"))
    node["of"] = c1.selectbox("Member of", kinds, index=kinds.index(node.get("of", "segment")), key=_key(node, "of"),
                              format_func={"segment": "in segment", "cluster": "in cluster", "lookalike": "in lookalike"}.get,
                              label_visibility="collapsed")
    if node["of"] == "segment":
        ids = [sid for sid, _ in saved]
        names = dict(saved)
        if not ids:
            c2.info("No saved segments yet.")
            return
        if node.get("segment_id") not in ids:
            node["segment_id"] = ids[0]

        def sized(segment_id: str) -> str:
            size = ctx.sizes.get(segment_id)
            return names[segment_id] + ("" if size is None else f" · {size:,} members")

        node["segment_id"] = c2.selectbox("Segment", ids, index=ids.index(node["segment_id"]), format_func=sized,
                                          key=_key(node, "segment"), label_visibility="collapsed")
        options = [None, *versions_of(node["segment_id"])]
        version = st.selectbox("Version", options, index=options.index(node.get("version")) if node.get("version") in options else 0,
                               format_func=lambda v: "latest version" if v is None else f"version {v}",
                               key=_key(node, node["segment_id"], "version"))
        if version is None:
            node.pop("version", None)
        else:
            node["version"] = int(version)
    elif node["of"] == "cluster":
        if not _pick_saved(c2, node, "run_id", list(catalog.cluster_runs), "Run", "run", labels,
                           "No clustering runs yet: create one in the Cluster Explorer."):
            return
        node["cluster_ids"] = st.multiselect("Clusters", list(catalog.cluster_runs[node["run_id"]]),
                                             default=node.get("cluster_ids", []), key=_key(node, node["run_id"], "clusters"))
    else:
        if not _pick_saved(c2, node, "model_id", list(catalog.lookalike_models), "Model", "model", labels,
                           "No lookalike models yet: create one on the Lookalikes page."):
            return
        node["reach_pct"] = float(st.slider("Reach (% of eligible base)", 1.0, 20.0, float(node.get("reach_pct") or 5.0),
                                            step=0.5, key=_key(node, "reach")))


@dataclass(frozen=True)
class Editor:
    """The Builder's side of a kind of condition."""

    label: str                                   # a condition's heading
    button: str                                  # the button that adds one
    blank: dict                                  # a new condition's fields (its kind and id are added)
    render: Callable[[dict, EditorContext], None]


EDITORS: dict[str, Editor] = {
    "trait": Editor("Trait", "+ Trait", {"field": "rfm_segment", "op": "in", "values": []}, trait_editor),
    "behavior": Editor("Purchase behaviour", "+ Behaviour", {
        "measure": "orders", "comparator": "at_least", "threshold": 1, "categories": [], "channels": [],
        "merchants": [], "products": [], "last_days": 90, "negate": False}, behavior_editor),
    "membership": Editor("Membership", "+ Membership", {"of": "segment", "segment_id": None}, membership_editor),
}
