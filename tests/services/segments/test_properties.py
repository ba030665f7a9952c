"""Property: whatever text a definition holds, the SQL it compiles to is safe.

A tiny in-memory warehouse holds gold rows and transactions whose category,
channel, merchant and product values are hostile strings (quotes, semicolons,
comment markers, backslashes, unicode, SQL keywords), so the catalog accepts
them. For every generated definition, each rendering parses back, the DuckDB
one runs, and user text appears only inside string literals.
"""

from __future__ import annotations

import functools
import re
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlglot import exp

from services import naming
from services.errors import SegmentStudioError
from services.pipeline.models import create_all
from services.segments.catalog import BEHAVIOR_FILTERS, load_catalog
from services.segments.catalog_writer import write_catalog
from services.segments.compiler import compile_definition
from services.segments.compiler.split import python_group
from services.segments.spec import Arm, Behavior, Group, SegmentDefinition, Split, Trait
from services.warehouse.duckdb_engine import DuckDBWarehouse

AS_OF = date(2026, 10, 31)
HOSTILE = (
    "O'Brien", "x'; DROP TABLE t; --", "a -- b", "/* c */", "*/ 1", "back\\slash", "tail\\", "\\'", "''",
    "' OR '1'='1", "ünï©ødé ✓ 😀", "SELECT", "NULL", "1); DELETE FROM x; (", '"dq"', "`bt`", "new\nline\r\t",
    "$1 ? %s {0}", "Ω;--/*'\\",
)
# Names and arm names may hold anything but control characters (rejected by the spec).
NAMES = tuple(h for h in HOSTILE if not any(ord(c) < 32 for c in h))
# None of these can occur in compiled SQL once the string literals are taken out.
FORBIDDEN_OUTSIDE_LITERALS = ("'", ";", "--", "/*", "*/", "\\", "DROP", "DELETE", "1=1", "%s", "$1", "{0}", "\r", "\t")
CATEGORY_COLUMNS = ("region", "country", "loyalty_tier", "age_band", "gender", "top_category", "top_channel",
                    "rfm_segment", "lifecycle_stage", "rfm_cell")
CUSTOMERS = 50


def _gold_rows() -> pd.DataFrame:
    rows = []
    for i in range(CUSTOMERS):
        last = AS_OF - timedelta(days=(i * 7) % 400)
        row = {
            "customer_id": f"C{i:03d}" if i % 5 else f"C{i:03d}{HOSTILE[i % len(HOSTILE)]}",
            "as_of_date": AS_OF, "first_purchase_date": last - timedelta(days=i * 3), "last_purchase_date": last,
            "recency_days": (AS_OF - last).days, "frequency": 1 + i % 9, "monetary": round(i * 13.37 - 20, 2),
            "avg_order_value": None if i % 11 == 0 else 10.5 + i, "tenure_days": (AS_OF - last).days + i * 3,
            "r_score": 1 + i % 5, "f_score": 1 + (i // 5) % 5, "m_score": 1 + (i // 25) % 5, "fm_score": 1 + i % 5,
            "spend_90d": i * 1.5, "orders_90d": i % 4, "online_share": (i % 10) / 10, "refund_rate": (i % 3) / 10,
            "mean_days_between_purchases": None if i % 9 == 0 else float(i), "distinct_categories": 1 + i % 4,
            "email_opt_in": None if i % 7 == 0 else i % 2 == 0, "sms_opt_in": i % 3 == 0, "push_opt_in": i % 4 == 0,
        }
        for k, column in enumerate(CATEGORY_COLUMNS):
            row[column] = None if (i + k) % 13 == 0 and column not in ("rfm_segment", "lifecycle_stage") else \
                HOSTILE[(i + k) % len(HOSTILE)]
        rows.append(row)
    return pd.DataFrame(rows)


def _fact_rows(gold: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for n in range(4 * CUSTOMERS):
        customer = gold.iloc[n % CUSTOMERS]
        rows.append({
            "transaction_id": f"T{n:04d}", "customer_id": customer["customer_id"],
            "product_id": HOSTILE[n % len(HOSTILE)], "merchant_id": HOSTILE[(n + 3) % len(HOSTILE)],
            "channel_code": HOSTILE[(n + 5) % len(HOSTILE)], "category": HOSTILE[(n + 7) % len(HOSTILE)],
            "txn_type": "refund" if n % 10 == 9 else "purchase", "quantity": 1, "amount": 5.0 + n % 37,
            "currency": "USD", "fx_rate_to_usd": 1.0, "amount_usd": 5.0 + n % 37,
            "posted_ts": pd.Timestamp(AS_OF) - pd.Timedelta(days=(n * 5) % 500),
            "posted_date": AS_OF - timedelta(days=(n * 5) % 500),
        })
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def hostile_warehouse():
    warehouse = DuckDBWarehouse(":memory:")
    create_all(warehouse)
    gold = _gold_rows()
    warehouse.append(naming.fq("gold", "gold_customer_features"), gold)
    facts = _fact_rows(gold)
    warehouse.append(naming.fq("txn", "fact_transactions"), facts)
    # What the pipeline's activity model would copy from the facts.
    activity = naming.fq("gold", "gold_customer_activity")
    warehouse.append(activity, facts[[c for c, _ in warehouse.columns(*activity.split(".")) if c in facts]])
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="module")
def hostile_catalog(hostile_warehouse):
    # What the build does last: the catalog, written from the data (hostile values and all).
    write_catalog(hostile_warehouse, checks=[], build_id="run-hostile")
    return load_catalog(hostile_warehouse)


def test_catalog_knows_the_hostile_values(hostile_catalog):
    assert hostile_catalog.as_of_date == AS_OF and hostile_catalog.base_count == CUSTOMERS
    assert set(hostile_catalog.domains["region"].known_values) == set(HOSTILE)
    assert all(set(values) == set(HOSTILE) for values in hostile_catalog.behavior_values.values())


# -- strategies ----------------------------------------------------------
numbers = st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
dates = st.dates(date(1990, 1, 1), date(2040, 12, 31))


def traits(catalog):
    @st.composite
    def build(draw):
        meta = draw(st.sampled_from(catalog.features))
        op = draw(st.sampled_from(meta.operators))
        if op in ("is_null", "is_not_null", "is_true", "is_false"):
            return Trait(meta.name, op)
        if meta.type == "category":
            known = catalog.domains[meta.name].known_values
            return Trait(meta.name, op, values=tuple(draw(st.lists(st.sampled_from(known), min_size=1, max_size=4))))
        values = numbers if meta.type == "number" else dates
        if op == "between":
            return Trait(meta.name, op, low=draw(values), high=draw(values))
        if op == "within_last_days":
            return Trait(meta.name, op, draw(st.integers(0, 5000)))
        return Trait(meta.name, op, draw(values))
    return build()


def behaviors(catalog):
    @st.composite
    def build(draw):
        measure = draw(st.sampled_from(("orders", "spend")))
        threshold = draw(st.integers(0, 6) if measure == "orders" else numbers)
        filters = {name: tuple(draw(st.lists(st.sampled_from(catalog.behavior_values[name]), max_size=3)))
                   for name in BEHAVIOR_FILTERS}
        window = draw(st.sampled_from(("ever", "last", "range", "start", "end")))
        start, end = sorted((draw(dates), draw(dates)))
        return Behavior(
            measure, draw(st.sampled_from(("at_least", "at_most", "exactly"))), threshold, **filters,
            last_days=draw(st.integers(1, 3000)) if window == "last" else None,
            start=start if window in ("range", "start") else None, end=end if window in ("range", "end") else None,
            negate=draw(st.booleans()),
        )
    return build()


@functools.lru_cache(maxsize=2)
def definitions(catalog):
    leaves = st.one_of(traits(catalog), behaviors(catalog))
    groups = st.recursive(
        leaves,
        lambda children: st.builds(Group, st.sampled_from(("all", "any")), st.lists(children, max_size=3).map(tuple),
                                   st.booleans()),
        max_leaves=5,
    )
    rules = st.builds(Group, st.sampled_from(("all", "any")), st.lists(groups, max_size=3).map(tuple), st.booleans())
    splits = st.one_of(st.none(), st.none(), st.none(), st.builds(
        lambda names, control: Split(control, (Arm(names[0], 60 - control), Arm(names[1], 40))),
        st.lists(st.sampled_from(NAMES), min_size=2, max_size=2, unique=True), st.integers(0, 60)))
    return st.builds(SegmentDefinition, st.sampled_from(NAMES), rules, st.sampled_from(("", *HOSTILE)), splits)


# -- checks ----------------------------------------------------------------
def user_texts(definition: SegmentDefinition) -> set[str]:
    """Every piece of user text that reaches the SQL (the name only through the split's hash key)."""
    texts = set()
    if definition.split:
        texts |= {f"draft:{definition.name}:", *(a.name for a in definition.split.arms)}

    def visit(group: Group):
        for c in group.conditions:
            if isinstance(c, Group):
                visit(c)
            elif isinstance(c, Trait):
                texts.update(v for v in c.values if isinstance(v, str))
            else:
                texts.update(v for name in BEHAVIOR_FILTERS for v in getattr(c, name))
    visit(definition.rule)
    return texts


COMPILER_TEXTS = {"purchase", "refund", "control", "0123456789abcdef"}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# How each engine reads a string literal: DuckDB doubles a quote, Databricks escapes with a backslash.
STRING_LITERAL = {"duckdb": re.compile(r"'(?:[^']|'')*'"), "databricks": re.compile(r"'(?:[^'\\]|\\.)*'", re.DOTALL)}


def check_rendering(compiled, texts: set[str], dialect: str) -> str:
    """Parse the rendered SQL back and check that user text only sits inside literals."""
    full = compiled.sql(dialect)
    header, body = full.split("\n", 2)[:2], full.split("\n", 2)[2]
    assert all(line.startswith("-- ") for line in header), header
    statements = sqlglot.parse(full, read=dialect)
    assert len(statements) == 1 and isinstance(statements[0], exp.Select)
    literals = [lit for lit in statements[0].find_all(exp.Literal) if lit.is_string]
    values = {lit.this for lit in literals}
    # Each piece of user text arrives whole, as one literal; no literal is anything else.
    assert texts <= values, texts - values
    for value in values:
        assert value in texts or value in COMPILER_TEXTS or ISO_DATE.fullmatch(value), value
    remaining = STRING_LITERAL[dialect].sub(" ", body)
    assert remaining.isascii(), remaining
    for fragment in FORBIDDEN_OUTSIDE_LITERALS:
        assert fragment not in remaining, (fragment, remaining)
    return full


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_hostile_values_stay_inside_literals(data, hostile_warehouse, hostile_catalog):
    definition = data.draw(definitions(hostile_catalog))
    compiled = compile_definition(definition, hostile_catalog)
    texts = user_texts(definition)
    check_rendering(compiled, texts, "databricks")
    members = hostile_warehouse.df(check_rendering(compiled, texts, "duckdb"))
    assert members["customer_id"].is_unique and len(members) <= CUSTOMERS
    if definition.split:
        # The hash key carries the hostile name; DuckDB and Python must still agree on every bucket.
        expected = [python_group(definition.split, compiled.segment_key, c) for c in members["customer_id"]]
        assert members["split_group"].tolist() == expected


def test_nul_in_a_name_is_rejected(hostile_catalog):
    with pytest.raises(SegmentStudioError, match="control characters"):
        SegmentDefinition("VIP\x00 list", Group())
