"""The point-and-click rule editor of the Segment Builder.

Widgets come from the feature catalog: the field picker lists its features,
the operator picker the field type's operators, and the value widget fits
the field (a slider over the data's range with its histogram for numbers, a
multiselect with counts for categories). Edits write straight into the rule
tree in session state; buttons use callbacks so the rerun shows the change.

``EDITORS`` holds one entry per kind of condition (services/segments/conditions/,
``KINDS``), by the same name: its heading, its add button, a new node's fields and
the widget that edits it. Whether a node is complete is not decided here: the page
compiles the whole rule once and shows each left-out condition's reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import plotly.graph_objects as go
import streamlit as st

from services.segments.catalog import FeatureCatalog
from services.segments.features import LIFECYCLE_STAGES, RFM_SEGMENTS
from services.segments.spec import COMPARATORS, TRAIT_OPS

OP_LABELS = {**TRAIT_OPS, "eq": "is", "ne": "is not", "in": "is any of", "not_in": "is none of",
             "gte": "at least", "lte": "at most", "gt": "more than", "lt": "less than"}
PICKER_HELP = {"rfm_segment": RFM_SEGMENTS, "lifecycle_stage": LIFECYCLE_STAGES}


def _key(node: dict, *parts) -> str:
    return "builder_" + "_".join([node["_id"], *map(str, parts)])


@dataclass(frozen=True)
class EditorContext:
    """What an editor offers to choose from: the catalog, the saved segments as (id, name) with
    ``versions_of(id)``, and what to call a saved run or model (``labels``: id -> name and date)."""

    catalog: FeatureCatalog
    saved: list[tuple[str, str]] = field(default_factory=list)
    versions_of: Callable[[str], list[int]] = lambda segment_id: []
    labels: dict[str, str] = field(default_factory=dict)


def _histogram(node: dict, domain, low=None, high=None) -> None:
    if not domain.histogram:
        return
    xs = [(a + b) / 2 for a, b, _ in domain.histogram]
    ys = [n for _, _, n in domain.histogram]
    colors = ["#0B6E4F" if (low is None or x >= low) and (high is None or x <= high) else "#C9D6CF" for x in xs]
    fig = go.Figure(go.Bar(x=xs, y=ys, marker_color=colors, hovertemplate="%{x:,.1f}: %{y:,} customers<extra></extra>"))
    fig.update_layout(height=90, margin=dict(l=0, r=0, t=0, b=0), xaxis=dict(visible=False),
                      yaxis=dict(visible=False), bargap=0.05, showlegend=False)
    st.plotly_chart(fig, config={"displayModeBar": False}, key=_key(node, "histogram"))


def _number_value(node: dict, meta, domain) -> None:
    lo = domain.minimum if domain.minimum is not None else 0.0
    hi = domain.maximum if domain.maximum is not None else 1.0
    if hi <= lo:
        hi = lo + 1
    integer = meta.integer
    cast = int if integer else float
    lo, hi = (int(lo), int(hi)) if integer else (float(lo), float(hi))
    step = 1 if integer else (0.01 if hi - lo <= 2 else 1.0)
    if node["op"] == "between":
        low = cast(node.get("low") if node.get("low") is not None else lo)
        high = cast(node.get("high") if node.get("high") is not None else hi)
        low, high = st.slider(meta.label, min_value=lo, max_value=hi, value=(max(lo, min(low, hi)), max(lo, min(high, hi))),
                              step=step, key=_key(node, meta.name, "between"), label_visibility="collapsed")
        node["low"], node["high"] = cast(low), cast(high)
        node.pop("value", None)
        _histogram(node, domain, low, high)
    else:
        default = node.get("value")
        if default is None:
            default = cast(lo + (hi - lo) / 2) if not integer else int(lo + (hi - lo) // 2)
        value = st.slider(meta.label, min_value=lo, max_value=hi, value=max(lo, min(cast(default), hi)), step=step,
                          key=_key(node, meta.name, "value"), label_visibility="collapsed",
                          help=f"{meta.description}. Data range {lo:,} to {hi:,}{' ' + meta.unit if meta.unit else ''}.")
        node["value"] = cast(value)
        for k in ("low", "high"):
            node.pop(k, None)
        low = value if node["op"] in ("gte", "gt") else None
        high = value if node["op"] in ("lte", "lt") else None
        _histogram(node, domain, low, high)


def _category_value(node: dict, meta, catalog: FeatureCatalog) -> None:
    domain = catalog.domains[meta.name]
    counts = dict(domain.values)
    options = list(catalog.ordered_values(meta.name))
    chosen = [v for v in node.get("values", []) if v in options]
    help_text = PICKER_HELP.get(meta.picker or "")
    values = st.multiselect(
        meta.label, options, default=chosen, key=_key(node, meta.name, "values"),
        format_func=lambda v: f"{v} ({counts.get(v, 0):,})", label_visibility="collapsed",
        placeholder=f"Choose {meta.label.lower()} values",
        help="\n".join(f"**{k}**: {v}" for k, v in help_text.items()) if help_text else meta.description,
    )
    node["values"] = list(values)


def _date_value(node: dict, meta, catalog: FeatureCatalog) -> None:
    domain = catalog.domains[meta.name]
    lo = domain.minimum or date(2000, 1, 1)
    hi = domain.maximum or catalog.as_of_date
    if node["op"] == "within_last_days":
        node["value"] = int(st.number_input("days", min_value=0, max_value=10_000, value=int(node.get("value") or 30),
                                            step=1, key=_key(node, meta.name, "days")))
    elif node["op"] in ("before", "after"):
        current = node.get("value")
        current = date.fromisoformat(current) if isinstance(current, str) else (current or hi - timedelta(days=90))
        node["value"] = st.date_input("date", value=current, min_value=lo, max_value=hi,
                                      key=_key(node, meta.name, "date")).isoformat()
    elif node["op"] == "between":
        picked = st.date_input("dates", value=(hi - timedelta(days=90), hi), min_value=lo, max_value=hi,
                               key=_key(node, meta.name, "range"))
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            node["low"], node["high"] = picked[0].isoformat(), picked[1].isoformat()


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
    for k in [k for k in ("value", "values", "low", "high") if k in node and meta.type == "boolean"]:
        node.pop(k)
    if node["op"] in ("is_null", "is_not_null", "is_true", "is_false"):
        for k in ("value", "values", "low", "high"):
            node.pop(k, None)
        return
    if meta.type == "number":
        node.pop("values", None)
        _number_value(node, meta, catalog.domains[meta.name])
    elif meta.type == "category":
        for k in ("value", "low", "high"):
            node.pop(k, None)
        _category_value(node, meta, catalog)
    elif meta.type == "date":
        node.pop("values", None)
        _date_value(node, meta, catalog)


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
        node["segment_id"] = c2.selectbox("Segment", ids, index=ids.index(node["segment_id"]), format_func=names.get,
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
