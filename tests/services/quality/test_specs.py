"""The checks made from the contracts: the names, types, severities and affected fields they have always had.

Stored results, the DQ gate and field health read checks by (dataset, check name)
and by what they affect, so a contract edit that renamed a check or moved its
severity would silently change their meaning; these tables say what must stay.
"""

from __future__ import annotations

import pytest

from services.governance.registry import dataset_id
from services.pipeline import contracts
from services.quality.specs import CHECKS, FEATURES, affected, spec

TRAITS = {"region", "country", "loyalty_tier", "email_opt_in", "sms_opt_in", "push_opt_in", "gender", "age_band"}
BEHAVIOUR = set(FEATURES) - TRAITS - {"customer_id"}
RFM = {"rfm_cell", "rfm_segment"}
MONEY = {"monetary", "avg_order_value", "spend_30d", "spend_90d", "spend_365d", "m_score", "fm_score", *RFM}
KEY = ("uniqueness", "completeness")

# (table, check name): (check type, severity, affected gold features)
EXPECTED = {
    ("fact_transactions", "transaction_id_unique"): ("uniqueness", "critical", BEHAVIOUR),
    ("fact_transactions", "transaction_id_not_null"): ("completeness", "critical", BEHAVIOUR),
    ("fact_transactions", "freshness"): ("freshness", "critical", BEHAVIOUR),
    ("fact_transactions", "row_count"): ("volume", "critical", BEHAVIOUR),
    ("fact_transactions", "row_count_change"): ("volume", "warning", BEHAVIOUR),
    ("fact_transactions", "raw_to_fact_reconciled"): ("reconciliation", "critical", BEHAVIOUR),
    ("fact_transactions", "customer_id_references_dim_customer"): ("referential_integrity", "critical", TRAITS),
    ("fact_transactions", "product_id_references_dim_product"):
        ("referential_integrity", "warning", {"top_category", "distinct_categories"}),
    ("fact_transactions", "merchant_id_references_dim_merchant"): ("referential_integrity", "warning", set()),
    ("fact_transactions", "channel_code_references_dim_channel"):
        ("referential_integrity", "warning", {"top_channel", "online_share"}),
    ("fact_transactions", "amount_usd_in_range"): ("validity", "critical", MONEY),
    ("fact_transactions", "fx_rate_to_usd_in_range"): ("validity", "critical", MONEY),
    ("dim_customer", "customer_sk_unique"): ("uniqueness", "warning", TRAITS),
    ("dim_customer", "customer_sk_not_null"): ("completeness", "warning", TRAITS),
    ("dim_customer", "one_current_row_per_customer_id"): ("uniqueness", "critical", set(FEATURES)),
    ("dim_customer", "freshness"): ("freshness", "warning", TRAITS),
    ("dim_customer", "row_count"): ("volume", "warning", TRAITS),
    ("dim_customer", "row_count_change"): ("volume", "warning", TRAITS),
    ("gold_customer_features", "customer_id_unique"): ("uniqueness", "critical", set(FEATURES)),
    ("gold_customer_features", "customer_id_not_null"): ("completeness", "critical", set(FEATURES)),
    ("gold_customer_features", "freshness"): ("freshness", "critical", set(FEATURES)),
    ("gold_customer_features", "row_count"): ("volume", "critical", set(FEATURES)),
    ("gold_customer_features", "row_count_change"): ("volume", "warning", set(FEATURES)),
    ("gold_customer_features", "customer_id_references_dim_customer"): ("referential_integrity", "critical", TRAITS),
    ("gold_customer_features", "r_score_in_range"): ("validity", "critical", {"r_score", *RFM}),
    ("gold_customer_features", "f_score_in_range"): ("validity", "critical", {"f_score", "fm_score", *RFM}),
    ("gold_customer_features", "m_score_in_range"): ("validity", "critical", {"m_score", "fm_score", *RFM}),
    ("gold_customer_features", "recency_days_in_range"):
        ("validity", "critical", {"recency_days", "r_score", "lifecycle_stage", *RFM}),
    ("gold_customer_features", "frequency_in_range"):
        ("validity", "critical", {"frequency", "f_score", "fm_score", "avg_order_value", "refund_rate",
                                  "mean_days_between_purchases", *RFM}),
    ("gold_customer_features", "online_share_in_range"): ("validity", "critical", {"online_share"}),
    ("gold_customer_features", "discount_share_in_range"): ("validity", "critical", {"discount_share"}),
    ("gold_customer_features", "refund_rate_in_range"): ("validity", "critical", {"refund_rate"}),
    ("gold_customer_features", "lifecycle_stage_in_allowed_values"): ("validity", "critical", {"lifecycle_stage"}),
    ("gold_customer_features", "rfm_segment_in_allowed_values"): ("validity", "critical", {"rfm_segment"}),
    ("gold_customer_category_spend", "customer_id_category_unique"): ("uniqueness", "critical", set()),
    ("gold_customer_category_spend", "customer_id_category_not_null"): ("completeness", "critical", set()),
    ("gold_customer_category_spend", "freshness"): ("freshness", "critical", set()),
    ("gold_customer_category_spend", "row_count"): ("volume", "critical", set()),
    ("gold_customer_category_spend", "row_count_change"): ("volume", "warning", set()),
    ("dim_product", "product_id_unique"): ("uniqueness", "warning", {"top_category", "distinct_categories"}),
    ("dim_product", "product_id_not_null"): ("completeness", "warning", {"top_category", "distinct_categories"}),
    ("dim_merchant", "merchant_id_unique"): ("uniqueness", "warning", set()),
    ("dim_merchant", "merchant_id_not_null"): ("completeness", "warning", set()),
}
SOURCE = {"fact_transactions": "txn", "dim_customer": "txn", "dim_product": "txn", "dim_merchant": "txn",
          "gold_customer_features": "gold", "gold_customer_category_spend": "gold"}


@pytest.mark.parametrize("table, check_name", list(EXPECTED), ids=["/".join(k) for k in EXPECTED])
def test_check_keeps_its_name_type_severity_and_affected_fields(table, check_name):
    found = spec(dataset_id(SOURCE[table], table), check_name)
    assert found is not None, f"{table} {check_name} is gone: stored results and the DQ gate name it"
    check_type, severity, affects = EXPECTED[(table, check_name)]
    assert (found.check_type, found.severity, set(found.affects)) == (check_type, severity, affects)
    assert list(found.affects) == [c for c in FEATURES if c in affects]  # in the gold table's order


def test_every_contract_test_is_a_check_and_the_unmodelled_dims_keep_theirs():
    from_contracts = [(c.table, t) for c in contracts.contracts() for t in c.all_tests()]
    assert len(CHECKS) == len(from_contracts) + 4
    assert {(c.table, c.kind) for c in CHECKS[len(from_contracts):]} == {
        ("dim_product", "unique"), ("dim_product", "not_null"), ("dim_merchant", "unique"), ("dim_merchant", "not_null")}


def test_check_settings_come_from_the_contract():
    gold, fact = dataset_id("gold", "gold_customer_features"), dataset_id("txn", "fact_transactions")
    r_score = spec(gold, "r_score_in_range")
    assert (r_score.minimum, r_score.maximum, r_score.minimum_exclusive) == (1, 5, False)
    assert spec(fact, "fx_rate_to_usd_in_range").minimum_exclusive
    assert spec(gold, "rfm_segment_in_allowed_values").allowed[0] == "Champions"
    assert spec(gold, "lifecycle_stage_in_allowed_values").allowed == ("new", "active", "reactivated", "at_risk",
                                                                       "lapsed")
    customer = spec(fact, "customer_id_references_dim_customer")
    assert (customer.parent, customer.parent_flag) == (("txn", "dim_customer", "customer_id"), "is_current")
    assert spec(dataset_id("txn", "dim_customer"), "freshness").default_freshness_hours == 48
    assert spec(gold, "row_count_change").max_change_pct == 20.0


@pytest.mark.parametrize("ref, expected", [
    pytest.param("gold.gold_customer_features", set(FEATURES), id="the-gold-table"),
    pytest.param("gold.gold_customer_features.m_score", {"m_score", "fm_score", *RFM}, id="a-gold-column"),
    pytest.param("txn.fact_transactions", BEHAVIOUR, id="the-facts"),
    pytest.param("txn.dim_merchant", set(), id="feeds-nothing"),
])
def test_affected_is_the_ref_and_everything_derived_from_it(ref, expected):
    assert set(affected(ref)) == expected
