"""What the Segment Builder shows about the audience: the summary, the waterfall, breakdowns,
overlap with every saved segment, the member preview and the holdout's counts, all in
words a marketer reads (labels from the catalog, names not ids, no snake_case)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.charts import GREEN, GREY, breakdown, waterfall_frame
from components.segments import build_marker
from components.text import plain
from components.warehouse import get_warehouse
from services.segments.compiler import CompiledSegment
from services.segments.estimate import Estimate, split_counts
from services.segments.features import FEATURES_BY_NAME
from services.segments.wording import Names, human, label

CONTACT_LABELS = {"customer_id": "Customer", "first_name": "First name", "last_name": "Last name", "email": "Email",
                  "phone": "Phone", "city": "City"}


def version_picker(versions: pd.DataFrame, *, on_change) -> None:
    """The saved versions of the segment, with their sizes; picking one opens it in the draft."""
    sizes = {int(v): (None if pd.isna(n) else int(n)) for v, n in zip(versions["version"], versions["audience_size"])}
    st.selectbox("Version", list(sizes), key="builder_version_pick", on_change=on_change,
                 format_func=lambda v: f"version {v}" + ("" if sizes[v] is None else f" · {sizes[v]:,} members"))


def summary(result: Estimate, *, as_of, status: str) -> None:
    """The audience in full (never truncated), with the shares on their own row; and in the sidebar, so it
    stays in view while the rule is edited."""
    with st.container(border=True):
        st.metric("Audience", f"{result.audience:,}")
        m1, m2 = st.columns(2)
        m1.metric("Of customers", f"{result.share:.1%}")
        m2.metric("Of revenue", f"{result.revenue_share:.1%}")
        st.caption(f"of {result.base:,} customers · as of {as_of} · estimated in {result.elapsed_ms:,.0f} ms")
        st.caption(status)
    with st.sidebar:
        st.metric("Draft audience", f"{result.audience:,}", help="The segment you are editing, counted live")
        st.caption(f"{result.share:.1%} of customers · {status}")


def left_out(items, rule: dict, slots: dict) -> None:
    """Each condition the count leaves out, named beside it (in labels) and listed above the figures."""
    for item in items:
        if item.path not in slots:
            continue
        node = rule
        for i in item.path:
            node = node["conditions"][i]
        reason = item.reason
        prefix = f"{node.get('field')} {node.get('op')}: "
        if node.get("kind") == "trait" and reason.startswith(prefix):
            reason = f"{label(node['field'])}: {reason.removeprefix(prefix)}"
        slots[item.path].error(f"Condition {item.path[-1] + 1}: {plain(reason)}", icon=":material/error:")
    if items:
        st.warning(f"{len(items)} condition(s) not counted until complete: " + "; ".join(plain(i.reason) for i in items),
                   icon=":material/edit_note:")


def waterfall(result: Estimate, compiled: CompiledSegment, names: Names) -> None:
    """Each top-level condition with the customers counted so far, titled by what that count is."""
    rule = compiled.definition.rule
    if not result.waterfall:
        return
    phrases = [c.phrase(names) for c in rule.conditions]
    if rule.match == "any":
        title = "Waterfall: customers matched by any of the conditions so far (each one adds)"
        phrases = [p if i == 0 else f"or {p}" for i, p in enumerate(phrases)]
    else:
        title = "Waterfall: customers left after each condition"
    steps = [(p, s.remaining) for p, s in zip(phrases, result.waterfall, strict=True)]
    with st.container(border=True):
        st.caption(title + (f"; NOT then keeps everyone else: {result.audience:,}" if rule.negate else ""))
        for row in waterfall_frame(steps, result.base).itertuples():
            st.progress(min(max(float(row.share), 0.0), 1.0), text=f"{plain(row.step)} → **{row.customers:,}**")


def breakdowns(result: Estimate) -> None:
    for name, frame in result.breakdowns.items():
        shown = frame.assign(value=frame["value"].map(human))
        st.plotly_chart(breakdown(shown, FEATURES_BY_NAME[name].label), config={"displayModeBar": False},
                        key=f"builder_breakdown_{name}")


def overlap_chart(overlap: pd.DataFrame, names: dict[str, str]) -> None:
    """Members shared with every saved segment, most first, each bar beside that segment's size."""
    if overlap.empty:
        st.info("No other saved segments to compare with yet.")
        return
    frame = overlap.assign(name=overlap["segment"].map(lambda sid: names.get(sid, sid))).iloc[::-1]
    fig = go.Figure()
    fig.add_bar(y=frame["name"], x=frame["shared"], orientation="h", name="shared with this audience",
                marker_color=GREEN, customdata=frame[["share_of_audience", "segment_size"]].to_numpy(),
                hovertemplate="%{y}: %{x:,} shared (%{customdata[0]:.1%} of this audience; "
                              "%{customdata[1]:,} in that segment)<extra></extra>")
    fig.add_bar(y=frame["name"], x=frame["segment_size"], orientation="h", name="that segment's size",
                marker_color=GREY, hovertemplate="%{y}: %{x:,} members<extra></extra>")
    fig.update_layout(barmode="overlay", height=90 + 26 * len(frame), margin=dict(l=0, r=10, t=10, b=0),
                      legend=dict(orientation="h", y=-0.08), xaxis=dict(title="customers", tickformat=","))
    st.plotly_chart(fig, config={"displayModeBar": False}, key="builder_overlap_chart")
    st.caption(f"Overlap with all {len(frame):,} saved segments, most shared first.")


def members(frame: pd.DataFrame) -> pd.DataFrame:
    """The preview with the columns a person reads: labels, not column names."""
    return frame.rename(columns={c: CONTACT_LABELS.get(c) or label(c) for c in frame.columns})


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _cached_split_counts(path: str, marker: str, definition_json: str, segment_key: str,
                         _compiled: CompiledSegment) -> dict[str, int]:
    return split_counts(get_warehouse(path), _compiled)


def holdout_counts(path: str, compiled: CompiledSegment) -> str:
    """"control 12 · treatment 108": the members of each group of the split, counted."""
    counts = _cached_split_counts(path, build_marker(path), compiled.definition.to_json(indent=None),
                                  compiled.segment_key, compiled)
    return " · ".join(f"{group} **{n:,}**" for group, n in counts.items())
