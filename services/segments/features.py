"""Metadata of the gold customer features, kept in one place.

The feature catalog joins this with the gold table's actual columns and with
value domains computed from the data; the Segment Builder's field picker,
operator picker and value widgets all come from it.
"""

from __future__ import annotations

from dataclasses import dataclass

NUMBER_OPS = ("gte", "lte", "between", "eq", "ne", "gt", "lt", "is_null", "is_not_null")
CATEGORY_OPS = ("in", "not_in", "is_null", "is_not_null")
BOOLEAN_OPS = ("is_true", "is_false", "is_null", "is_not_null")
DATE_OPS = ("within_last_days", "before", "after", "between", "is_null", "is_not_null")
OPS_BY_TYPE = {"number": NUMBER_OPS, "category": CATEGORY_OPS, "boolean": BOOLEAN_OPS, "date": DATE_OPS}

# The standard named RFM map, best first (see sql/models/gold/gold_customer_features.sql).
RFM_SEGMENTS = {
    "Champions": "Bought recently, buy often and spend the most",
    "Loyal": "Buy regularly and spend well",
    "Potential Loyalist": "Recent customers with average frequency and spend",
    "New Customers": "Bought most recently, but only once or little",
    "Promising": "Recent shoppers who have not spent much yet",
    "Need Attention": "Above-average recency, frequency and spend, slipping",
    "About to Sleep": "Below-average recency and frequency",
    "At Risk": "Spent big and often, but long ago",
    "Cannot Lose Them": "Made the biggest purchases, often, but not lately",
    "Hibernating": "Last purchase long ago, low spend and few orders",
    "Lost": "Lowest recency, frequency and spend",
}
LIFECYCLE_STAGES = {
    "new": "First purchase within the last 60 days",
    "active": "Bought within the last 90 days",
    "reactivated": "Came back within the last 90 days after more than 180 days away",
    "at_risk": "Last purchase 90 to 179 days ago",
    "lapsed": "Last purchase 180 or more days ago",
}


@dataclass(frozen=True)
class FeatureMeta:
    name: str
    label: str
    description: str
    type: str
    group: str
    unit: str | None = None
    integer: bool = False
    pii: bool = False
    picker: str | None = None

    @property
    def operators(self) -> tuple[str, ...]:
        return OPS_BY_TYPE[self.type]


def _n(name, label, description, group, unit=None, integer=False):
    return FeatureMeta(name, label, description, "number", group, unit, integer)


def _c(name, label, description, group, picker=None):
    return FeatureMeta(name, label, description, "category", group, picker=picker)


def _b(name, label, description, group):
    return FeatureMeta(name, label, description, "boolean", group)


def _d(name, label, description, group):
    return FeatureMeta(name, label, description, "date", group)


FEATURES: tuple[FeatureMeta, ...] = (
    _c("rfm_segment", "RFM segment", "Named segment from the recency and frequency/monetary scores", "RFM", picker="rfm_segment"),
    _c("lifecycle_stage", "Lifecycle stage", "new, active, reactivated, at risk or lapsed", "Lifecycle", picker="lifecycle_stage"),
    _n("recency_days", "Days since last purchase", "As-of date minus the last purchase date", "RFM", "days", True),
    _n("frequency", "Purchases", "Number of purchase transactions", "RFM", "orders", True),
    _n("monetary", "Net spend", "Purchases minus refunds, all time", "RFM", "USD"),
    _n("r_score", "Recency score", "1 (long ago) to 5 (most recent)", "RFM", "score", True),
    _n("f_score", "Frequency score", "1 (fewest orders) to 5 (most orders)", "RFM", "score", True),
    _n("m_score", "Monetary score", "1 (lowest spend) to 5 (highest spend)", "RFM", "score", True),
    _c("rfm_cell", "RFM cell", "The three scores as one code, e.g. 555", "RFM"),
    _n("avg_order_value", "Average order value", "Purchase amount divided by purchases", "Value", "USD"),
    _n("spend_30d", "Net spend, last 30 days", "Purchases minus refunds in the last 30 days", "Value", "USD"),
    _n("spend_90d", "Net spend, last 90 days", "Purchases minus refunds in the last 90 days", "Value", "USD"),
    _n("spend_365d", "Net spend, last 365 days", "Purchases minus refunds in the last 365 days", "Value", "USD"),
    _n("orders_30d", "Purchases, last 30 days", "Purchase transactions in the last 30 days", "Behaviour", "orders", True),
    _n("orders_90d", "Purchases, last 90 days", "Purchase transactions in the last 90 days", "Behaviour", "orders", True),
    _n("orders_365d", "Purchases, last 365 days", "Purchase transactions in the last 365 days", "Behaviour", "orders", True),
    _n("distinct_categories", "Categories bought", "Number of distinct product categories bought", "Behaviour", "categories", True),
    _c("top_category", "Top category", "Category with the highest purchase amount", "Behaviour"),
    _c("top_channel", "Top channel", "Channel with the most purchases (web, app, store)", "Behaviour"),
    _n("online_share", "Online share", "Share of purchases made on the web or in the app (0-1)", "Behaviour", "share"),
    _n("refund_rate", "Refund rate", "Refunds per purchase", "Behaviour", "ratio"),
    _n("discount_share", "Discount share", "Share of purchases with a discount (0-1)", "Behaviour", "share"),
    _n("mean_days_between_purchases", "Days between purchases", "Average days between purchases (empty for one purchase)", "Behaviour", "days"),
    _n("tenure_days", "Tenure", "Days since the first purchase", "Lifecycle", "days", True),
    _d("first_purchase_date", "First purchase", "Date of the first purchase", "Lifecycle"),
    _d("last_purchase_date", "Last purchase", "Date of the last purchase", "Lifecycle"),
    _c("region", "Region", "Current region of the customer", "Profile"),
    _c("country", "Country", "Current country of the customer", "Profile"),
    _c("loyalty_tier", "Loyalty tier", "none, bronze, silver, gold or platinum", "Profile"),
    _c("age_band", "Age band", "Age at the as-of date, in bands", "Profile"),
    _c("gender", "Gender", "As given by the customer", "Profile"),
    _b("email_opt_in", "Email opt-in", "Agreed to receive marketing email", "Consent"),
    _b("sms_opt_in", "SMS opt-in", "Agreed to receive marketing SMS", "Consent"),
    _b("push_opt_in", "Push opt-in", "Agreed to receive app notifications", "Consent"),
)
FEATURES_BY_NAME = {f.name: f for f in FEATURES}
PICKER_ORDER = {"rfm_segment": tuple(RFM_SEGMENTS), "lifecycle_stage": tuple(LIFECYCLE_STAGES)}
