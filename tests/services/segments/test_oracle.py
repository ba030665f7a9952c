"""Counts from the compiled SQL against an independent pandas oracle.

The oracle reads the gold features and the transaction facts into DataFrames
and applies the documented meaning of each condition (gold model docs and the
Behavior docstring): "last N days" is posted_date > as_of - N and <= as_of;
orders count purchases; spend is purchases minus refunds in USD; customers
without matching transactions have 0 orders and 0 spend. A trait on an empty
value is never true, except the negating operators (``ne``, ``not_in``), which
are NOT of ``eq`` and ``in``; NOT means "everyone else".
"""

from __future__ import annotations

import operator
from collections import Counter
from functools import reduce

import pandas as pd
import pytest
from sqlglot import exp

from services import naming
from services.segments import estimate
from services.segments.catalog import load_catalog
from services.segments.compiler import compile_definition
from services.segments.compiler.split import (
    bucket_expression,
    python_bucket,
    python_group,
)
from services.segments.spec import (
    Arm,
    Behavior,
    Group,
    Membership,
    SegmentDefinition,
    Split,
    Trait,
)
from services.warehouse.duckdb_engine import DuckDBWarehouse

GOLD_TABLE = naming.fq("gold", "gold_customer_features")
FACT_TABLE = naming.fq("txn", "fact_transactions")
COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge,
           "before": operator.lt, "after": operator.gt}
THRESHOLD = {"at_least": operator.ge, "at_most": operator.le, "exactly": operator.eq}

LIBRARY = {
    "vip": SegmentDefinition("VIP", Group("all", (Trait("monetary", "gte", 1000), Trait("frequency", "gte", 8)))),
    "beauty-fans": SegmentDefinition("Beauty fans", Group("any", (
        Trait("top_category", "in", values=("beauty",)), Behavior(categories=("beauty",), threshold=3)))),
}


class PandasOracle:
    """The meaning of a definition, evaluated row by row in pandas (no SQL)."""

    def __init__(self, gold: pd.DataFrame, facts: pd.DataFrame):
        self.gold = gold.set_index("customer_id")
        self.facts = facts
        self.as_of = pd.Timestamp(gold["as_of_date"].max())
        sign = facts["txn_type"].map({"purchase": 1, "refund": -1})
        self.cents = (facts["amount_usd"] * 100).round().astype("int64") * sign

    def members(self, definition: SegmentDefinition) -> pd.Series:
        return self.group(definition.rule)

    def condition(self, c) -> pd.Series:
        if isinstance(c, Group):
            return self.group(c)
        if isinstance(c, Trait):
            return self.trait(c)
        if isinstance(c, Behavior):
            return self.behavior(c)
        inner = self.group(LIBRARY[c.segment_id].rule)
        return ~inner if c.negate else inner

    def group(self, g: Group) -> pd.Series:
        parts = [self.condition(c) for c in g.conditions]
        empty = pd.Series(g.match == "all", index=self.gold.index)
        combined = reduce(operator.and_ if g.match == "all" else operator.or_, parts) if parts else empty
        return ~combined if g.negate else combined

    def trait(self, t: Trait) -> pd.Series:
        col = self.gold[t.field]
        present = col.notna()

        def cast(v):
            return pd.Timestamp(v) if pd.api.types.is_datetime64_any_dtype(col) else v

        if t.op == "ne":  # NOT of eq: a customer with no value is not equal to it
            return ~(present & (col == cast(t.value)))
        if t.op in COMPARE:
            return present & COMPARE[t.op](col, cast(t.value))
        if t.op == "between":
            return col.between(cast(t.low), cast(t.high)).fillna(False)
        if t.op in ("in", "not_in"):
            hit = col.isin(t.values)
            return hit if t.op == "in" else ~hit
        if t.op in ("is_true", "is_false"):
            return present & (col == (t.op == "is_true"))
        if t.op == "within_last_days":
            return present & (col > self.as_of - pd.Timedelta(days=t.value))
        return ~present if t.op == "is_null" else present

    def behavior(self, b: Behavior) -> pd.Series:
        f = self.facts
        keep = f["posted_date"] <= min(pd.Timestamp(b.end) if b.end else self.as_of, self.as_of)
        if b.last_days:
            keep &= f["posted_date"] > self.as_of - pd.Timedelta(days=b.last_days)
        if b.start:
            keep &= f["posted_date"] >= pd.Timestamp(b.start)
        for name, column in (("categories", "category"), ("channels", "channel_code"),
                             ("merchants", "merchant_id"), ("products", "product_id")):
            if getattr(b, name):
                keep &= f[column].isin(getattr(b, name))
        if b.measure == "orders":
            keep &= f["txn_type"] == "purchase"
            amount = f[keep].groupby("customer_id").size()
            wanted = int(b.threshold)
        else:
            amount = self.cents[keep].groupby(f.loc[keep, "customer_id"]).sum()
            wanted = round(b.threshold * 100)
        per_customer = amount.reindex(self.gold.index, fill_value=0)
        holds = THRESHOLD[b.comparator](per_customer, wanted)
        return ~holds if b.negate else holds


def rule(match, *conditions, negate=False) -> SegmentDefinition:
    return SegmentDefinition("oracle", Group(match, conditions, negate))


NESTED = rule("all", Trait("recency_days", "lte", 90), Group("any", (
    Behavior(threshold=2, categories=("beauty",)),
    Group("all", (Trait("top_channel", "in", values=("store",)), Trait("frequency", "gte", 5)), negate=True))))
DEFINITIONS = [
    pytest.param(rule("all", Trait("recency_days", "lte", 30)), id="recent"),
    pytest.param(rule("all", Trait("region", "in", values=("US-West", "UK-London")), Trait("email_opt_in", "is_true")),
                 id="region-and-opt-in"),
    pytest.param(rule("all", Trait("monetary", "between", low=100, high=500.5),
                      Trait("lifecycle_stage", "not_in", values=("lapsed", "at_risk"))), id="mid-spenders-not-lapsed"),
    pytest.param(rule("any", Trait("first_purchase_date", "before", "2025-06-01"), Trait("gender", "is_null"),
                      Trait("last_purchase_date", "within_last_days", 14)), id="old-or-unknown-gender-or-last-14-days"),
    pytest.param(rule("all", Trait("mean_days_between_purchases", "gt", 20), Trait("sms_opt_in", "is_false")),
                 id="slow-repeaters-no-sms"),
    pytest.param(rule("all", Behavior(threshold=3, categories=("beauty",), last_days=90)), id="beauty-3x-last-90d"),
    pytest.param(rule("all", Behavior(comparator="at_most", threshold=1, last_days=180)), id="at-most-once-last-180d"),
    pytest.param(rule("all", Behavior(categories=("electronics",), negate=True)), id="never-bought-electronics"),
    pytest.param(rule("all", Behavior(comparator="exactly", threshold=0, categories=("toys",), last_days=365)),
                 id="exactly-zero-toys-last-365d"),
    pytest.param(rule("all", Behavior("spend", "at_least", 200, channels=("web", "app"), start="2025-11-01", end="2026-04-30")),
                 id="online-spend-window"),
    pytest.param(rule("all", Behavior("spend", "at_most", 49.99, last_days=365)), id="spend-at-most-last-365d"),
    pytest.param(rule("all", Behavior("spend", "at_most", 0, last_days=30)), id="spend-at-most-zero-last-30d"),
    pytest.param(rule("all", Behavior(comparator="exactly", threshold=2, merchants=("M-GB-WEB", "M-GB-APP"))),
                 id="exactly-2-gb-online-orders"),
    pytest.param(rule("all", Behavior(threshold=2, products=("P-APP-006", "P-APP-034", "P-APP-018"), end="2026-06-30")),
                 id="product-repeat-until-june"),
    pytest.param(NESTED, id="nested-all-any-not"),
    pytest.param(rule("all", Membership("segment", "vip"), Behavior(last_days=90, negate=True)), id="vip-without-recent-orders"),
    pytest.param(rule("all", Membership("segment", "vip", negate=True), Membership("segment", "beauty-fans")),
                 id="beauty-fans-not-vip"),
    pytest.param(rule("any", Trait("loyalty_tier", "in", values=("gold", "platinum")), Behavior("spend", "at_least", 2000),
                      negate=True), id="negated-rule"),
]


@pytest.fixture(scope="module")
def frames(demo_warehouse):
    gold = demo_warehouse.df(exp.select("*").from_(exp.to_table(GOLD_TABLE)))
    facts = demo_warehouse.df(exp.select("customer_id", "txn_type", "posted_date", "amount_usd", "category", "channel_code",
                                         "merchant_id", "product_id").from_(exp.to_table(FACT_TABLE)))
    return gold, facts


@pytest.fixture(scope="module")
def oracle(frames):
    return PandasOracle(*frames)


@pytest.fixture(scope="module")
def catalog(demo_warehouse):
    return load_catalog(demo_warehouse)


def compile_(definition, catalog, **kwargs):
    return compile_definition(definition, catalog, resolver=lambda segment_id, version: LIBRARY[segment_id], **kwargs)


def test_oracle_sees_the_whole_demo(oracle, catalog):
    assert len(oracle.gold) == catalog.base_count > 1000
    assert oracle.as_of == pd.Timestamp(catalog.as_of_date)


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_count_matches_pandas(definition, demo_warehouse, catalog, oracle):
    expected = int(oracle.members(definition).sum())
    assert 0 < expected < catalog.base_count, "a definition that selects no one or everyone proves little"
    assert estimate.count(demo_warehouse, compile_(definition, catalog)) == expected


@pytest.mark.parametrize("negated", [
    pytest.param(rule("all", Trait("gender", "in", values=("F",)), negate=True), id="negated-group"),
    pytest.param(rule("all", Trait("recency_days", "lte", 365), Group("all", (Trait("gender", "in", values=("F",)),), negate=True)),
                 id="negated-nested-group"),
])
def test_negated_group_over_a_nullable_field_is_everyone_else(negated, demo_warehouse, catalog, oracle):
    assert estimate.count(demo_warehouse, compile_(negated, catalog)) == int(oracle.members(negated).sum())


@pytest.mark.parametrize(("field", "negating", "positive"), [
    pytest.param("gender", Trait("gender", "not_in", values=("F",)), Trait("gender", "in", values=("F",)), id="not-in"),
    pytest.param("mean_days_between_purchases", Trait("mean_days_between_purchases", "ne", 30.0),
                 Trait("mean_days_between_purchases", "eq", 30.0), id="ne"),
])
def test_a_negating_operator_keeps_the_customers_with_no_value_as_a_negated_group_does(
        field, negating, positive, demo_warehouse, catalog, oracle):
    """One rule for NOT over empty fields (issue 13, finding 7): ``x not_in [F]`` = ``not (x in [F])``, and
    both are everyone the positive form leaves out, the customers with no value included."""
    empty = int(oracle.gold[field].isna().sum())
    assert empty > 0 and catalog.domains[field].null_count == empty
    by_operator = estimate.count(demo_warehouse, compile_(rule("all", negating), catalog))
    by_group = estimate.count(demo_warehouse, compile_(rule("all", positive, negate=True), catalog))
    matched = estimate.count(demo_warehouse, compile_(rule("all", positive), catalog))
    assert by_operator == by_group == catalog.base_count - matched
    assert by_operator == int(oracle.members(rule("all", negating)).sum())


@pytest.mark.parametrize("definition", [
    pytest.param(NESTED, id="all-of-two-with-nesting"),
    pytest.param(rule("any", Membership("segment", "vip"), Behavior(categories=("toys",), last_days=60),
                      Trait("top_channel", "in", values=("web",))), id="any-of-three"),
])
def test_waterfall_and_breakdowns_match_pandas(definition, demo_warehouse, catalog, oracle, frames):
    result = estimate.estimate(demo_warehouse, compile_(definition, catalog))
    members = oracle.members(definition)
    gold = oracle.gold
    assert (result.audience, result.base) == (int(members.sum()), len(gold))
    assert result.revenue == pytest.approx(float(gold.loc[members, "monetary"].sum()), abs=0.01)
    assert result.base_revenue == pytest.approx(float(gold["monetary"].sum()), abs=0.01)

    join = operator.and_ if definition.rule.match == "all" else operator.or_
    flags = [oracle.condition(c) for c in definition.rule.conditions]
    expected_steps = [int(reduce(join, flags[: i + 1]).sum()) for i in range(len(flags))]
    assert [step.remaining for step in result.waterfall] == expected_steps
    assert [step.label for step in result.waterfall] == [c.describe() for c in definition.rule.conditions]

    for dim in estimate.BREAKDOWNS:
        values = gold[dim].fillna("(unknown)").astype(str)
        expected = pd.DataFrame({"members": members.astype(int), "base": 1}).groupby(values).sum()
        got = result.breakdowns[dim].set_index("value")[["members", "base"]]
        assert got.astype(int).sort_index().to_dict() == expected.sort_index().to_dict(), dim
        assert got["members"].sum() == result.audience


SPLIT = Split(10, (Arm("email", 45), Arm("sms", 45)))


def test_sql_split_matches_python_group_on_the_demo(demo_warehouse, catalog):
    compiled = compile_(SegmentDefinition("split", Group("all", (Trait("recency_days", "lte", 180),)), split=SPLIT), catalog,
                        segment_id="seg-demo")
    rows = demo_warehouse.df(compiled.members_query(with_split=True))
    assert len(rows) == estimate.count(demo_warehouse, compiled) > 0
    assert [python_group(SPLIT, "seg-demo", c) for c in rows["customer_id"]] == rows["split_group"].tolist()


def test_split_counts_are_the_members_of_each_group_control_first(demo_warehouse, catalog):
    """What the Builder shows under the holdout: control and each arm, counted (issue 13)."""
    compiled = compile_(SegmentDefinition("split", Group("all", (Trait("recency_days", "lte", 180),)), split=SPLIT), catalog,
                        segment_id="seg-demo")
    ids = demo_warehouse.df(compiled.members_query())["customer_id"]
    expected = Counter(python_group(SPLIT, "seg-demo", c) for c in ids)
    counts = estimate.split_counts(demo_warehouse, compiled)
    assert list(counts) == ["control", "email", "sms"]
    assert counts == dict(expected) and sum(counts.values()) == len(ids)
    assert estimate.split_counts(demo_warehouse, compile_(rule("all", Trait("recency_days", "lte", 180)), catalog)) == {}


@pytest.fixture(scope="module")
def fifty_thousand():
    """An in-memory warehouse whose gold table holds 50,000 synthetic customers."""
    warehouse = DuckDBWarehouse(":memory:")
    warehouse.execute(f"CREATE SCHEMA {GOLD_TABLE.split('.')[0]}")
    warehouse.execute(f"CREATE TABLE {GOLD_TABLE} (customer_id VARCHAR NOT NULL, recency_days INTEGER NOT NULL)")
    warehouse.append(GOLD_TABLE, pd.DataFrame({"customer_id": [f"CUST-{i:06d}" for i in range(50_000)],
                                               "recency_days": [i % 365 for i in range(50_000)]}))
    yield warehouse
    warehouse.close()


def test_split_shares_and_stability_on_fifty_thousand(fifty_thousand, catalog):
    def groups(definition, key):
        compiled = compile_(definition, catalog, segment_id=key)
        return fifty_thousand.df(compiled.members_query(with_split=True)).set_index("customer_id")["split_group"]

    everyone = groups(SegmentDefinition("all", Group(), split=SPLIT), "seg-50k")
    assert len(everyone) == 50_000
    shares = everyone.value_counts(normalize=True) * 100
    assert shares["control"] == pytest.approx(10, abs=1)
    assert shares["email"] == pytest.approx(45, abs=1) and shares["sms"] == pytest.approx(45, abs=1)
    assert everyone.tolist() == [python_group(SPLIT, "seg-50k", c) for c in everyone.index]

    # Stable: the same customer keeps its group when the rule changes or the query reruns.
    narrower = groups(SegmentDefinition("recent", Group("all", (Trait("recency_days", "lt", 30),)), split=SPLIT), "seg-50k")
    assert 0 < len(narrower) < 50_000
    assert narrower.to_dict() == everyone[narrower.index].to_dict()
    assert groups(SegmentDefinition("all", Group(), split=SPLIT), "seg-50k").equals(everyone)
    # Independent across segments: another key reshuffles (same-group rate ~ 0.1² + 2 x 0.45² = 0.415).
    other = groups(SegmentDefinition("all", Group(), split=SPLIT), "seg-other")
    assert (other[everyone.index] == everyone).mean() == pytest.approx(0.415, abs=0.02)


def test_bucket_expression_matches_python_on_fifty_thousand(fifty_thousand):
    query = exp.select(exp.column("customer_id"), bucket_expression("seg-50k").as_("b")).from_(
        exp.to_table(GOLD_TABLE).as_("f"))
    rows = fifty_thousand.df(query)
    assert rows["b"].tolist() == [python_bucket("seg-50k", c) for c in rows["customer_id"]]
    assert rows["b"].between(0, 9_999).all() and rows["b"].nunique() > 9_900
