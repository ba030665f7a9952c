"""Reference data of the cost source: resources, cost centres, prices, discounts, rates.

The resources are the workloads around the segmentation platform. The ones
tagged ``app=segment_studio`` are the app's own (the SQL warehouse it queries
and the Databricks App it runs as), so the Cost page can show what the app
itself costs. Prices, discounts and rates change during the period, so the
monthly numbers move for reasons a FinOps analyst would recognise.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from services.demo.platform import sampling as s

APP_TAG = "segment_studio"

CURRENCIES = (("USD", "US dollar", 2), ("EUR", "Euro", 2), ("GBP", "Pound sterling", 2), ("CAD", "Canadian dollar", 2), ("JPY", "Japanese yen", 0))
# Month-average USD per unit at the start of the period; a random walk moves them.
START_RATES = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "CAD": 0.73, "JPY": 0.0066}

REGIONS = (("aws-us-east-1", "US East (N. Virginia)", "aws"), ("aws-us-west-2", "US West (Oregon)", "aws"), ("aws-eu-west-1", "EU (Ireland)", "aws"))
# eu-west-1 usage is billed to the European account, in euros.
ACCOUNT_BY_REGION = {"aws-us-east-1": "ba-aws-us", "aws-us-west-2": "ba-aws-us", "aws-eu-west-1": "ba-aws-eu"}
BILLING_ACCOUNTS = (
    ("ba-aws-us", "Retail Group AWS (US)", "aws", "USD", "payer-1001", "active"),
    ("ba-aws-eu", "Retail Group AWS (EU)", "aws", "EUR", "payer-1001", "active"),
)

COST_CENTERS = (
    ("cc_marketing_analytics", "Marketing Analytics", "Marketing", "marketing-analytics@retailer.example", "active"),
    ("cc_crm", "CRM & Loyalty", "Marketing", "crm@retailer.example", "active"),
    ("cc_ecommerce", "E-commerce", "Digital", "ecommerce@retailer.example", "active"),
    ("cc_data_platform", "Data Platform", "Technology", "data-platform@retailer.example", "active"),
    ("cc_data_science", "Data Science", "Technology", "data-science@retailer.example", "active"),
    ("cc_finance", "Finance BI", "Finance", "finance-bi@retailer.example", "active"),
    ("cc_legacy_bi", "Legacy BI (closed)", "Finance", "finance-bi@retailer.example", "inactive"),
)

# (resource_id, name, resource_type, unit, sku, app tag, ((cost centre, region, mean units a day), ...), share of the period before launch)
RESOURCES = (
    ("res-sqlwh-segment-studio", "Segment Studio SQL warehouse", "sql_warehouse", "DBU", "SERVERLESS_SQL", APP_TAG,
     (("cc_marketing_analytics", "aws-us-east-1", 55.0), ("cc_crm", "aws-us-east-1", 18.0)), 0.1),
    ("res-app-segment-studio", "Segment Studio Databricks App", "databricks_app", "DBU", "APPS_COMPUTE", APP_TAG,
     (("cc_marketing_analytics", "aws-us-east-1", 12.0),), 0.1),
    ("res-sqlwh-bi", "BI dashboards SQL warehouse", "sql_warehouse", "DBU", "SERVERLESS_SQL", "bi_dashboards",
     (("cc_finance", "aws-us-east-1", 40.0), ("cc_ecommerce", "aws-us-east-1", 25.0)), 0.0),
    ("res-jobs-feature-pipeline", "Customer feature pipeline jobs", "jobs_compute", "DBU", "JOBS_COMPUTE", "feature_pipeline",
     (("cc_data_platform", "aws-us-east-1", 140.0),), 0.0),
    ("res-jobs-ingest", "Ingest jobs", "jobs_compute", "DBU", "JOBS_COMPUTE", "ingest",
     (("cc_data_platform", "aws-us-east-1", 210.0), ("cc_data_platform", "aws-eu-west-1", 45.0)), 0.0),
    ("res-allpurpose-ds", "Data science clusters", "all_purpose_compute", "DBU", "ALL_PURPOSE_COMPUTE", "data_science",
     (("cc_data_science", "aws-us-west-2", 70.0),), 0.0),
    ("res-serverless-notebooks", "Serverless notebooks", "serverless", "DBU", "SERVERLESS_INTERACTIVE", "adhoc_analysis",
     (("cc_marketing_analytics", "aws-us-east-1", 14.0), ("cc_ecommerce", "aws-us-east-1", 9.0)), 0.25),
    ("res-model-serving-recs", "Product recommendations endpoint", "model_serving", "DBU", "MODEL_SERVING", "recommendations",
     (("cc_ecommerce", "aws-us-east-1", 160.0),), 0.0),
    ("res-storage-lakehouse", "Lakehouse storage", "storage", "GB-month", "S3_STANDARD", "lakehouse_storage",
     (("cc_data_platform", "aws-us-east-1", 0.0), ("cc_data_platform", "aws-eu-west-1", 0.0)), 0.0),
    ("res-sqlwh-legacy", "Legacy BI warehouse (retired)", "sql_warehouse", "DBU", "SERVERLESS_SQL", "legacy_bi",
     (("cc_legacy_bi", "aws-us-east-1", 30.0),), 0.0),
)
# The legacy warehouse was switched off this far into the period.
LEGACY_END_SHARE = 0.15

# (sku, resource type, list price USD per unit, change at this share of the period, new price)
PRICES = (
    ("SERVERLESS_SQL", "sql_warehouse", 0.70, 0.55, 0.70),
    ("APPS_COMPUTE", "databricks_app", 0.50, None, None),
    ("JOBS_COMPUTE", "jobs_compute", 0.15, 0.4, 0.165),
    ("ALL_PURPOSE_COMPUTE", "all_purpose_compute", 0.55, None, None),
    ("SERVERLESS_INTERACTIVE", "serverless", 0.95, 0.7, 0.85),
    ("MODEL_SERVING", "model_serving", 0.07, None, None),
    ("S3_STANDARD", "storage", 0.023, None, None),
)
REGION_UPLIFT = {"aws-us-east-1": 1.0, "aws-us-west-2": 1.0, "aws-eu-west-1": 1.08}

# (discount_id, account, resource type, pct, commitment, description, from share, to share)
DISCOUNTS = (
    ("disc-us-commit-y1", "ba-aws-us", None, 0.12, 250000.0, "Year-one committed-use discount", -0.1, 0.5),
    ("disc-us-commit-y2", "ba-aws-us", None, 0.15, 400000.0, "Year-two committed-use discount", 0.5, None),
    ("disc-eu-commit", "ba-aws-eu", None, 0.08, 60000.0, "EU committed-use discount", -0.1, None),
    ("disc-us-storage", "ba-aws-us", "storage", 0.0, None, "Storage is billed at list price", -0.1, None),
)

# (rule_id, name, resource type, source, target, pct, basis, from share, to share, status)
CHARGEBACK_RULES = (
    ("cb-storage-marketing", "Lakehouse storage to Marketing Analytics", "storage", "cc_data_platform", "cc_marketing_analytics", 0.30, "usage", -0.1, None, "active"),
    ("cb-storage-ecommerce", "Lakehouse storage to E-commerce", "storage", "cc_data_platform", "cc_ecommerce", 0.25, "usage", -0.1, None, "active"),
    ("cb-storage-ds", "Lakehouse storage to Data Science", "storage", "cc_data_platform", "cc_data_science", 0.15, "usage", -0.1, None, "active"),
    ("cb-jobs-ecommerce", "Data Platform jobs compute to E-commerce", "jobs_compute", "cc_data_platform", "cc_ecommerce", 0.35, "usage", -0.1, None, "active"),
    ("cb-jobs-crm", "Data Platform jobs compute to CRM & Loyalty", "jobs_compute", "cc_data_platform", "cc_crm", 0.20, "usage", -0.1, None, "active"),
    ("cb-legacy-finance", "Legacy BI to Finance BI", "sql_warehouse", "cc_legacy_bi", "cc_finance", 1.0, "fixed", -0.1, LEGACY_END_SHARE, "retired"),
)

STATUSES = (
    ("active", "Active", "lifecycle", "In use.", False, False),
    ("inactive", "Inactive", "lifecycle", "Closed; kept for history.", True, False),
    ("retired", "Retired", "lifecycle", "No longer applied.", True, False),
    ("parsed", "Parsed", "record", "Billing line parsed.", True, False),
    ("matched", "Matched", "batch", "Totals reconcile.", True, False),
    ("succeeded", "Succeeded", "run", "Allocation run finished.", True, False),
    ("corrected", "Corrected", "batch", "Totals differ by vendor corrections applied later.", True, False),
    ("mismatch", "Mismatch", "batch", "Totals differ without an explanation.", True, True),
    ("applied", "Applied", "correction", "Correction reflected in fact_cost_usage.", True, False),
    ("pending", "Pending", "correction", "Correction announced, not yet applied.", False, False),
)


def on(start: dt.date, end: dt.date, share: float) -> dt.date:
    """The day ``share`` of the way through the period (negative shares fall before it)."""
    return start + dt.timedelta(days=int(round((end - start).days * share)))


def reference_frames(rng: np.random.Generator, start: dt.date, end: dt.date) -> dict[str, pd.DataFrame]:
    """The cost dimensions and reference tables."""
    created = s.at(start - dt.timedelta(days=365), hours=9)
    centers = pd.DataFrame(COST_CENTERS, columns=["cost_center_id", "cost_center_name", "business_unit", "owner_email", "status"])
    centers["created_ts"] = created
    resources = pd.DataFrame([(r[0], r[1], r[2], r[3]) for r in RESOURCES], columns=["resource_id", "resource_name", "resource_type", "unit"])
    resources["status"] = np.where(resources["resource_id"] == "res-sqlwh-legacy", "retired", "active")
    resources["created_ts"] = [s.at(on(start, end, r[7]) if r[7] > 0 else start - dt.timedelta(days=200), hours=8) for r in RESOURCES]
    accounts = pd.DataFrame(BILLING_ACCOUNTS, columns=["billing_account_id", "account_name", "cloud", "currency_code", "payer_account", "status"])
    accounts["created_ts"] = created
    tags = [("app", r[5], f"Workload: {r[1]}", r[6][0][0], True) for r in RESOURCES]
    tags += [("env", e, f"{e} environment", None, True) for e in ("prod", "staging", "dev")]
    tags += [("cost_center", c[0], f"Charge to {c[1]}", c[0], True) for c in COST_CENTERS]
    tags += [("owner", "team-email", "Free-text owner contact", None, False)]
    tagging = pd.DataFrame(tags, columns=["tag_key", "tag_value", "description", "cost_center_id", "is_required"]).drop_duplicates(["tag_key", "tag_value"])
    tagging.insert(0, "tagging_id", tagging["tag_key"] + "=" + tagging["tag_value"])
    tagging["created_ts"] = created
    discounts = pd.DataFrame(
        [(d[0], d[1], d[2], d[3], d[4], d[5], on(start, end, d[6]), None if d[7] is None else on(start, end, d[7]) - dt.timedelta(days=1))
         for d in DISCOUNTS],
        columns=["discount_id", "billing_account_id", "resource_type", "discount_pct", "commitment_usd", "description", "effective_from", "effective_to"],
    )
    rules = pd.DataFrame(
        [(*r[:7], on(start, end, r[7]), None if r[8] is None else on(start, end, r[8]), r[9]) for r in CHARGEBACK_RULES],
        columns=["rule_id", "rule_name", "resource_type", "source_cost_center_id", "target_cost_center_id", "allocation_pct", "basis",
                 "effective_from", "effective_to", "status"],
    )
    return {
        "dim_currency": pd.DataFrame(CURRENCIES, columns=["currency_code", "currency_name", "minor_units"]).astype({"minor_units": "int32"}),
        "dim_region": pd.DataFrame(REGIONS, columns=["region_id", "region_name", "cloud"]),
        "dim_cost_center": centers,
        "dim_resource_type": resources,
        "dim_billing_account": accounts,
        "dim_tagging": tagging.reset_index(drop=True),
        "dim_status": s.status_frame(STATUSES),
        "ref_price_catalog": price_catalog(start, end),
        "ref_discounts": discounts,
        "ref_chargeback_rules": rules,
        "ref_rates": rates(rng, start, end),
    }


def price_catalog(start: dt.date, end: dt.date) -> pd.DataFrame:
    rows = []
    for sku, rtype, price, change, new_price in PRICES:
        for region, _, _ in REGIONS:
            uplift = REGION_UPLIFT[region]
            base_from = start - dt.timedelta(days=365)
            if change is None:
                rows.append((f"price-{sku.lower()}-{region}-v1", sku, rtype, region, round(price * uplift, 6), base_from, None))
                continue
            cut = on(start, end, change)
            rows.append((f"price-{sku.lower()}-{region}-v1", sku, rtype, region, round(price * uplift, 6), base_from, cut - dt.timedelta(days=1)))
            rows.append((f"price-{sku.lower()}-{region}-v2", sku, rtype, region, round(new_price * uplift, 6), cut, None))
    frame = pd.DataFrame(rows, columns=["price_id", "sku_name", "resource_type", "region_id", "list_price_usd", "effective_from", "effective_to"])
    frame.insert(4, "unit", np.where(frame["resource_type"] == "storage", "GB-month", "DBU"))
    return frame


def rates(rng: np.random.Generator, start: dt.date, end: dt.date) -> pd.DataFrame:
    months = s.month_starts(start, end)
    rows = []
    for code, _, _ in CURRENCIES:
        walk = np.exp(np.cumsum(rng.normal(0, 0.012, size=len(months)))) if code != "USD" else np.ones(len(months))
        for month, factor in zip(months, walk):
            rows.append((f"{code}-{s.ymd([month])[0][:6]}", code, month, round(START_RATES[code] * factor, 8), "ecb_reference" if code != "USD" else "identity"))
    frame = pd.DataFrame(rows, columns=["rate_id", "currency_code", "rate_month", "usd_per_unit", "rate_source"])
    frame["rate_month"] = s.dates(frame["rate_month"])
    return frame
