"""Golden tests of the segment compiler: (definition, DuckDB SQL, Databricks SQL).

The catalog is built by hand (as-of 2026-10-31), so no warehouse is needed.
Windows: "last 90 days" is posted_date > 2026-08-02 and <= 2026-10-31.
"""

from __future__ import annotations

from datetime import date

import pytest

from services.errors import CompileError, SpecError
from services.segments.catalog import Domain, FeatureCatalog
from services.segments.compiler import compile_definition
from services.segments.compiler.split import (
    bucket_case,
    bucket_expression,
    python_group,
    thresholds,
)
from services.segments.features import FEATURES
from services.segments.spec import (
    Arm,
    Behavior,
    Group,
    Membership,
    SegmentDefinition,
    Split,
    Trait,
)

AS_OF = date(2026, 10, 31)
FACT = "customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_customer_activity"
GOLD = "customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold"
# The start of every subquery over the facts, in each dialect.
DUCK_FROM = f'"f"."customer_id" IN (SELECT "t"."customer_id" FROM {FACT} AS t WHERE '
DBX_FROM = f"`f`.`customer_id` IN (SELECT `t`.`customer_id` FROM {FACT} AS t WHERE "
DUCK_SPEND = """SUM(CASE WHEN "t"."txn_type" = 'refund' THEN -"t"."amount_usd" ELSE "t"."amount_usd" END)"""
DBX_SPEND = "SUM(CASE WHEN `t`.`txn_type` = 'refund' THEN -`t`.`amount_usd` ELSE `t`.`amount_usd` END)"
DUCK_UPTO = """"t"."posted_date" <= CAST('2026-10-31' AS DATE)"""
DBX_UPTO = "`t`.`posted_date` <= CAST('2026-10-31' AS DATE)"
DUCK_PURCHASE = """"t"."txn_type" = 'purchase' AND """
DBX_PURCHASE = "`t`.`txn_type` = 'purchase' AND "


@pytest.fixture(scope="module")
def catalog() -> FeatureCatalog:
    return FeatureCatalog(
        features=FEATURES,
        domains={
            "region": Domain(values=(("US-West", 9), ("O'Brien's", 1))),
            "top_category": Domain(values=(("beauty", 5), ("home", 3))),
        },
        as_of_date=AS_OF,
        base_count=12,
        behavior_values={"categories": ("beauty", "home"), "channels": ("app", "web"),
                         "merchants": ("M-1", "M-2"), "products": ("P-1",)},
        cluster_runs={"run-1": (0, 1, 2)},
        lookalike_models=("lal-1",),
    )


def predicate_sql(rule, catalog, resolver=None) -> tuple[str, str]:
    rule = rule if isinstance(rule, Group) else Group("all", (rule,))
    compiled = compile_definition(SegmentDefinition("golden", rule), catalog, resolver=resolver)
    return compiled.predicate.sql(dialect="duckdb"), compiled.predicate.sql(dialect="databricks")


TRAITS = [
    pytest.param(Trait("recency_days", "eq", 7), """"f"."recency_days" = 7""", "`f`.`recency_days` = 7", id="number-eq"),
    # ne and not_in are NOT of eq and in, null-safe like a negated group: they keep customers with no value
    # (issue 13, finding 7; before, `<> 7` and `NOT ... IN` dropped them while `not (in)` kept them).
    pytest.param(Trait("recency_days", "ne", 7), """NOT COALESCE("f"."recency_days" = 7, FALSE)""",
                 "NOT COALESCE(`f`.`recency_days` = 7, FALSE)", id="number-ne"),
    pytest.param(Trait("monetary", "lt", 99.5), """"f"."monetary" < 99.5""", "`f`.`monetary` < 99.5", id="number-lt"),
    pytest.param(Trait("recency_days", "lte", 30), """"f"."recency_days" <= 30""", "`f`.`recency_days` <= 30", id="number-lte"),
    pytest.param(Trait("frequency", "gt", 1), """"f"."frequency" > 1""", "`f`.`frequency` > 1", id="number-gt"),
    pytest.param(Trait("frequency", "gte", 3.0), """"f"."frequency" >= 3""", "`f`.`frequency` >= 3", id="integer-feature-float-value"),
    pytest.param(Trait("monetary", "gte", 3.0), """"f"."monetary" >= 3.0""", "`f`.`monetary` >= 3.0", id="decimal-feature-keeps-float"),
    pytest.param(Trait("monetary", "between", low=10, high=20.5), """"f"."monetary" BETWEEN 10 AND 20.5""",
                 "`f`.`monetary` BETWEEN 10 AND 20.5", id="number-between"),
    pytest.param(Trait("mean_days_between_purchases", "is_null"), """"f"."mean_days_between_purchases" IS NULL""",
                 "`f`.`mean_days_between_purchases` IS NULL", id="number-is-null"),
    pytest.param(Trait("avg_order_value", "is_not_null"), """NOT "f"."avg_order_value" IS NULL""",
                 "NOT `f`.`avg_order_value` IS NULL", id="number-is-not-null"),
    pytest.param(Trait("region", "in", values=("US-West", "O'Brien's")), """"f"."region" IN ('US-West', 'O''Brien''s')""",
                 "`f`.`region` IN ('US-West', 'O\\'Brien\\'s')", id="category-in-quote-escaped"),
    pytest.param(Trait("top_category", "not_in", values=("beauty",)), """NOT COALESCE("f"."top_category" IN ('beauty'), FALSE)""",
                 "NOT COALESCE(`f`.`top_category` IN ('beauty'), FALSE)", id="category-not-in"),
    pytest.param(Trait("region", "is_null"), """"f"."region" IS NULL""", "`f`.`region` IS NULL", id="category-is-null"),
    pytest.param(Trait("region", "is_not_null"), """NOT "f"."region" IS NULL""", "NOT `f`.`region` IS NULL",
                 id="category-is-not-null"),
    pytest.param(Trait("email_opt_in", "is_true"), """"f"."email_opt_in" = TRUE""", "`f`.`email_opt_in` = TRUE", id="bool-true"),
    pytest.param(Trait("sms_opt_in", "is_false"), """"f"."sms_opt_in" = FALSE""", "`f`.`sms_opt_in` = FALSE", id="bool-false"),
    pytest.param(Trait("push_opt_in", "is_null"), """"f"."push_opt_in" IS NULL""", "`f`.`push_opt_in` IS NULL", id="bool-is-null"),
    pytest.param(Trait("push_opt_in", "is_not_null"), """NOT "f"."push_opt_in" IS NULL""", "NOT `f`.`push_opt_in` IS NULL",
                 id="bool-is-not-null"),
    pytest.param(Trait("last_purchase_date", "within_last_days", 30),
                 """"f"."last_purchase_date" > CAST('2026-10-01' AS DATE)""",
                 "`f`.`last_purchase_date` > CAST('2026-10-01' AS DATE)", id="date-within-last-30-days"),
    pytest.param(Trait("last_purchase_date", "before", "2026-01-01"),
                 """"f"."last_purchase_date" < CAST('2026-01-01' AS DATE)""",
                 "`f`.`last_purchase_date` < CAST('2026-01-01' AS DATE)", id="date-before"),
    pytest.param(Trait("first_purchase_date", "after", date(2025, 12, 31)),
                 """"f"."first_purchase_date" > CAST('2025-12-31' AS DATE)""",
                 "`f`.`first_purchase_date` > CAST('2025-12-31' AS DATE)", id="date-after"),
    pytest.param(Trait("first_purchase_date", "between", low="2026-01-01", high=date(2026, 3, 31)),
                 """"f"."first_purchase_date" BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-03-31' AS DATE)""",
                 "`f`.`first_purchase_date` BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-03-31' AS DATE)",
                 id="date-between"),
    pytest.param(Trait("first_purchase_date", "is_null"), """"f"."first_purchase_date" IS NULL""",
                 "`f`.`first_purchase_date` IS NULL", id="date-is-null"),
    pytest.param(Trait("last_purchase_date", "is_not_null"), """NOT "f"."last_purchase_date" IS NULL""",
                 "NOT `f`.`last_purchase_date` IS NULL", id="date-is-not-null"),
]

BEHAVIORS = [
    pytest.param(Behavior(), DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + ")", DBX_FROM + DBX_PURCHASE + DBX_UPTO + ")",
                 id="bought-at-least-once-is-a-semi-join"),
    pytest.param(Behavior("orders", "at_least", 3), DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + ' GROUP BY "t"."customer_id" HAVING COUNT(*) >= 3)',
                 DBX_FROM + DBX_PURCHASE + DBX_UPTO + " GROUP BY `t`.`customer_id` HAVING COUNT(*) >= 3)", id="orders-at-least-3"),
    pytest.param(Behavior("orders", "exactly", 2), DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + ' GROUP BY "t"."customer_id" HAVING COUNT(*) = 2)',
                 DBX_FROM + DBX_PURCHASE + DBX_UPTO + " GROUP BY `t`.`customer_id` HAVING COUNT(*) = 2)", id="orders-exactly-2"),
    pytest.param(Behavior("orders", "at_most", 2),
                 "NOT " + DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + ' GROUP BY "t"."customer_id" HAVING NOT COUNT(*) <= 2)',
                 "NOT " + DBX_FROM + DBX_PURCHASE + DBX_UPTO + " GROUP BY `t`.`customer_id` HAVING NOT COUNT(*) <= 2)",
                 id="orders-at-most-2-keeps-non-buyers"),
    pytest.param(Behavior("orders", "exactly", 0),
                 "NOT " + DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + ' GROUP BY "t"."customer_id" HAVING NOT COUNT(*) = 0)',
                 "NOT " + DBX_FROM + DBX_PURCHASE + DBX_UPTO + " GROUP BY `t`.`customer_id` HAVING NOT COUNT(*) = 0)",
                 id="orders-exactly-0"),
    pytest.param(Behavior("orders", "at_least", 0),
                 "NOT " + DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + ' GROUP BY "t"."customer_id" HAVING NOT COUNT(*) >= 0)',
                 "NOT " + DBX_FROM + DBX_PURCHASE + DBX_UPTO + " GROUP BY `t`.`customer_id` HAVING NOT COUNT(*) >= 0)",
                 id="orders-at-least-0-is-everyone"),
    pytest.param(Behavior("spend", "at_least", 100), DUCK_FROM + DUCK_UPTO + f' GROUP BY "t"."customer_id" HAVING {DUCK_SPEND} >= 100)',
                 DBX_FROM + DBX_UPTO + f" GROUP BY `t`.`customer_id` HAVING {DBX_SPEND} >= 100)", id="spend-at-least"),
    pytest.param(Behavior("spend", "at_most", 49.99),
                 "NOT " + DUCK_FROM + DUCK_UPTO + f' GROUP BY "t"."customer_id" HAVING NOT {DUCK_SPEND} <= 49.99)',
                 "NOT " + DBX_FROM + DBX_UPTO + f" GROUP BY `t`.`customer_id` HAVING NOT {DBX_SPEND} <= 49.99)",
                 id="spend-at-most-keeps-non-buyers"),
    pytest.param(Behavior("spend", "exactly", 0),
                 "NOT " + DUCK_FROM + DUCK_UPTO + f' GROUP BY "t"."customer_id" HAVING NOT {DUCK_SPEND} = 0)',
                 "NOT " + DBX_FROM + DBX_UPTO + f" GROUP BY `t`.`customer_id` HAVING NOT {DBX_SPEND} = 0)", id="spend-exactly-0"),
    pytest.param(Behavior("spend", "at_most", -10), DUCK_FROM + DUCK_UPTO + f' GROUP BY "t"."customer_id" HAVING {DUCK_SPEND} <= -10)',
                 DBX_FROM + DBX_UPTO + f" GROUP BY `t`.`customer_id` HAVING {DBX_SPEND} <= -10)",
                 id="spend-at-most-negative-excludes-non-buyers"),
    pytest.param(Behavior(last_days=90),
                 DUCK_FROM + DUCK_PURCHASE + """"t"."posted_date" > CAST('2026-08-02' AS DATE) AND """ + DUCK_UPTO + ")",
                 DBX_FROM + DBX_PURCHASE + "`t`.`posted_date` > CAST('2026-08-02' AS DATE) AND " + DBX_UPTO + ")",
                 id="window-last-90-days"),
    pytest.param(Behavior(start="2026-01-01", end="2026-06-30"),
                 DUCK_FROM + DUCK_PURCHASE + """"t"."posted_date" >= CAST('2026-01-01' AS DATE) AND "t"."posted_date" <= CAST('2026-06-30' AS DATE))""",
                 DBX_FROM + DBX_PURCHASE + "`t`.`posted_date` >= CAST('2026-01-01' AS DATE) AND `t`.`posted_date` <= CAST('2026-06-30' AS DATE))",
                 id="window-start-end-inclusive"),
    pytest.param(Behavior(start="2026-10-01"),
                 DUCK_FROM + DUCK_PURCHASE + """"t"."posted_date" >= CAST('2026-10-01' AS DATE) AND """ + DUCK_UPTO + ")",
                 DBX_FROM + DBX_PURCHASE + "`t`.`posted_date` >= CAST('2026-10-01' AS DATE) AND " + DBX_UPTO + ")",
                 id="window-start-only-ends-at-as-of"),
    pytest.param(Behavior(end="2027-03-01"), DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + ")", DBX_FROM + DBX_PURCHASE + DBX_UPTO + ")",
                 id="window-end-after-as-of-is-clamped"),
    pytest.param(Behavior(categories=("beauty", "home")),
                 DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + """ AND "t"."category" IN ('beauty', 'home'))""",
                 DBX_FROM + DBX_PURCHASE + DBX_UPTO + " AND `t`.`category` IN ('beauty', 'home'))", id="filter-categories"),
    pytest.param(Behavior(channels=("app",)), DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + """ AND "t"."channel_code" IN ('app'))""",
                 DBX_FROM + DBX_PURCHASE + DBX_UPTO + " AND `t`.`channel_code` IN ('app'))", id="filter-channels"),
    pytest.param(Behavior(merchants=("M-2",)), DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + """ AND "t"."merchant_id" IN ('M-2'))""",
                 DBX_FROM + DBX_PURCHASE + DBX_UPTO + " AND `t`.`merchant_id` IN ('M-2'))", id="filter-merchants"),
    pytest.param(Behavior("spend", "at_least", 50, products=("P-1",), channels=("web",), last_days=30),
                 DUCK_FROM + """"t"."posted_date" > CAST('2026-10-01' AS DATE) AND """ + DUCK_UPTO
                 + """ AND "t"."channel_code" IN ('web') AND "t"."product_id" IN ('P-1') GROUP BY "t"."customer_id" HAVING """
                 + DUCK_SPEND + " >= 50)",
                 DBX_FROM + "`t`.`posted_date` > CAST('2026-10-01' AS DATE) AND " + DBX_UPTO
                 + " AND `t`.`channel_code` IN ('web') AND `t`.`product_id` IN ('P-1') GROUP BY `t`.`customer_id` HAVING "
                 + DBX_SPEND + " >= 50)", id="filter-products-and-channels-spend-30d"),
    pytest.param(Behavior(categories=("beauty",), negate=True),
                 "NOT " + DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + """ AND "t"."category" IN ('beauty'))""",
                 "NOT " + DBX_FROM + DBX_PURCHASE + DBX_UPTO + " AND `t`.`category` IN ('beauty'))", id="did-not-buy"),
    pytest.param(Behavior("orders", "at_most", 2, negate=True),
                 "NOT NOT " + DUCK_FROM + DUCK_PURCHASE + DUCK_UPTO + ' GROUP BY "t"."customer_id" HAVING NOT COUNT(*) <= 2)',
                 "NOT NOT " + DBX_FROM + DBX_PURCHASE + DBX_UPTO + " GROUP BY `t`.`customer_id` HAVING NOT COUNT(*) <= 2)",
                 id="negated-at-most"),
]

MEMBERSHIPS = [
    pytest.param(Membership("segment", "loyal"), """("f"."frequency" >= 5 AND "f"."email_opt_in" = TRUE)""",
                 "(`f`.`frequency` >= 5 AND `f`.`email_opt_in` = TRUE)", id="segment-inlined"),
    pytest.param(Membership("segment", "loyal", version=2, negate=True), """NOT COALESCE(("f"."frequency" >= 5 AND "f"."email_opt_in" = TRUE), FALSE)""",
                 "NOT COALESCE((`f`.`frequency` >= 5 AND `f`.`email_opt_in` = TRUE), FALSE)", id="not-in-segment"),
    pytest.param(Membership("cluster", run_id="run-1", cluster_ids=(0, 2)),
                 f'''"f"."customer_id" IN (SELECT "customer_id" FROM {GOLD}_cluster_assignments WHERE "run_id" = 'run-1' AND "cluster_id" IN (0, 2))''',
                 f"`f`.`customer_id` IN (SELECT `customer_id` FROM {GOLD}_cluster_assignments WHERE `run_id` = 'run-1' AND `cluster_id` IN (0, 2))",
                 id="cluster"),
    pytest.param(Membership("lookalike", model_id="lal-1", reach_pct=5),
                 f'''"f"."customer_id" IN (SELECT "customer_id" FROM {GOLD}_lookalike_scores WHERE "model_id" = 'lal-1' AND "reach_pct" <= 5.0)''',
                 f"`f`.`customer_id` IN (SELECT `customer_id` FROM {GOLD}_lookalike_scores WHERE `model_id` = 'lal-1' AND `reach_pct` <= 5.0)",
                 id="lookalike"),
]

R30, R30_DBX = """"f"."recency_days" <= 30""", "`f`.`recency_days` <= 30"
F1, F1_DBX = """"f"."frequency" > 1""", "`f`.`frequency` > 1"
EM, EM_DBX = """"f"."email_opt_in" = TRUE""", "`f`.`email_opt_in` = TRUE"
GROUPS = [
    pytest.param(Group("all", ()), "TRUE", "TRUE", id="empty-all-is-everyone"),
    pytest.param(Group("any", ()), "FALSE", "FALSE", id="empty-any-is-no-one"),
    pytest.param(Group("all", (), negate=True), "NOT COALESCE(TRUE, FALSE)", "NOT COALESCE(TRUE, FALSE)", id="negated-empty-all"),
    pytest.param(Group("all", (Group("any", ()), Trait("recency_days", "lte", 30))), f"FALSE AND {R30}", f"FALSE AND {R30_DBX}",
                 id="empty-any-inside-all"),
    pytest.param(Group("all", (Trait("recency_days", "lte", 30), Trait("frequency", "gt", 1))), f"{R30} AND {F1}",
                 f"{R30_DBX} AND {F1_DBX}", id="all"),
    pytest.param(Group("any", (Trait("recency_days", "lte", 30), Trait("frequency", "gt", 1)), negate=True),
                 f"NOT COALESCE(({R30} OR {F1}), FALSE)", f"NOT COALESCE(({R30_DBX} OR {F1_DBX}), FALSE)", id="negated-any"),
    pytest.param(Group("all", (Group("any", (Trait("recency_days", "lte", 30), Trait("frequency", "gt", 1))), Trait("email_opt_in", "is_true"))),
                 f"({R30} OR {F1}) AND {EM}", f"({R30_DBX} OR {F1_DBX}) AND {EM_DBX}", id="any-inside-all"),
    pytest.param(Group("any", (Group("all", (Trait("recency_days", "lte", 30), Trait("frequency", "gt", 1))), Trait("email_opt_in", "is_true"))),
                 f"({R30} AND {F1}) OR {EM}", f"({R30_DBX} AND {F1_DBX}) OR {EM_DBX}", id="all-inside-any"),
    pytest.param(Group("all", (Group("any", (Trait("recency_days", "lte", 30),), negate=True), Trait("email_opt_in", "is_true"))),
                 f"NOT COALESCE({R30}, FALSE) AND {EM}", f"NOT COALESCE({R30_DBX}, FALSE) AND {EM_DBX}", id="negated-single-inside-all"),
    pytest.param(Group("any", (Trait("email_opt_in", "is_true"), Group("all", (Trait("recency_days", "lte", 30), Group(
        "any", (Trait("frequency", "gt", 1), Membership("segment", "loyal")), negate=True))))),
                 f"""{EM} OR ({R30} AND NOT COALESCE(({F1} OR ("f"."frequency" >= 5 AND {EM})), FALSE))""",
                 f"{EM_DBX} OR ({R30_DBX} AND NOT COALESCE(({F1_DBX} OR (`f`.`frequency` >= 5 AND {EM_DBX})), FALSE))", id="three-levels-deep"),
]

LOYAL = SegmentDefinition("loyal", Group("all", (Trait("frequency", "gte", 5), Trait("email_opt_in", "is_true"))))


@pytest.mark.parametrize("rule, duckdb_sql, databricks_sql", TRAITS + BEHAVIORS + MEMBERSHIPS + GROUPS)
def test_predicate_sql(rule, duckdb_sql, databricks_sql, catalog, library_resolver):
    resolver = library_resolver({"loyal": LOYAL})
    assert predicate_sql(rule, catalog, resolver) == (duckdb_sql, databricks_sql)


def test_membership_asks_the_resolver_for_the_pinned_version(catalog, library_resolver):
    resolver = library_resolver({"loyal": LOYAL})
    predicate_sql(Group("all", (Membership("segment", "loyal", version=2), Membership("segment", "loyal"))), catalog, resolver)
    assert set(resolver.calls) == {("loyal", 2), ("loyal", None)}


def test_diamond_of_segments_is_not_a_cycle(catalog, library_resolver):
    base = SegmentDefinition("base", Group("all", (Trait("recency_days", "lte", 30),)))
    left = SegmentDefinition("left", Group("all", (Membership("segment", "base"),)))
    right = SegmentDefinition("right", Group("all", (Membership("segment", "base"),)))
    resolver = library_resolver({"base": base, "left": left, "right": right})
    duck, _ = predicate_sql(Group("all", (Membership("segment", "left"), Membership("segment", "right"))), catalog, resolver)
    assert duck == f"(({R30})) AND (({R30}))"


@pytest.mark.parametrize("segment_id, chain", [
    pytest.param(None, "a -> b -> c -> a", id="draft-enters-a-cycle"),
    pytest.param("c", "c -> a -> b -> c", id="saved-segment-reaches-itself"),
])
def test_cycle_of_segments_names_the_chain(segment_id, chain, catalog, library_resolver):
    library = {name: SegmentDefinition(name, Group("all", (Trait("recency_days", "lte", 30), Membership("segment", nxt))))
               for name, nxt in (("a", "b"), ("b", "c"), ("c", "a"))}
    rule = Group("all", (Membership("segment", "a"),))
    with pytest.raises(CompileError, match=f"condition 1 .*cycle: {chain}$"):
        compile_definition(SegmentDefinition("draft", rule), catalog, resolver=library_resolver(library), segment_id=segment_id)


def test_segment_referring_to_itself_is_a_cycle(catalog, library_resolver):
    me = SegmentDefinition("me", Group("all", (Membership("segment", "me"),)))
    with pytest.raises(CompileError, match="cycle: me -> me"):
        compile_definition(me, catalog, resolver=library_resolver({"me": me}), segment_id="me")


@pytest.mark.parametrize("condition, message", [
    pytest.param(Trait("region", "in", values=("US-East",)), r"rule\.conditions\[1\]: value 'US-East' is not a known region",
                 id="unknown-category-value"),
    pytest.param(Behavior(categories=("toys",)), r"rule\.conditions\[1\]: 'toys' is not a known category", id="unknown-behavior-category"),
    pytest.param(Behavior(merchants=("M-9",)), r"rule\.conditions\[1\]: 'M-9' is not a known merchant", id="unknown-merchant"),
    pytest.param(Trait("monetary", "in", values=("1",)), r"rule\.conditions\[1\]: operator 'in' does not apply to monetary \(number\)",
                 id="number-with-in"),
    pytest.param(Trait("region", "gte", 3), r"rule\.conditions\[1\]: operator 'gte' does not apply to region \(category\)",
                 id="category-with-gte"),
    pytest.param(Trait("email_opt_in", "eq", True), r"operator 'eq' does not apply to email_opt_in \(boolean\)", id="boolean-with-eq"),
    pytest.param(Trait("last_purchase_date", "lt", "2026-01-01"), r"operator 'lt' does not apply to last_purchase_date \(date\)",
                 id="date-with-lt"),
    pytest.param(Trait("recency_days", "lte", "30"), r"recency_days needs a number, got '30'", id="number-given-text"),
    pytest.param(Trait("last_purchase_date", "before", "soon"), r"last_purchase_date needs a date \(YYYY-MM-DD\), got 'soon'",
                 id="date-given-text"),
    pytest.param(Group("any", (Trait("top_category", "in", values=("toys",)),)),
                 r"rule\.conditions\[1\]\.conditions\[0\]: value 'toys' is not a known top_category", id="nested-unknown-value"),
])
def test_invalid_conditions_raise_spec_error_naming_field_and_condition(condition, message, catalog):
    definition = SegmentDefinition("bad", Group("all", (Trait("recency_days", "lte", 30), condition)))
    with pytest.raises(SpecError, match=message):
        compile_definition(definition, catalog)


def test_unknown_field_error_names_the_field_and_the_condition(catalog):
    definition = SegmentDefinition("bad", Group("all", (Trait("recency_days", "lte", 30), Trait("shoe_size", "gte", 40))))
    with pytest.raises(SpecError, match=r"rule\.conditions\[1\]: .*'shoe_size'"):
        compile_definition(definition, catalog)


@pytest.mark.parametrize("library, message", [
    pytest.param({}, r"^condition 2 \(in segment ghost \(latest\)\): segment 'ghost' is not in the library$", id="missing-segment"),
    pytest.param({"ghost": SegmentDefinition("g", Group("all", (Trait("region", "in", values=("Mars",)),)))},
                 r"^condition 2 \(in segment ghost \(latest\)\): rule\.conditions\[0\]: value 'Mars' is not a known region",
                 id="invalid-referenced-segment"),
])
def test_errors_from_referenced_segments_name_the_condition_number(library, message, catalog, library_resolver):
    definition = SegmentDefinition("d", Group("all", (Trait("recency_days", "lte", 30), Membership("segment", "ghost"))))
    with pytest.raises((CompileError, SpecError), match=message):
        compile_definition(definition, catalog, resolver=library_resolver(library))


def test_membership_without_a_library_is_a_compile_error(catalog):
    definition = SegmentDefinition("d", Group("all", (Membership("segment", "loyal"),)))
    with pytest.raises(CompileError, match="condition 1 .*no segment library"):
        compile_definition(definition, catalog)


@pytest.mark.parametrize("rule, error, path, reason, where", [
    pytest.param(Group("all", (Trait("recency_days", "lte", 30), Group("any", (
        Trait("frequency", "gt", 1), Trait("top_category", "in", values=("toys",)))))),
        SpecError, (1, 1), "value 'toys' is not a known top_category; known values: beauty, home",
        "rule.conditions[1].conditions[1]", id="catalog-check-in-a-nested-group"),
    pytest.param(Group("all", (Trait("recency_days", "lte", 30), Group("any", (Membership("segment", "ghost"),)))),
                 CompileError, (1, 0), "segment 'ghost' is not in the library",
                 "condition 2 ((in segment ghost (latest)))", id="compile-error-in-a-nested-group"),
    pytest.param(Group("all", (Membership("segment", "bad"),)), SpecError, (0,),
                 "rule.conditions[0]: value 'Mars' is not a known region; known values: US-West, O'Brien's",
                 "condition 1 (in segment bad (latest))", id="error-inside-a-referenced-segment"),
])
def test_errors_carry_the_failing_conditions_path_and_reason_as_data(rule, error, path, reason, where, catalog,
                                                                      library_resolver):
    bad = SegmentDefinition("bad", Group("all", (Trait("region", "in", values=("Mars",)),)))
    with pytest.raises(error) as caught:
        compile_definition(SegmentDefinition("d", rule), catalog, resolver=library_resolver({"bad": bad}))
    assert (caught.value.path, caught.value.reason, caught.value.where) == (path, reason, where)
    assert str(caught.value) == f"{where}: {reason}"


def test_a_definitions_json_errors_carry_the_path_too():
    data = {"name": "d", "rule": {"conditions": [{"kind": "group", "conditions": [
        {"kind": "trait", "field": "region", "op": "in", "values": ["x"]}, {"kind": "behavior", "window": 3}]}]}}
    with pytest.raises(SpecError) as caught:
        SegmentDefinition.from_dict(data)
    assert (caught.value.path, caught.value.reason) == ((0, 1), "unknown key(s) window for a behavior condition")
    assert str(caught.value) == "rule.conditions[0].conditions[1]: unknown key(s) window for a behavior condition"
    data["rule"]["conditions"][0]["conditions"][1] = {"kind": "behavior", "last_days": 3, "start": "2026-01-01"}
    with pytest.raises(SpecError) as caught:
        SegmentDefinition.from_dict(data)
    # The spec's own checks name the place too (issue 13: one error line naming the place).
    assert caught.value.path == (0, 1)
    assert caught.value.reason == "give either last_days or start/end dates for a behavioral window, not both"
    assert str(caught.value) == ("rule.conditions[0].conditions[1]: give either last_days or start/end dates for a "
                                 "behavioral window, not both")


SPLIT = Split(10, (Arm("a", 45), Arm("b", 45)))


def test_split_case_golden():
    assert thresholds(SPLIT) == [("control", 1000), ("a", 5500), ("b", 10000)]
    assert bucket_case(SPLIT).sql(dialect="duckdb") == (
        """CASE WHEN "split_bucket" < 1000 THEN 'control' WHEN "split_bucket" < 5500 THEN 'a' ELSE 'b' END""")
    assert bucket_case(SPLIT).sql(dialect="databricks") == (
        "CASE WHEN `split_bucket` < 1000 THEN 'control' WHEN `split_bucket` < 5500 THEN 'a' ELSE 'b' END")


def test_bucket_expression_golden():
    md5 = {"duckdb": """MD5('seg-1:' || "f"."customer_id")""", "databricks": "MD5(CONCAT('seg-1:', `f`.`customer_id`))"}
    duck = " + ".join(f"(STRPOS('0123456789abcdef', SUBSTRING({md5['duckdb']}, {i + 1}, 1)) - 1) * {16 ** (6 - i)}" for i in range(7))
    dbx = " + ".join(f"(LOCATE(SUBSTRING({md5['databricks']}, {i + 1}, 1), '0123456789abcdef') - 1) * {16 ** (6 - i)}"
                     for i in range(7))
    assert bucket_expression("seg-1").sql(dialect="duckdb") == f"({duck}) % 10000"
    assert bucket_expression("seg-1").sql(dialect="databricks") == f"({dbx}) % 10000"


def test_python_group_follows_thresholds():
    groups = {python_group(SPLIT, "seg-1", f"C{i}") for i in range(200)}
    assert groups == {"control", "a", "b"}
    assert python_group(Split(0, (Arm("all", 100),)), "seg-1", "C1") == "all"


def test_queries_and_rendered_sql(catalog):
    definition = SegmentDefinition("Lapsed -- VIP */ DROP", Group("all", (Trait("recency_days", "lte", 30),)), split=SPLIT)
    compiled = compile_definition(definition, catalog, segment_id="seg-1")
    assert compiled.count_query().sql(dialect="duckdb") == (
        f'SELECT COUNT(*) AS audience FROM {GOLD}_customer_features AS f WHERE "f"."recency_days" <= 30')
    assert compiled.members_query("monetary").sql(dialect="databricks") == (
        f"SELECT `f`.`customer_id`, `f`.`monetary` FROM {GOLD}_customer_features AS f WHERE `f`.`recency_days` <= 30")
    assert [label for label, _ in compiled.steps] == ["recency_days <= 30"]
    text = compiled.sql("databricks", pretty=False)
    header, body = text.split("\n", 2)[:2], text.split("\n", 2)[2]
    assert header == ["-- Segment: Lapsed -- VIP * / DROP", "-- Relative windows are measured from the data's as-of date, 2026-10-31."]
    assert body.startswith("SELECT `customer_id`, CASE WHEN `split_bucket` < 1000 THEN 'control'")
    assert "'seg-1:'" in body
    with pytest.raises(CompileError, match="unknown dialect 'oracle'"):
        compiled.sql("oracle")
