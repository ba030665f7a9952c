"""The app's data-quality checks, as one declarative table.

Each ``CheckSpec`` names a table, a kind of check and its settings; how a kind
is evaluated lives in ``rules.py`` (SQL over the checked table) and
``recorded.py`` (what the pipeline recorded: freshness, volume, reconciliation). Adding a
check is adding a row here, not writing a function.

``affects`` lists the gold_customer_features columns whose values the check
vouches for, so the Segment Builder can show a failing check beside every
field it makes doubtful. Severity: a check is critical when a failure makes
segments wrong (fact and gold keys, every gold value a segment can filter on,
freshness of gold, reconciliation); warnings flag what a marketer can still
work around (dimension keys, lookups imported files lack, volume swings).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.governance.registry import dataset_id
from services.segments.features import LIFECYCLE_STAGES, RFM_SEGMENTS

CRITICAL = "critical"
WARNING = "warning"

# -- gold_customer_features columns, grouped by what they are derived from ---
TRAITS = ("region", "country", "loyalty_tier", "email_opt_in", "sms_opt_in", "push_opt_in", "gender", "age_band")
BEHAVIOUR = (
    "as_of_date", "first_purchase_date", "last_purchase_date", "recency_days", "frequency", "monetary",
    "avg_order_value", "tenure_days", "r_score", "f_score", "m_score", "fm_score", "rfm_cell", "rfm_segment",
    "lifecycle_stage", "spend_30d", "spend_90d", "spend_365d", "orders_30d", "orders_90d", "orders_365d",
    "distinct_categories", "top_category", "top_channel", "online_share", "refund_rate", "discount_share",
    "mean_days_between_purchases", "days_since_previous_purchase",
)
FEATURES = ("customer_id", *BEHAVIOUR, *TRAITS)
# Scores are percentile ranks over the whole base, so the named segment and
# cell move with any score; money feeds the M score.
_RFM = ("rfm_cell", "rfm_segment")
MONEY = ("monetary", "avg_order_value", "spend_30d", "spend_90d", "spend_365d", "m_score", "fm_score", *_RFM)

KINDS = {
    # kind: check_type as the governance source spells it
    "unique": "uniqueness",
    "not_null": "completeness",
    "one_current": "uniqueness",
    "in_range": "validity",
    "in_set": "validity",
    "references": "referential_integrity",
    "freshness": "freshness",
    "row_count": "volume",
    "row_count_change": "volume",
    "reconciled": "reconciliation",
}


@dataclass(frozen=True)
class CheckSpec:
    """One check on one table. Only the settings of its kind are filled in."""

    source: str
    table: str
    kind: str
    severity: str
    columns: tuple[str, ...] = ()
    affects: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    minimum_exclusive: bool = False
    allowed: tuple[str, ...] = ()
    #: (source, table, column) a references check looks the value up in
    parent: tuple[str, str, str] | None = None
    #: boolean column of the parent that marks the rows to look in (SCD2 current)
    parent_flag: str | None = None
    #: freshness when ref_sla has no SLA in force for the dataset
    default_freshness_hours: float = 24.0
    #: largest row-count change from the previous build, in percent
    max_change_pct: float = 20.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown check kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.severity not in (CRITICAL, WARNING):
            raise ValueError(f"severity must be {CRITICAL!r} or {WARNING!r}, not {self.severity!r}")
        unknown = set(self.affects) - set(FEATURES)
        if unknown:
            raise ValueError(f"{self.check_name} affects unknown gold features {sorted(unknown)}")

    @property
    def dataset_id(self) -> str:
        return dataset_id(self.source, self.table)

    @property
    def check_type(self) -> str:
        return KINDS[self.kind]

    @property
    def check_name(self) -> str:
        cols = "_".join(self.columns)
        return {
            "unique": f"{cols}_unique",
            "not_null": f"{cols}_not_null",
            "one_current": f"one_current_row_per_{cols}",
            "in_range": f"{cols}_in_range",
            "in_set": f"{cols}_in_allowed_values",
            "references": f"{cols}_references_{self.parent[1] if self.parent else ''}",
            "freshness": "freshness",
            "row_count": "row_count",
            "row_count_change": "row_count_change",
            "reconciled": "raw_to_fact_reconciled",
        }[self.kind]


@dataclass(frozen=True)
class Outcome:
    """What evaluating one spec found."""

    passed: bool
    observed_value: float | None
    threshold: float | None
    details: str


def _keys(source, table, columns, severity, affects=()) -> tuple[CheckSpec, ...]:
    return (CheckSpec(source, table, "unique", severity, columns, affects),
            CheckSpec(source, table, "not_null", severity, columns, affects))


def _range(column, affects, *, minimum=None, maximum=None, minimum_exclusive=False,
           source="gold", table="gold_customer_features") -> CheckSpec:
    return CheckSpec(source, table, "in_range", CRITICAL, (column,), affects, minimum=minimum, maximum=maximum,
                     minimum_exclusive=minimum_exclusive)


def _score(column, derived) -> CheckSpec:
    return _range(column, (column, *derived, *_RFM), minimum=1, maximum=5)


def _build_checks(source, table, severity, affects, *, freshness_hours) -> tuple[CheckSpec, ...]:
    """Freshness and volume of a table a pipeline model writes."""
    return (CheckSpec(source, table, "freshness", severity, affects=affects, default_freshness_hours=freshness_hours),
            CheckSpec(source, table, "row_count", severity, affects=affects),
            CheckSpec(source, table, "row_count_change", WARNING, affects=affects))


_CURRENT_CUSTOMER = ("txn", "dim_customer", "customer_id")
_FACT = ("txn", "fact_transactions")

CHECKS: tuple[CheckSpec, ...] = (
    # keys: unique and not null
    *_keys(*_FACT, ("transaction_id",), CRITICAL, BEHAVIOUR),
    *_keys("txn", "dim_customer", ("customer_sk",), WARNING, TRAITS),
    # Two current versions of a customer duplicate the customer's gold row.
    CheckSpec("txn", "dim_customer", "one_current", CRITICAL, ("customer_id",), FEATURES, parent_flag="is_current"),
    *_keys("gold", "gold_customer_features", ("customer_id",), CRITICAL, FEATURES),
    *_keys("gold", "gold_customer_category_spend", ("customer_id", "category"), CRITICAL),
    *_keys("txn", "dim_product", ("product_id",), WARNING, ("top_category", "distinct_categories")),
    *_keys("txn", "dim_merchant", ("merchant_id",), WARNING),
    # values in range
    _score("r_score", ()),
    _score("f_score", ("fm_score",)),
    _score("m_score", ("fm_score",)),
    _range("recency_days", ("recency_days", "r_score", "lifecycle_stage", *_RFM), minimum=0),
    _range("frequency", ("frequency", "f_score", "fm_score", "avg_order_value", "refund_rate",
                         "mean_days_between_purchases", *_RFM), minimum=1),
    _range("online_share", ("online_share",), minimum=0, maximum=1),
    _range("discount_share", ("discount_share",), minimum=0, maximum=1),
    _range("refund_rate", ("refund_rate",), minimum=0),
    CheckSpec("gold", "gold_customer_features", "in_set", CRITICAL, ("lifecycle_stage",), ("lifecycle_stage",),
              allowed=tuple(LIFECYCLE_STAGES)),
    CheckSpec("gold", "gold_customer_features", "in_set", CRITICAL, ("rfm_segment",), ("rfm_segment",),
              allowed=tuple(RFM_SEGMENTS)),
    _range("amount_usd", MONEY, minimum=0, source="txn", table="fact_transactions"),
    _range("fx_rate_to_usd", MONEY, minimum=0, minimum_exclusive=True, source="txn", table="fact_transactions"),
    # referential integrity
    CheckSpec(*_FACT, "references", CRITICAL, ("customer_id",), TRAITS, parent=_CURRENT_CUSTOMER,
              parent_flag="is_current"),
    # Imported transaction files carry no products, merchants or channels the dims know.
    CheckSpec(*_FACT, "references", WARNING, ("product_id",), ("top_category", "distinct_categories"),
              parent=("txn", "dim_product", "product_id")),
    CheckSpec(*_FACT, "references", WARNING, ("merchant_id",), parent=("txn", "dim_merchant", "merchant_id")),
    CheckSpec(*_FACT, "references", WARNING, ("channel_code",), ("top_channel", "online_share"),
              parent=("txn", "dim_channel", "channel_code")),
    CheckSpec("gold", "gold_customer_features", "references", CRITICAL, ("customer_id",), TRAITS,
              parent=_CURRENT_CUSTOMER, parent_flag="is_current"),
    # freshness against the SLA, and volume against the previous build
    *_build_checks(*_FACT, CRITICAL, BEHAVIOUR, freshness_hours=24),
    *_build_checks("txn", "dim_customer", WARNING, TRAITS, freshness_hours=48),
    *_build_checks("gold", "gold_customer_features", CRITICAL, FEATURES, freshness_hours=24),
    *_build_checks("gold", "gold_customer_category_spend", CRITICAL, (), freshness_hours=24),
    # raw -> fact reconciliation recorded by the pipeline
    CheckSpec(*_FACT, "reconciled", CRITICAL, affects=BEHAVIOUR),
)

_BY_KEY = {(c.dataset_id, c.check_name): c for c in CHECKS}
if len(_BY_KEY) != len(CHECKS):
    raise RuntimeError("two data-quality checks share a dataset and check name")


def spec(dataset: str, check_name: str) -> CheckSpec | None:
    """The spec behind a stored result, or None for a check the app does not own."""
    return _BY_KEY.get((dataset, check_name))
