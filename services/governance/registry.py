"""The governance catalog of the project's own datasets.

Every table the project owns (the seed's 100 tables in five sources, plus the
gold tables) is described once here: layer, owner, classification,
sensitivity, grain and the columns that hold personal data. The pipeline loads
``registration_rows`` into the governance source's ``dim_dataset`` and
``dim_tag`` on every build, so the catalog can never drift from this file; the
demo generator points its quality checks, SLAs and issues at ``DATASET_IDS``.

The owners, classifications and sensitivities that datasets refer to live here
too, because a dataset row is only valid if those ids exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from services.naming import GOLD, fq, schema, table

PII_TAG = "pii"

# (owner_id, owner_name, email, team, role)
OWNERS = (
    ("own_data_platform", "Data Platform Engineering", "data-platform@retailer.example", "Data Platform", "data_owner"),
    ("own_customer_data", "Customer Data Office", "customer-data@retailer.example", "CRM & Loyalty", "data_owner"),
    ("own_commerce_analytics", "Commerce Analytics", "commerce-analytics@retailer.example", "Finance & Commerce", "data_owner"),
    ("own_marketing_analytics", "Marketing Analytics", "marketing-analytics@retailer.example", "Marketing", "data_owner"),
    ("own_governance", "Data Governance Office", "data-governance@retailer.example", "Governance", "data_steward"),
    ("own_finops", "Cloud FinOps", "finops@retailer.example", "Finance", "data_owner"),
    ("own_sre", "Site Reliability Engineering", "sre@retailer.example", "Platform Operations", "data_owner"),
)

# (classification_id, classification_name, description, rank)
CLASSIFICATIONS = (
    ("public", "Public", "May be published outside the company.", 1),
    ("internal", "Internal", "Any employee may read it; not for outside parties.", 2),
    ("confidential", "Confidential", "Commercially sensitive; need-to-know access by role.", 3),
    ("restricted", "Restricted", "Personal or regulated data; access is granted per person and audited.", 4),
)

# (sensitivity_id, sensitivity_name, description, requires_masking, rank)
SENSITIVITIES = (
    ("low", "Low", "No personal data; disclosure causes little harm.", False, 1),
    ("moderate", "Moderate", "Business figures such as revenue, spend and cost.", False, 2),
    ("high", "High", "Personal data in known columns; those columns are masked unless the role allows it.", True, 3),
    ("critical", "Critical", "Personal data in unparsed payloads that cannot be masked column by column.", True, 4),
)

_CUSTOMER_PII = (
    ("first_name", "name"),
    ("last_name", "name"),
    ("email", "email"),
    ("phone", "phone"),
    ("address_line", "address"),
    ("postal_code", "address"),
    ("birth_date", "birth_date"),
)

_SOURCE_TITLES = {
    "ingest": "Ingest & landing",
    "ops": "Operational logs & metrics",
    "gov": "Governance & catalog",
    "cost": "Cost, billing & usage",
    "txn": "Canonical transactions",
    GOLD: "Gold features for segmentation",
}

_KIND_BY_PREFIX = {
    "stg_": "immutable landing zone",
    "raw_": "parsed raw records",
    "dim_": "dimension",
    "ref_": "reference data",
    "fact_": "fact",
    "stage_": "staging table",
    "audit_": "audit trail",
    "gold_": "gold table",
}

# (owner_id, classification_id, sensitivity_id) of a source's tables unless overridden
_DEFAULTS = {
    "ingest": ("own_data_platform", "internal", "low"),
    "ops": ("own_sre", "internal", "low"),
    "gov": ("own_governance", "internal", "low"),
    "cost": ("own_finops", "confidential", "moderate"),
    "txn": ("own_commerce_analytics", "confidential", "moderate"),
    GOLD: ("own_marketing_analytics", "confidential", "moderate"),
}


@dataclass(frozen=True)
class Dataset:
    """One table the project owns, as the catalog describes it."""

    source: str
    name: str
    grain: str
    owner_id: str
    classification_id: str
    sensitivity_id: str
    pii_columns: tuple[tuple[str, str], ...] = ()

    @property
    def schema_name(self) -> str:
        return schema(self.source)

    @property
    def table_name(self) -> str:
        return table(self.name)

    @property
    def dataset_id(self) -> str:
        return fq(self.source, self.name)

    @property
    def layer(self) -> str:
        if self.source == GOLD:
            return "gold"
        if self.name.startswith(("stg_", "raw_")):
            return "bronze"
        return "silver"

    @property
    def contains_pii(self) -> bool:
        return bool(self.pii_columns)

    @property
    def description(self) -> str:
        kind = next(k for p, k in _KIND_BY_PREFIX.items() if self.name.startswith(p))
        return f"{_SOURCE_TITLES[self.source]}: {kind}, {self.grain}."


def _source(source: str, entries, overrides=None) -> tuple[Dataset, ...]:
    owner, classification, sensitivity = _DEFAULTS[source]
    overrides = overrides or {}
    out = []
    for name, grain in entries:
        o = overrides.get(name, {})
        out.append(
            Dataset(
                source=source,
                name=name,
                grain=grain,
                owner_id=o.get("owner_id", owner),
                classification_id=o.get("classification_id", classification),
                sensitivity_id=o.get("sensitivity_id", sensitivity),
                pii_columns=o.get("pii_columns", ()),
            )
        )
    return tuple(out)


_PUBLIC = {"classification_id": "public", "sensitivity_id": "low"}

_INGEST = _source(
    "ingest",
    (
        ("stg_raw", "one row per line of a landed file; append-only, never updated"),
        ("raw_records", "one row per record parsed out of the landing zone"),
        ("dim_source_system", "one row per system that sends data to the platform"),
        ("dim_data_owner", "one row per person or team accountable for a source system"),
        ("dim_file_type", "one row per file format the landing zone accepts"),
        ("ref_file_schema", "one row per column of a layout version"),
        ("fact_raw_events", "one row per sampled event received from a source system"),
        ("stage_enrichments", "one row per enrichment applied to a raw record"),
        ("dim_geo", "one row per city the retailer trades in"),
        ("dim_business_unit", "one row per business unit of the retailer"),
        ("audit_ingest", "one row per batch copied from a source table into a target table"),
        ("dim_environment", "one row per deployment environment"),
        ("ref_parsing_errors", "one row per line or field that could not be parsed"),
        ("stage_cdc", "one row per customer change captured from a source system"),
        ("dim_schema_version", "one row per version of a source system's file or message layout"),
        ("fact_event_counts", "one row per source system and day"),
        ("audit_transforms", "one row per model run of a pipeline run"),
        ("stage_retries", "one row per retry attempt of a failed batch"),
        ("ref_mappings", "one row per source value mapped to a canonical value and validity period"),
        ("dim_status", "one row per status code used by the ingest tables"),
    ),
    {
        "stg_raw": {
            "owner_id": "own_customer_data",
            "classification_id": "restricted",
            "sensitivity_id": "critical",
            "pii_columns": (("raw_line", "mixed"),),
        },
        "stage_cdc": {
            "owner_id": "own_customer_data",
            "classification_id": "restricted",
            "sensitivity_id": "high",
            "pii_columns": _CUSTOMER_PII,
        },
        "dim_geo": _PUBLIC,
    },
)

_OPS = _source(
    "ops",
    (
        ("stg_ops_logs", "one row per line of a shipped log file; append-only"),
        ("raw_ops", "one row per log line parsed out of the landing zone"),
        ("dim_service", "one row per deployed service"),
        ("dim_instance", "one row per host or container a service ran on"),
        ("dim_log_level", "one row per log level"),
        ("ref_error_codes", "one row per error code services emit"),
        ("fact_logs", "one row per log line (warnings and errors in full, info sampled)"),
        ("stage_alerts", "one row per alert fired by monitoring"),
        ("dim_team", "one row per engineering team that runs a service"),
        ("dim_region", "one row per cloud region services run in"),
        ("audit_ops_ingest", "one row per shipped log file loaded into raw_ops"),
        ("ref_runbooks", "one row per runbook version in force"),
        ("stage_incidents", "one row per incident"),
        ("fact_incident_metrics", "one row per incident"),
        ("dim_priority", "one row per incident priority"),
        ("ref_maintenance_windows", "one row per planned maintenance window"),
        ("audit_recon", "one row per day and table pair reconciled"),
        ("stage_trimmed_logs", "one row per log line kept after noise is trimmed"),
        ("ref_retention_policy", "one row per retention rule for a log table and level"),
        ("dim_status", "one row per status code used by the ops tables"),
    ),
    {"dim_log_level": _PUBLIC},
)

_GOV = _source(
    "gov",
    (
        ("stg_catalog", "one row per table seen by a catalog scan, as emitted; append-only"),
        ("raw_catalog", "one row per table per catalog scan, parsed"),
        ("dim_dataset", "one row per dataset known to the catalog"),
        ("dim_owner", "one row per accountable owner of datasets"),
        ("dim_tag", "one row per tag on a dataset column"),
        ("ref_policies", "one row per version of a governance policy"),
        ("fact_data_quality", "one row per data-quality check evaluated on a dataset"),
        ("stage_lineage", "one row per upstream to downstream dataset edge"),
        ("dim_classification", "one row per data classification level"),
        ("dim_sensitivity", "one row per sensitivity level"),
        ("audit_policies", "one row per policy evaluation on a dataset"),
        ("ref_sla", "one row per dataset service-level agreement and validity period"),
        ("stage_certifications", "one row per certification of a dataset"),
        ("fact_issues", "one row per data issue raised against a dataset"),
        ("dim_remediation_team", "one row per team that fixes data issues"),
        ("ref_controls", "one row per control implementing a policy or standard"),
        ("audit_certification", "one row per change of a certification's status"),
        ("stage_policy_changes", "one row per requested change to a policy"),
        ("ref_standards", "one row per standard clause the controls implement"),
        ("dim_status", "one row per status code used by the governance tables"),
    ),
)

_COST = _source(
    "cost",
    (
        ("stg_billing_records", "one row per line of a landed billing export file; append-only"),
        ("raw_billing", "one row per billing line parsed out of the landing zone"),
        ("dim_cost_center", "one row per cost centre charged for platform usage"),
        ("dim_resource_type", "one row per billable resource"),
        ("dim_region", "one row per cloud region resources are billed in"),
        ("ref_price_catalog", "one row per SKU, region and price validity period"),
        ("fact_cost_usage", "one row per resource, cost centre, region and usage day"),
        ("stage_allocations", "one row per month, chargeback rule and resource"),
        ("dim_tagging", "one row per allowed tag key and value"),
        ("dim_currency", "one row per ISO 4217 currency"),
        ("audit_billing_ingest", "one row per billing account and daily billing file loaded"),
        ("ref_discounts", "one row per negotiated discount of a billing account and resource type"),
        ("stage_corrections", "one row per vendor correction of a usage row"),
        ("fact_monthly_costs", "one row per month, cost centre, resource and region"),
        ("dim_billing_account", "one row per cloud billing account"),
        ("ref_chargeback_rules", "one row per rule that moves a share of a cost centre's spend"),
        ("audit_allocations", "one row per monthly allocation run"),
        ("stage_forecasts", "one row per month, cost centre and resource"),
        ("ref_rates", "one row per currency and month"),
        ("dim_status", "one row per status code used by the cost tables"),
    ),
    {"dim_currency": _PUBLIC, "dim_region": {**_PUBLIC, "classification_id": "internal"}},
)

_TXN = _source(
    "txn",
    (
        ("stg_transactions", "one row per landed transaction record, exactly as delivered; append-only"),
        ("raw_transactions", "one row per landed record, typed and normalised"),
        ("dim_account", "one row per customer account (loyalty card, web account, app account)"),
        ("dim_customer", "one row per customer version (SCD type 2 over the customer CDC feed)"),
        ("dim_product", "one row per product (SKU)"),
        ("ref_exchange_rates", "one row per currency and day"),
        ("fact_transactions", "one row per transaction, deduplicated on transaction_id"),
        ("stage_reconciliations", "one row per processor-reported daily total used to reconcile facts"),
        ("dim_channel", "one row per sales channel (web, app, store)"),
        ("dim_merchant", "one row per merchant (own stores, own web/app shops, marketplace partners)"),
        ("audit_txn_ingest", "one row per landed batch and target"),
        ("ref_fee_schedule", "one row per fee rule (channel and payment method, valid period)"),
        ("stage_settlements", "one row per merchant settlement file line as delivered by the payment processor"),
        ("fact_settlements", "one row per merchant and settlement day"),
        ("dim_status", "one row per status code used by any txn table"),
        ("ref_limits", "one row per transaction limit rule"),
        ("audit_recon", "one row per pipeline run and reconciliation check (raw to fact)"),
        ("stage_adjustments", "one row per manual adjustment to a transaction"),
        ("fact_balance_snapshots", "one row per account and month end"),
        ("dim_time", "one row per calendar day of the data's range"),
    ),
    {
        "dim_customer": {
            "owner_id": "own_customer_data",
            "classification_id": "restricted",
            "sensitivity_id": "high",
            "pii_columns": _CUSTOMER_PII,
        },
        "dim_time": _PUBLIC,
    },
)

_GOLD = _source(
    GOLD,
    (
        ("gold_customer_features", "one row per customer who has bought at least once"),
        ("gold_customer_category_spend", "one row per customer and product category"),
        ("gold_customer_activity", "one row per transaction: the columns behavioural conditions read"),
    ),
)
# Written by the Cluster Explorer and the Lookalikes page when someone saves a run or a model,
# not by the pipeline.
_GOLD_MODELS = _source(
    GOLD,
    (
        ("gold_cluster_runs", "one row per clustering run or saved map selection"),
        ("gold_cluster_assignments", "one row per clustering run and customer"),
        ("gold_cluster_embeddings", "one row per clustering run and customer on its 2-D map"),
        ("gold_lookalike_models", "one row per lookalike model"),
        ("gold_lookalike_scores", "one row per lookalike model and customer outside its seed"),
    ),
)

# Written by the build from Python after the data-quality checks, whose verdict it carries: metadata
# about the gold columns, so the demo's governance source neither scans nor checks it.
_GOLD_CATALOG = _source(
    GOLD,
    (("gold_feature_catalog", "one row per gold column and per behavioural filter, as the last build found them"),),
)

SEED_DATASETS: tuple[Dataset, ...] = _INGEST + _OPS + _GOV + _COST + _TXN
GOLD_DATASETS: tuple[Dataset, ...] = _GOLD + _GOLD_MODELS + _GOLD_CATALOG
#: the tables the pipeline builds: the demo's governance source scans and checks these
PIPELINE_DATASETS: tuple[Dataset, ...] = SEED_DATASETS + _GOLD
DATASETS: tuple[Dataset, ...] = SEED_DATASETS + GOLD_DATASETS

_BY_KEY = {(d.source, d.name): d for d in DATASETS}
DATASET_IDS: dict[tuple[str, str], str] = {k: d.dataset_id for k, d in _BY_KEY.items()}


def dataset(source: str, name: str) -> Dataset:
    """The catalog entry of a project table, by source and short name."""
    try:
        return _BY_KEY[(source, name)]
    except KeyError:
        raise KeyError(f"{source}.{name} is not a registered dataset of the project") from None


def dataset_id(source: str, name: str) -> str:
    """The governance ``dataset_id`` of a project table, e.g. ``dataset_id("txn", "dim_customer")``."""
    return dataset(source, name).dataset_id


def registration_rows(
    *, registered_ts: dt.datetime, catalog_name: str = "main"
) -> dict[str, pd.DataFrame]:
    """Rows for gov ``dim_dataset`` (one per dataset) and ``dim_tag`` (one per PII column).

    Keyed by schema-qualified table name, like the demo generator's output.
    """
    ts = pd.Timestamp(registered_ts)
    if ts.tzinfo is not None:
        # The warehouse stores naive timestamps that mean UTC.
        ts = ts.tz_convert("UTC").tz_localize(None)
    datasets = pd.DataFrame(
        {
            "dataset_id": [d.dataset_id for d in DATASETS],
            "catalog_name": catalog_name,
            "schema_name": [d.schema_name for d in DATASETS],
            "table_name": [d.table_name for d in DATASETS],
            "layer": [d.layer for d in DATASETS],
            "description": [d.description for d in DATASETS],
            "grain": [d.grain for d in DATASETS],
            "owner_id": [d.owner_id for d in DATASETS],
            "classification_id": [d.classification_id for d in DATASETS],
            "sensitivity_id": [d.sensitivity_id for d in DATASETS],
            "contains_pii": [d.contains_pii for d in DATASETS],
            "status": "active",
            "registered_ts": ts,
            "updated_ts": ts,
        }
    )
    tags = [
        (f"{d.dataset_id}.{column}:{PII_TAG}", d.dataset_id, column, PII_TAG, kind, ts)
        for d in DATASETS
        for column, kind in d.pii_columns
    ]
    tag_frame = pd.DataFrame(
        tags, columns=["tag_id", "dataset_id", "column_name", "tag_name", "tag_value", "created_ts"]
    )
    tag_frame["created_ts"] = pd.to_datetime(tag_frame["created_ts"])
    return {fq("gov", "dim_dataset"): datasets, fq("gov", "dim_tag"): tag_frame}
