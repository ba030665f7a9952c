"""Reference data of the governance source: owners, levels, policies, controls, lineage.

The project's own datasets are not emitted here: the pipeline registers them
from ``services.governance.registry`` (``registration_rows``). This module adds
only the upstream datasets in the source systems' catalogs, which the lineage
starts from, and their tags.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from services.demo.platform import sampling as s
from services.governance.registry import (
    CLASSIFICATIONS,
    OWNERS,
    SENSITIVITIES,
    dataset_id,
)

STATUSES = (
    ("active", "Active", "lifecycle", "In use.", False, False),
    ("draft", "Draft", "lifecycle", "Written, not yet in force.", False, False),
    ("retired", "Retired", "lifecycle", "Replaced by a newer version.", True, False),
    ("pass", "Pass", "check", "Check met its threshold.", True, False),
    ("warn", "Warn", "check", "Check missed a warning threshold.", True, True),
    ("fail", "Fail", "check", "Check missed a critical threshold.", True, True),
    ("open", "Open", "issue", "Raised, not yet picked up.", False, True),
    ("in_progress", "In progress", "issue", "A team is fixing it.", False, True),
    ("resolved", "Resolved", "issue", "Fixed and verified.", True, False),
    ("wont_fix", "Won't fix", "issue", "Accepted as is.", True, False),
    ("certified", "Certified", "certification", "Fit for use in production decisions.", False, False),
    ("pending", "Pending", "certification", "Review requested.", False, False),
    ("expired", "Expired", "certification", "Certification lapsed; recertify.", True, True),
    ("revoked", "Revoked", "certification", "Withdrawn after a problem.", True, True),
    ("approved", "Approved", "change", "Change approved.", True, False),
    ("rejected", "Rejected", "change", "Change turned down.", True, False),
    ("parsed", "Parsed", "record", "Catalog entry parsed.", True, False),
    ("failed", "Failed", "record", "Catalog entry could not be parsed.", True, True),
)

REMEDIATION_TEAMS = (
    ("rt_data_platform", "Data Platform on-call", "data-platform@retailer.example", "dp-primary", "data-platform-leads@retailer.example"),
    ("rt_customer_data", "Customer Data stewards", "customer-data@retailer.example", "crm-primary", "cdo@retailer.example"),
    ("rt_marketing_analytics", "Marketing Analytics", "marketing-analytics@retailer.example", None, "head-of-analytics@retailer.example"),
    ("rt_finops", "FinOps", "finops@retailer.example", None, "cfo-office@retailer.example"),
)

STANDARDS = (
    ("std-gdpr-5-1-c", "Data minimisation", "GDPR", "Art. 5(1)(c)", "Personal data limited to what is necessary."),
    ("std-gdpr-17", "Right to erasure", "GDPR", "Art. 17", "Erase personal data on request without undue delay."),
    ("std-gdpr-32", "Security of processing", "GDPR", "Art. 32", "Pseudonymise and encrypt personal data."),
    ("std-ccpa-100", "Right to know", "CCPA", "1798.100", "Disclose categories of personal information collected."),
    ("std-pci-3-4", "Render PAN unreadable", "PCI DSS", "3.4", "Card numbers never stored in clear."),
    ("std-iso-a8-11", "Data masking", "ISO 27001", "A.8.11", "Mask data in line with access policy."),
    ("std-dq-01", "Freshness", "internal", "DQS-01", "Datasets meet the freshness in their SLA."),
    ("std-dq-02", "Completeness and keys", "internal", "DQS-02", "Keys are unique and not null; completeness meets the SLA."),
)

# (policy_id, name, type, description, classification, sensitivity, enforcement, owner, version, from_days, to_days, status)
POLICIES = (
    ("pol-pii-masking-v1", "PII column masking", "masking", "Mask name, email and phone for non-privileged roles.", "restricted", "high", "enforced", "own_governance", 1, -400, -120, "retired"),
    ("pol-pii-masking-v2", "PII column masking", "masking", "Mask every column tagged pii for roles without pii_reader; hash for exports.", "restricted", "high", "enforced", "own_governance", 2, -120, None, "active"),
    ("pol-raw-retention-v1", "Raw zone retention", "retention", "Delete landed raw lines with personal data after 400 days.", "restricted", "critical", "enforced", "own_data_platform", 1, -400, None, "active"),
    ("pol-restricted-access-v1", "Restricted data access", "access", "Restricted datasets are readable only by named groups; access reviewed quarterly.", "restricted", None, "enforced", "own_governance", 1, -400, None, "active"),
    ("pol-export-hashing-v1", "Hash identifiers on export", "masking", "Emails and phones are SHA-256 hashed before leaving for ad platforms.", "restricted", "high", "enforced", "own_marketing_analytics", 1, -300, None, "active"),
    ("pol-dq-gate-v1", "Quality gate for gold", "quality", "Gold tables are not published while a critical check fails.", "confidential", None, "advisory", "own_governance", 1, -300, 60, "retired"),
    ("pol-dq-gate-v2", "Quality gate for gold", "quality", "Gold tables are not published while a critical check fails; override needs a ticket.", "confidential", None, "enforced", "own_governance", 2, 60, None, "active"),
    ("pol-cost-tagging-v1", "Cost tagging", "tagging", "Every compute resource carries app, env and cost_center tags.", "internal", None, "advisory", "own_finops", 1, -200, None, "active"),
)

# (control_id, name, type, description, policy, standard, check_type, frequency, owner)
CONTROLS = (
    ("ctl-mask-pii", "Masking policy attached to PII columns", "preventive", "Every pii-tagged column has a column mask.", "pol-pii-masking-v2", "std-iso-a8-11", "tagging", "daily", "own_governance"),
    ("ctl-hash-export", "Hashed identifiers in exports", "preventive", "Export files to ad platforms contain only hashes.", "pol-export-hashing-v1", "std-gdpr-32", "validity", "per_export", "own_marketing_analytics"),
    ("ctl-raw-purge", "Raw zone purge", "corrective", "Lines older than the retention are deleted.", "pol-raw-retention-v1", "std-gdpr-5-1-c", "retention", "daily", "own_data_platform"),
    ("ctl-access-review", "Quarterly access review", "detective", "Owners confirm who can read restricted datasets.", "pol-restricted-access-v1", "std-gdpr-32", "access", "quarterly", "own_governance"),
    ("ctl-erasure", "Erasure requests honoured", "corrective", "Customers who asked to be forgotten are removed within 30 days.", None, "std-gdpr-17", "completeness", "weekly", "own_customer_data"),
    ("ctl-freshness", "Freshness against SLA", "detective", "Hours since last load compared with the SLA.", "pol-dq-gate-v2", "std-dq-01", "freshness", "daily", "own_data_platform"),
    ("ctl-keys", "Primary keys unique and not null", "detective", "Key columns are unique and never null.", "pol-dq-gate-v2", "std-dq-02", "uniqueness", "daily", "own_data_platform"),
    ("ctl-volume", "Row count within expected range", "detective", "Day-on-day row change within 30%.", "pol-dq-gate-v2", "std-dq-02", "volume", "daily", "own_data_platform"),
    ("ctl-ri", "Foreign keys resolve", "detective", "Fact rows point at existing dimension rows.", "pol-dq-gate-v2", "std-dq-02", "referential_integrity", "weekly", "own_data_platform"),
    ("ctl-cost-tags", "Compute carries cost tags", "detective", "Untagged spend below 2% of the month.", "pol-cost-tagging-v1", None, "tagging", "monthly", "own_finops"),
    ("ctl-pan", "No card numbers in clear", "preventive", "Payment payloads are tokenised before landing.", None, "std-pci-3-4", "validity", "daily", "own_data_platform"),
)

# (catalog, schema, table, owner, classification, sensitivity, pii columns, domain)
EXTERNAL_DATASETS = (
    ("pos_prod", "exports", "receipt_lines", "own_commerce_analytics", "confidential", "moderate", (), "sales"),
    ("ecom_prod", "events", "clickstream", "own_marketing_analytics", "internal", "low", (), "digital"),
    ("app_prod", "events", "app_events", "own_marketing_analytics", "internal", "low", (), "digital"),
    ("crm_prod", "core", "customers", "own_customer_data", "restricted", "high",
     (("first_name", "name"), ("last_name", "name"), ("email", "email"), ("phone", "phone"), ("address_line", "address"), ("birth_date", "birth_date")), "customer"),
    ("loyalty_prod", "core", "members", "own_customer_data", "restricted", "high", (("email", "email"),), "customer"),
    ("payments_prod", "settlements", "captures", "own_commerce_analytics", "confidential", "moderate", (), "finance"),
    ("erp_prod", "master", "products", "own_commerce_analytics", "internal", "low", (), "product"),
    ("billing_prod", "exports", "daily_usage", "own_finops", "confidential", "moderate", (), "finance"),
)


def external_id(catalog: str, schema_name: str, table_name: str) -> str:
    return f"{catalog}.{schema_name}.{table_name}"


def _lineage_edges() -> list[tuple[str, str, str]]:
    ext = {t[0].removesuffix("_prod"): external_id(*t[:3]) for t in EXTERNAL_DATASETS}
    d = dataset_id
    chains = [
        (ext["pos"], d("txn", "stg_transactions"), "land_pos_files"),
        (ext["ecom"], d("ingest", "stg_raw"), "land_clickstream"),
        (ext["app"], d("ingest", "stg_raw"), "land_app_events"),
        (ext["crm"], d("ingest", "stage_cdc"), "crm_cdc_capture"),
        (ext["loyalty"], d("ingest", "stage_cdc"), "loyalty_cdc_capture"),
        (ext["payments"], d("txn", "stage_settlements"), "land_settlements"),
        (ext["erp"], d("txn", "dim_product"), "product_master_sync"),
        (ext["billing"], d("cost", "stg_billing_records"), "land_billing_export"),
        (d("ingest", "stg_raw"), d("ingest", "raw_records"), "parse_raw"),
        (d("ingest", "raw_records"), d("ingest", "fact_raw_events"), "raw_events"),
        (d("ingest", "stage_cdc"), d("txn", "dim_customer"), "silver_customers_scd2"),
        (d("txn", "stg_transactions"), d("txn", "raw_transactions"), "parse_transactions"),
        (d("txn", "raw_transactions"), d("txn", "fact_transactions"), "silver_transactions"),
        (d("txn", "dim_account"), d("txn", "fact_transactions"), "silver_transactions"),
        (d("txn", "stage_settlements"), d("txn", "fact_settlements"), "silver_settlements"),
        (d("txn", "fact_transactions"), d("txn", "fact_balance_snapshots"), "silver_balance_snapshots"),
        (d("txn", "fact_transactions"), d("gold", "gold_customer_features"), "gold_customer_features"),
        (d("txn", "dim_customer"), d("gold", "gold_customer_features"), "gold_customer_features"),
        (d("txn", "dim_channel"), d("gold", "gold_customer_features"), "gold_customer_features"),
        (d("txn", "fact_transactions"), d("gold", "gold_customer_category_spend"), "gold_customer_category_spend"),
        (d("txn", "dim_product"), d("gold", "gold_customer_category_spend"), "gold_customer_category_spend"),
        (d("ops", "stg_ops_logs"), d("ops", "raw_ops"), "parse_logs"),
        (d("ops", "raw_ops"), d("ops", "stage_trimmed_logs"), "trim_logs"),
        (d("ops", "stage_trimmed_logs"), d("ops", "fact_logs"), "load_logs"),
        (d("ops", "stage_incidents"), d("ops", "fact_incident_metrics"), "incident_metrics"),
        (d("gov", "stg_catalog"), d("gov", "raw_catalog"), "parse_catalog"),
        (d("gov", "raw_catalog"), d("gov", "dim_dataset"), "register_datasets"),
        (d("cost", "stg_billing_records"), d("cost", "raw_billing"), "parse_billing"),
        (d("cost", "raw_billing"), d("cost", "fact_cost_usage"), "cost_usage"),
        (d("cost", "fact_cost_usage"), d("cost", "fact_monthly_costs"), "monthly_costs"),
        (d("cost", "fact_monthly_costs"), d("cost", "stage_allocations"), "allocations"),
    ]
    return chains


def reference_frames(start: dt.date, end: dt.date) -> dict[str, pd.DataFrame]:
    """The governance dimensions, reference tables, upstream datasets and lineage."""
    created = s.at(start - dt.timedelta(days=420), hours=9)
    owners = pd.DataFrame(OWNERS, columns=["owner_id", "owner_name", "email", "team", "role"])
    owners["status"] = "active"
    classifications = pd.DataFrame(CLASSIFICATIONS, columns=["classification_id", "classification_name", "description", "rank"])
    sensitivities = pd.DataFrame(SENSITIVITIES, columns=["sensitivity_id", "sensitivity_name", "description", "requires_masking", "rank"])
    standards = pd.DataFrame(STANDARDS, columns=["standard_id", "standard_name", "framework", "clause", "description"])
    standards["effective_from"] = start - dt.timedelta(days=700)
    standards["status"] = "active"
    policies = pd.DataFrame(
        [(*p[:9], start + dt.timedelta(days=p[9]), None if p[10] is None else start + dt.timedelta(days=p[10]), p[11]) for p in POLICIES],
        columns=["policy_id", "policy_name", "policy_type", "description", "classification_id", "sensitivity_id", "enforcement",
                 "owner_id", "version", "effective_from", "effective_to", "status"],
    )
    controls = pd.DataFrame(CONTROLS, columns=["control_id", "control_name", "control_type", "description", "policy_id",
                                               "standard_id", "check_type", "frequency", "owner_id"])
    controls["status"] = "active"
    external = pd.DataFrame({
        "dataset_id": [external_id(*t[:3]) for t in EXTERNAL_DATASETS],
        "catalog_name": [t[0] for t in EXTERNAL_DATASETS],
        "schema_name": [t[1] for t in EXTERNAL_DATASETS],
        "table_name": [t[2] for t in EXTERNAL_DATASETS],
        "layer": "source",
        "description": [f"Upstream {t[7]} data owned by the source system; read-only to the platform." for t in EXTERNAL_DATASETS],
        "grain": None,
        "owner_id": [t[3] for t in EXTERNAL_DATASETS],
        "classification_id": [t[4] for t in EXTERNAL_DATASETS],
        "sensitivity_id": [t[5] for t in EXTERNAL_DATASETS],
        "contains_pii": [bool(t[6]) for t in EXTERNAL_DATASETS],
        "status": "active",
        "registered_ts": created,
        "updated_ts": created,
    })
    tags = [(f"{external_id(*t[:3])}:domain", external_id(*t[:3]), None, "domain", t[7], created) for t in EXTERNAL_DATASETS]
    tags += [(f"{external_id(*t[:3])}.{col}:pii", external_id(*t[:3]), col, "pii", kind, created)
             for t in EXTERNAL_DATASETS for col, kind in t[6]]
    lineage = pd.DataFrame(_lineage_edges(), columns=["upstream_dataset_id", "downstream_dataset_id", "transform_name"])
    lineage.insert(0, "lineage_id", s.ids("lin", len(lineage), width=4))
    lineage["lineage_type"] = "table"
    lineage["captured_ts"] = s.at(end, hours=4)
    lineage["is_active"] = True
    return {
        "dim_owner": owners,
        "dim_classification": classifications.astype({"rank": "int32"}),
        "dim_sensitivity": sensitivities.astype({"rank": "int32"}),
        "dim_status": s.status_frame(STATUSES),
        "dim_remediation_team": pd.DataFrame(REMEDIATION_TEAMS, columns=["remediation_team_id", "team_name", "email", "on_call", "escalation_email"]),
        "ref_standards": standards,
        "ref_policies": policies.astype({"version": "int32"}),
        "ref_controls": controls,
        "dim_dataset": external,
        "dim_tag": pd.DataFrame(tags, columns=["tag_id", "dataset_id", "column_name", "tag_name", "tag_value", "created_ts"]),
        "stage_lineage": lineage,
        "stage_policy_changes": _policy_changes(start, end),
    }


def _policy_changes(start: dt.date, end: dt.date) -> pd.DataFrame:
    rows = []
    for p in POLICIES:
        requested = s.at(start + dt.timedelta(days=p[9] - 14), hours=10)
        rows.append((p[0], "created" if p[8] == 1 else "amended", p[8] - 1 if p[8] > 1 else None, p[8],
                     f"{'Create' if p[8] == 1 else 'Amend'}: {p[3]}", "data-governance@retailer.example",
                     "dpo@retailer.example", requested, requested + pd.Timedelta(days=9), "approved"))
        if p[11] == "retired":
            retired = s.at(start + dt.timedelta(days=p[10] - 7), hours=10)
            rows.append((p[0], "retired", p[8], None, f"Retire version {p[8]}; superseded", "data-governance@retailer.example",
                         "dpo@retailer.example", retired, retired + pd.Timedelta(days=5), "approved"))
    proposed = s.at(end - dt.timedelta(days=6), hours=15)
    rows.append(("pol-cost-tagging-v1", "amended", 1, 2, "Make cost tags enforced at cluster creation", "finops@retailer.example",
                 None, proposed, None, "pending"))
    rows.append(("pol-raw-retention-v1", "amended", 1, 2, "Shorten raw retention to 180 days", "data-platform@retailer.example",
                 "dpo@retailer.example", proposed - pd.Timedelta(days=60), proposed - pd.Timedelta(days=50), "rejected"))
    frame = pd.DataFrame(rows, columns=["policy_id", "change_type", "old_version", "new_version", "summary", "requested_by",
                                        "approved_by", "requested_ts", "approved_ts", "status"])
    frame.insert(0, "change_id", s.ids("pchg", len(frame), width=4))
    frame[["old_version", "new_version"]] = frame[["old_version", "new_version"]].astype("Int32")
    frame["approved_ts"] = pd.to_datetime(frame["approved_ts"])
    return frame
