"""The value widgets of a trait condition: what a marketer types or drags a value with.

A number has a slider over the data's range (with its histogram) and a number box
beside it, so any value can be typed (500, not the nearest slider step); the slider
moves in round steps (1, 2 or 5 times a power of ten) between round ends, and a new
condition starts at the field's median, rounded, rather than in the middle of a
range that a few big spenders stretch. A category has a multiselect with counts;
a date a date picker or a number of days.

Each widget reads its value from the condition (the rule tree in the draft) and
writes it back. When the field or the operator changes what kind of value the
condition takes (``shape``), the old value is dropped first, so a number of days
never reaches a date picker, nor 51,994 a box that stops at 36,500.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import plotly.graph_objects as go
import streamlit as st

from services.segments.catalog import Domain, FeatureCatalog
from services.segments.conditions.trait import VALUELESS
from services.segments.features import LIFECYCLE_STAGES, RFM_SEGMENTS, FeatureMeta
from services.segments.reading import MAX_DAYS
from services.segments.wording import human

PICKER_HELP = {"rfm_segment": RFM_SEGMENTS, "lifecycle_stage": LIFECYCLE_STAGES}
VALUE_KEYS = ("value", "values", "low", "high")


def key(node: dict, *parts) -> str:
    return "builder_" + "_".join([node["_id"], *map(str, parts)])


def shape(meta: FeatureMeta, op: str) -> str:
    """What kind of value a condition on ``meta`` with ``op`` takes."""
    if op in VALUELESS:
        return "none"
    if meta.type == "category":
        return "values"
    return {"between": "range", "within_last_days": "days"}.get(op, "value")


def reset_if_reshaped(node: dict, meta: FeatureMeta) -> None:
    """Drop the condition's value when its field or operator no longer takes that kind of value."""
    signature = f"{meta.name}|{shape(meta, node['op'])}"
    if node.get("_shape") not in (None, signature):
        for k in VALUE_KEYS:
            node.pop(k, None)
    node["_shape"] = signature
    if shape(meta, node["op"]) == "none" or meta.type == "boolean":
        for k in VALUE_KEYS:
            node.pop(k, None)


# -- numbers -------------------------------------------------------------------------------
def round_step(low: float, high: float, *, integer: bool) -> float | int:
    """About a hundred slider positions, each a round amount: 1, 2 or 5 times a power of ten."""
    span = high - low
    raw = span / 100 if span > 0 else 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    return max(1, int(round(step))) if integer else step


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step))) if step < 1 else 0


def round_bounds(low: float, high: float, step: float | int, *, integer: bool) -> tuple:
    """The data's range widened to whole steps (-5.75 in steps of 10 starts at -10)."""
    lo, hi = math.floor(low / step) * step, math.ceil(high / step) * step
    if hi <= lo:
        hi = lo + step
    if integer:
        return int(lo), int(hi)
    digits = _decimals(step)
    return round(float(lo), digits), round(float(hi), digits)


def rounded(value: float, *, integer: bool) -> float | int:
    """A value a marketer would pick near ``value``: two significant digits (734.2 -> 730, 0.456 -> 0.46)."""
    if value == 0 or not math.isfinite(value):
        return 0 if integer else 0.0
    digits = 1 - math.floor(math.log10(abs(value)))
    out = round(value, digits)
    return int(round(out)) if integer else float(out)


def _histogram(node: dict, domain: Domain, low=None, high=None) -> None:
    if not domain.histogram:
        return
    xs = [(a + b) / 2 for a, b, _ in domain.histogram]
    ys = [n for _, _, n in domain.histogram]
    colors = ["#0B6E4F" if (low is None or x >= low) and (high is None or x <= high) else "#C9D6CF" for x in xs]
    fig = go.Figure(go.Bar(x=xs, y=ys, marker_color=colors, hovertemplate="%{x:,.1f}: %{y:,} customers<extra></extra>"))
    fig.update_layout(height=90, margin=dict(l=0, r=0, t=0, b=0), xaxis=dict(visible=False),
                      yaxis=dict(visible=False), bargap=0.05, showlegend=False)
    st.plotly_chart(fig, config={"displayModeBar": False}, key=key(node, "histogram"))


def _synced(slider_key: str, box_keys: tuple[str, ...], lo, hi, cast) -> tuple:
    """Callbacks that keep a slider and its number boxes showing the same value(s)."""

    def from_slider() -> None:
        picked = st.session_state[slider_key]
        for box, v in zip(box_keys, picked if isinstance(picked, tuple) else (picked,), strict=True):
            st.session_state[box] = cast(v)

    def from_boxes() -> None:
        values = [max(lo, min(hi, cast(st.session_state[box]))) for box in box_keys]
        st.session_state[slider_key] = tuple(sorted(values)) if len(values) == 2 else values[0]

    return from_slider, from_boxes


def number_value(node: dict, meta: FeatureMeta, domain: Domain) -> None:
    integer = meta.integer
    cast = int if integer else float
    low_data = domain.minimum if domain.minimum is not None else 0.0
    high_data = domain.maximum if domain.maximum is not None else 1.0
    step = round_step(float(low_data), float(high_data), integer=integer)
    lo, hi = round_bounds(float(low_data), float(high_data), step, integer=integer)
    box_step = step if integer else (step / 10 if step < 1 else max(1.0, step / 10))
    box_format = "%d" if integer else f"%.{max(2, _decimals(box_step))}f"
    clamp = lambda v: max(lo, min(hi, cast(v)))  # noqa: E731
    median = domain.median if domain.median is not None else (lo + hi) / 2
    unit = f" {meta.unit}" if meta.unit else ""
    help_text = f"{meta.description}. Data range {low_data:,} to {high_data:,}{unit}; median {median:,.2f}."
    slider, c_box = st.columns([3, 1], vertical_alignment="center")
    if node["op"] == "between":
        low = clamp(node["low"]) if node.get("low") is not None else clamp(rounded(median / 2, integer=integer))
        high = clamp(node["high"]) if node.get("high") is not None else clamp(rounded(median * 2, integer=integer))
        low, high = min(low, high), max(low, high)
        slider_key = key(node, meta.name, "between")
        boxes = (key(node, meta.name, "low_box"), key(node, meta.name, "high_box"))
        for k, v in ((slider_key, (low, high)), (boxes[0], low), (boxes[1], high)):
            st.session_state.setdefault(k, v)
        from_slider, from_boxes = _synced(slider_key, boxes, lo, hi, cast)
        slider.slider(meta.label, min_value=lo, max_value=hi, step=step, key=slider_key, on_change=from_slider,
                      label_visibility="collapsed", help=help_text)
        c_box.number_input("from", min_value=lo, max_value=hi, step=box_step, format=box_format, key=boxes[0],
                           on_change=from_boxes)
        c_box.number_input("to", min_value=lo, max_value=hi, step=box_step, format=box_format, key=boxes[1],
                           on_change=from_boxes)
        node["low"], node["high"] = sorted((cast(st.session_state[boxes[0]]), cast(st.session_state[boxes[1]])))
        node.pop("value", None)
        _histogram(node, domain, node["low"], node["high"])
        return
    value = clamp(node["value"]) if node.get("value") is not None else clamp(rounded(median, integer=integer))
    slider_key, box = key(node, meta.name, "value"), key(node, meta.name, "value_box")
    st.session_state.setdefault(slider_key, value)
    st.session_state.setdefault(box, value)
    from_slider, from_boxes = _synced(slider_key, (box,), lo, hi, cast)
    slider.slider(meta.label, min_value=lo, max_value=hi, step=step, key=slider_key, on_change=from_slider,
                  label_visibility="collapsed", help=help_text)
    c_box.number_input(meta.label, min_value=lo, max_value=hi, step=box_step, format=box_format, key=box,
                       on_change=from_boxes, label_visibility="collapsed")
    node["value"] = cast(st.session_state[box])
    for k in ("low", "high"):
        node.pop(k, None)
    op = node["op"]
    _histogram(node, domain, node["value"] if op in ("gte", "gt") else None, node["value"] if op in ("lte", "lt") else None)


# -- categories ----------------------------------------------------------------------------
def category_value(node: dict, meta: FeatureMeta, catalog: FeatureCatalog) -> None:
    domain = catalog.domains[meta.name]
    counts = dict(domain.values)
    options = list(catalog.ordered_values(meta.name))
    chosen = [v for v in node.get("values", []) if v in options]
    described = PICKER_HELP.get(meta.picker or "")
    values = st.multiselect(
        meta.label, options, default=chosen, key=key(node, meta.name, "values"),
        format_func=lambda v: f"{human(v)} ({counts.get(v, 0):,})", label_visibility="collapsed",
        placeholder=f"Choose {meta.label.lower()} values",
        help="\n".join(f"**{human(k)}**: {v}" for k, v in described.items()) if described else meta.description,
    )
    node["values"] = list(values)


# -- dates ---------------------------------------------------------------------------------
def _as_date(value, lo: date, hi: date) -> date | None:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return None
    return min(max(value, lo), hi) if isinstance(value, date) else None


def date_value(node: dict, meta: FeatureMeta, catalog: FeatureCatalog) -> None:
    domain = catalog.domains[meta.name]
    lo = domain.minimum or date(2000, 1, 1)
    hi = domain.maximum or catalog.as_of_date
    lo, hi = (lo.date() if hasattr(lo, "date") else lo), (hi.date() if hasattr(hi, "date") else hi)
    default = max(lo, hi - timedelta(days=90))
    if node["op"] == "within_last_days":
        days = node.get("value")
        days = days if isinstance(days, int) and not isinstance(days, bool) and 0 <= days <= MAX_DAYS else 30
        node["value"] = int(st.number_input("days", min_value=0, max_value=MAX_DAYS, value=days, step=1,
                                            key=key(node, meta.name, "days")))
    elif node["op"] in ("before", "after"):
        current = _as_date(node.get("value"), lo, hi) or default
        node["value"] = st.date_input("date", value=current, min_value=lo, max_value=hi,
                                      key=key(node, meta.name, "date")).isoformat()
    elif node["op"] == "between":
        first = _as_date(node.get("low"), lo, hi) or default
        last = _as_date(node.get("high"), lo, hi) or hi
        picked = st.date_input("dates", value=(min(first, last), max(first, last)), min_value=lo, max_value=hi,
                               key=key(node, meta.name, "range"))
        # Half a range (the first click of two) keeps the previous one until the second click.
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            first, last = picked
        node["low"], node["high"] = first.isoformat(), last.isoformat()
        node.pop("value", None)
