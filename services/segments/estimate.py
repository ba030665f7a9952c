"""Live estimates for the Segment Builder: size, value, waterfall, breakdowns,
overlap with saved segments, and a member preview with PII masked.

Each figure is one scan of the gold table: the top-level conditions are
evaluated once per customer as flags in a subquery, and every sum is taken
over those flags, so a behavioral condition runs once, not once per figure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import pandas as pd
from sqlglot import exp

from services import naming
from services.governance.registry import dataset_id
from services.pii import mask_frame, pii_policy
from services.segments.compiler import CompiledSegment
from services.segments.compiler.split import thresholds
from services.segments.conditions.context import feature, negate as negate_predicate
from services.sqlterms import column, count_star, table
from services.warehouse import Warehouse

BREAKDOWNS = ("lifecycle_stage", "rfm_segment", "top_channel", "region")
PREVIEW_COLUMNS = ("rfm_segment", "lifecycle_stage", "monetary", "frequency", "recency_days", "top_category", "region")
CUSTOMER_TABLE = naming.fq("txn", "dim_customer")


@dataclass(frozen=True)
class WaterfallStep:
    label: str
    remaining: int


@dataclass(frozen=True)
class Estimate:
    audience: int
    base: int
    revenue: float
    base_revenue: float
    waterfall: tuple[WaterfallStep, ...]
    breakdowns: dict[str, pd.DataFrame]
    elapsed_ms: float

    @property
    def share(self) -> float:
        return self.audience / self.base if self.base else 0.0

    @property
    def revenue_share(self) -> float:
        return self.revenue / self.base_revenue if self.base_revenue else 0.0


def _flag(i: int) -> exp.Column:
    return exp.column(f"c{i}", quoted=True)


def _when(condition: exp.Expression, then: exp.Expression | None = None) -> exp.Expression:
    return exp.Sum(this=exp.Case().when(condition, then if then is not None else exp.Literal.number(1), copy=False)
                   .else_(exp.Literal.number(0), copy=False))


def _combine(n: int, match: str, negate: bool) -> exp.Expression:
    """The first n flags combined by the rule's match.

    Fresh flag columns on every call: a sqlglot node has one parent, so one
    put into two of the sums would be re-parented into the second.
    """
    flags = [_flag(i) for i in range(n)]
    if not flags:
        combined = exp.true() if match == "all" else exp.false()
    else:
        combined = exp.and_(*flags, copy=False) if match == "all" else exp.or_(*flags, copy=False)
    return negate_predicate(combined) if negate else combined


def count(warehouse: Warehouse, compiled: CompiledSegment) -> int:
    return int(warehouse.scalar(compiled.count_query()))


def estimate(warehouse: Warehouse, compiled: CompiledSegment, *, breakdowns: tuple[str, ...] = BREAKDOWNS) -> Estimate:
    started = time.perf_counter()
    rule = compiled.definition.rule
    # The steps belong to the compiled segment, so they are copied; all else here is built for this query alone.
    flags_inner = [p.copy().as_(f"c{i}", copy=False) for i, (_, p) in enumerate(compiled.steps)]
    dims = [feature(d).as_(d, copy=False) for d in breakdowns]
    inner = exp.select(feature("monetary").as_("monetary", copy=False), *dims, *flags_inner).from_(
        compiled.features_table(), copy=False)
    n = len(compiled.steps)

    totals = [
        count_star().as_("base", copy=False),
        exp.Sum(this=exp.column("monetary")).as_("base_revenue", copy=False),
        _when(_combine(n, rule.match, rule.negate)).as_("audience", copy=False),
        _when(_combine(n, rule.match, rule.negate), exp.column("monetary")).as_("revenue", copy=False),
    ]
    # Waterfall: how many remain after each top-level condition, in order.
    for i in range(n):
        totals.append(_when(_combine(i + 1, rule.match, False)).as_(f"w{i}", copy=False))
    # One query for everything: the empty grouping set is the grand total, the
    # others the breakdowns, so each condition (a behavioral semi-join above
    # all) is evaluated once per customer, not once per figure.
    sets = exp.GroupingSets(expressions=[exp.Tuple(expressions=[]),
                                         *[exp.Tuple(expressions=[exp.column(d)]) for d in breakdowns]])
    grouped = warehouse.df(
        exp.select(
            *[exp.column(d) for d in breakdowns],
            *[exp.Grouping(expressions=[exp.column(d)]).as_(f"g_{d}", copy=False) for d in breakdowns],
            *totals,
        ).from_(inner.subquery("flags", copy=False), copy=False).group_by(sets, copy=False)
    )
    is_total = grouped[[f"g_{d}" for d in breakdowns]].eq(1).all(axis=1) if breakdowns else grouped.index == 0
    row = grouped[is_total].iloc[0].to_dict()
    waterfall = tuple(WaterfallStep(label, int(row[f"w{i}"] or 0)) for i, (label, _) in enumerate(compiled.steps))
    out_breakdowns: dict[str, pd.DataFrame] = {}
    audience = int(row["audience"] or 0)
    base = int(row["base"] or 0)
    for d in breakdowns:
        part = grouped[grouped[f"g_{d}"] == 0][[d, "audience", "base"]].rename(columns={d: "value", "audience": "members"})
        part["value"] = part["value"].fillna("(unknown)").astype(str)
        part["members"] = part["members"].fillna(0).astype("int64")
        part["base"] = part["base"].astype("int64")
        part["share_of_audience"] = part["members"] / audience if audience else 0.0
        part["share_of_base"] = part["base"] / base if base else 0.0
        out_breakdowns[d] = part.sort_values(["members", "value"], ascending=[False, True]).reset_index(drop=True)
    return Estimate(
        audience=audience, base=base,
        revenue=float(row["revenue"] or 0), base_revenue=float(row["base_revenue"] or 0),
        waterfall=waterfall, breakdowns=out_breakdowns,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def split_counts(warehouse: Warehouse, compiled: CompiledSegment) -> dict[str, int]:
    """Members per split group, control first and then the arms in order; empty without a split."""
    split = compiled.definition.split
    if split is None:
        return {}
    group = exp.column("split_group", quoted=True)
    rows = warehouse.arrow(
        exp.select(group, count_star().as_("members", copy=False))
        .from_(compiled.members_query(with_split=True).subquery("m", copy=False), copy=False)
        .group_by(group.copy(), copy=False)).to_pylist()
    counted = {r["split_group"]: int(r["members"]) for r in rows}
    return {name: counted.get(name, 0) for name, _ in thresholds(split)}


def overlaps(warehouse: Warehouse, compiled: CompiledSegment, others: dict[str, CompiledSegment]) -> pd.DataFrame:
    """Members shared with each other segment (one scan for all of them)."""
    if not others:
        return pd.DataFrame(columns=["segment", "segment_size", "shared", "share_of_audience"])
    names = list(others)
    inner = exp.select(
        compiled.predicate.copy().as_("me", copy=False),
        *[others[n].predicate.copy().as_(f"o{i}", copy=False) for i, n in enumerate(names)],
    ).from_(compiled.features_table(), copy=False)
    sums = [_when(exp.column("me")).as_("audience", copy=False)]
    for i in range(len(names)):
        sums.append(_when(exp.column(f"o{i}")).as_(f"size{i}", copy=False))
        sums.append(_when(exp.and_(exp.column("me"), exp.column(f"o{i}"), copy=False)).as_(f"both{i}", copy=False))
    row = warehouse.arrow(exp.select(*sums).from_(inner.subquery("flags", copy=False), copy=False)).to_pylist()[0]
    audience = int(row["audience"] or 0)
    frame = pd.DataFrame({
        "segment": names,
        "segment_size": [int(row[f"size{i}"] or 0) for i in range(len(names))],
        "shared": [int(row[f"both{i}"] or 0) for i in range(len(names))],
    })
    frame["share_of_audience"] = frame["shared"] / audience if audience else 0.0
    return frame.sort_values("shared", ascending=False).reset_index(drop=True)


def preview(warehouse: Warehouse, compiled: CompiledSegment, *, limit: int = 20, show_pii: bool = False) -> pd.DataFrame:
    """A deterministic sample of members with contact details, masked unless allowed.

    Which columns are masked, and how, is the governance catalog's call: the
    ``pii`` tags on txn dim_customer, where the contact columns come from, so a
    newly tagged column is masked without a code change. If the catalog has no
    PII tags for dim_customer at all, every contact column is masked: a catalog
    that says nothing must not be read as "nothing here is personal".
    """
    contact = {"first_name": "name", "last_name": "name", "email": "email", "phone": "phone", "city": "address"}
    customer = partial(column, table="c")
    query = (
        exp.select(feature("customer_id"), *[customer(c) for c in contact], *[feature(c) for c in PREVIEW_COLUMNS])
        .from_(compiled.features_table(), copy=False)
        .join(table(CUSTOMER_TABLE).as_("c", copy=False), on=exp.and_(
            exp.EQ(this=customer("customer_id"), expression=feature("customer_id")),
            exp.EQ(this=customer("is_current"), expression=exp.true()), copy=False), join_type="left", copy=False)
        .where(compiled.predicate.copy(), copy=False)
        .order_by(exp.MD5(this=feature("customer_id")), copy=False)
        .limit(exp.Literal.number(int(limit)), copy=False)  # given a bare int, sqlglot parses "LIMIT <n>"
    )
    frame = warehouse.df(query)
    if show_pii:
        return frame
    return mask_frame(frame, pii_policy(warehouse, dataset_id("txn", "dim_customer")) or contact)
