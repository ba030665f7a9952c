"""Reference data of the ingest source: the retailer's source systems and their layouts.

The business units, owners, environments, file types, layout versions, cities
and value mappings change rarely; they are constants here so that the flows in
``ingest.py`` (volumes, records, audits) can refer to the same ids.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from services.demo.platform import sampling as s

# (id, name, system_type, ingestion_mode, owner, business_unit, file_type, events per 1k customers a day, event types)
SOURCE_SYSTEMS = (
    ("pos", "Store point of sale", "point_of_sale", "batch", "do_store_systems", "bu_stores", "csv", 60, ("receipt_line", "return_line")),
    ("web", "E-commerce website", "ecommerce_web", "streaming", "do_digital", "bu_ecommerce", "jsonl", 900, ("page_view", "add_to_cart", "checkout")),
    ("app", "Mobile app", "mobile_app", "streaming", "do_digital", "bu_ecommerce", "jsonl", 700, ("screen_view", "add_to_cart", "checkout", "push_open")),
    ("crm", "CRM", "crm", "cdc", "do_crm", "bu_crm_loyalty", "avro", 4, ("customer_upsert",)),
    ("file_import", "Partner file drop", "file_drop", "batch", "do_data_platform", "bu_data_platform", "csv", 1, ("preference_update",)),
    ("loyalty", "Loyalty platform", "loyalty_platform", "api", "do_crm", "bu_crm_loyalty", "json", 30, ("points_earned", "points_redeemed", "tier_change")),
    ("payments", "Payment gateway", "payment_gateway", "batch", "do_payments", "bu_finance", "parquet", 45, ("authorisation", "capture", "refund")),
    ("erp", "ERP product master", "erp", "batch", "do_erp", "bu_supply_chain", "xml", 2, ("product_upsert", "price_change")),
    ("marketing_cloud", "Marketing cloud", "marketing_cloud", "api", "do_marketing_tech", "bu_marketing", "csv", 120, ("email_send", "email_open", "email_click")),
    ("contact_centre", "Contact centre", "contact_centre", "api", "do_service", "bu_customer_service", "json", 3, ("case_opened", "case_closed")),
)

BUSINESS_UNITS = (
    ("bu_group", "Retail Group", None, "CC-1000"),
    ("bu_stores", "Stores", "bu_group", "CC-2100"),
    ("bu_ecommerce", "E-commerce", "bu_group", "CC-2200"),
    ("bu_marketing", "Marketing", "bu_group", "CC-3100"),
    ("bu_crm_loyalty", "CRM & Loyalty", "bu_marketing", "CC-3200"),
    ("bu_finance", "Finance", "bu_group", "CC-4100"),
    ("bu_supply_chain", "Supply Chain", "bu_group", "CC-5100"),
    ("bu_data_platform", "Data Platform", "bu_group", "CC-6100"),
    ("bu_customer_service", "Customer Service", "bu_group", "CC-7100"),
)

DATA_OWNERS = (
    ("do_store_systems", "Store Systems", "store-systems@retailer.example", "Store Technology", "bu_stores"),
    ("do_digital", "Digital Engineering", "digital-eng@retailer.example", "Digital", "bu_ecommerce"),
    ("do_crm", "CRM Engineering", "crm-eng@retailer.example", "CRM & Loyalty", "bu_crm_loyalty"),
    ("do_payments", "Payments Engineering", "payments-eng@retailer.example", "Finance Technology", "bu_finance"),
    ("do_erp", "ERP Team", "erp@retailer.example", "Supply Chain Technology", "bu_supply_chain"),
    ("do_data_platform", "Data Platform Engineering", "data-platform@retailer.example", "Data Platform", "bu_data_platform"),
    ("do_marketing_tech", "Marketing Technology", "martech@retailer.example", "Marketing", "bu_marketing"),
    ("do_service", "Customer Service Systems", "cs-systems@retailer.example", "Customer Service", "bu_customer_service"),
)

FILE_TYPES = (
    ("csv", "Comma-separated values", ".csv", "text/csv", ",", "gzip", True),
    ("jsonl", "JSON lines", ".jsonl", "application/x-ndjson", None, "gzip", False),
    ("json", "JSON document", ".json", "application/json", None, None, False),
    ("avro", "Apache Avro", ".avro", "application/avro", None, "snappy", False),
    ("parquet", "Apache Parquet", ".parquet", "application/vnd.apache.parquet", None, "snappy", False),
    ("xml", "XML document", ".xml", "application/xml", None, "gzip", False),
)

# Columns of each system's layout; a later version adds the last column.
_LAYOUTS = {
    "pos": ("store_id", "register_id", "receipt_id", "line_no", "sku", "quantity", "unit_price", "currency", "loyalty_card", "sold_at"),
    "web": ("event_id", "session_id", "customer_id", "event_type", "page_url", "sku", "event_time", "consent_state"),
    "app": ("event_id", "device_id", "customer_id", "event_type", "screen", "sku", "event_time", "app_version"),
    "crm": ("customer_id", "first_name", "last_name", "email", "phone", "address_line", "postal_code", "birth_date", "updated_at"),
    "file_import": ("email", "email_opt_in", "sms_opt_in", "updated_at"),
    "loyalty": ("member_id", "customer_id", "event_type", "points", "tier", "event_time"),
    "payments": ("payment_id", "receipt_id", "method", "amount", "currency", "status", "captured_at"),
    "erp": ("sku", "product_name", "category", "brand", "list_price", "currency", "valid_from"),
    "marketing_cloud": ("send_id", "campaign_id", "customer_id", "event_type", "event_time"),
    "contact_centre": ("case_id", "customer_id", "reason", "channel", "opened_at", "closed_at"),
}
_PII = {"first_name", "last_name", "email", "phone", "address_line", "postal_code", "birth_date"}

GEOS = (
    ("US", "United States", "Northeast", "New York", "100", 40.71, -74.01, "America/New_York"),
    ("US", "United States", "Northeast", "Boston", "021", 42.36, -71.06, "America/New_York"),
    ("US", "United States", "Northeast", "Philadelphia", "191", 39.95, -75.17, "America/New_York"),
    ("US", "United States", "Southeast", "Atlanta", "303", 33.75, -84.39, "America/New_York"),
    ("US", "United States", "Southeast", "Miami", "331", 25.76, -80.19, "America/New_York"),
    ("US", "United States", "Midwest", "Chicago", "606", 41.88, -87.63, "America/Chicago"),
    ("US", "United States", "Midwest", "Minneapolis", "554", 44.98, -93.27, "America/Chicago"),
    ("US", "United States", "South", "Dallas", "752", 32.78, -96.80, "America/Chicago"),
    ("US", "United States", "South", "Houston", "770", 29.76, -95.37, "America/Chicago"),
    ("US", "United States", "West", "Denver", "802", 39.74, -104.99, "America/Denver"),
    ("US", "United States", "West", "Phoenix", "850", 33.45, -112.07, "America/Phoenix"),
    ("US", "United States", "West", "Los Angeles", "900", 34.05, -118.24, "America/Los_Angeles"),
    ("US", "United States", "West", "San Francisco", "941", 37.77, -122.42, "America/Los_Angeles"),
    ("US", "United States", "West", "Seattle", "981", 47.61, -122.33, "America/Los_Angeles"),
    ("CA", "Canada", "Ontario", "Toronto", "M5", 43.65, -79.38, "America/Toronto"),
    ("CA", "Canada", "British Columbia", "Vancouver", "V6", 49.28, -123.12, "America/Vancouver"),
    ("GB", "United Kingdom", "England", "London", "EC", 51.51, -0.13, "Europe/London"),
    ("GB", "United Kingdom", "England", "Manchester", "M1", 53.48, -2.24, "Europe/London"),
)

STATUSES = (
    ("active", "Active", "lifecycle", "In use and sending data.", False, False),
    ("onboarding", "Onboarding", "lifecycle", "Being connected; data not yet trusted.", False, False),
    ("deprecated", "Deprecated", "lifecycle", "No longer sends data; kept for history.", True, False),
    ("parsed", "Parsed", "record", "Parsed into columns.", True, False),
    ("rejected", "Rejected", "record", "Failed parsing or validation; see ref_parsing_errors.", True, True),
    ("enriched", "Enriched", "record", "Enrichment applied.", True, False),
    ("skipped", "Skipped", "record", "Enrichment found no match.", True, False),
    ("running", "Running", "batch", "Batch is being loaded.", False, False),
    ("matched", "Matched", "batch", "Loaded; source and target reconcile.", True, False),
    ("succeeded", "Succeeded", "run", "Model run or retry finished.", True, False),
    ("mismatch", "Mismatch", "batch", "Loaded, but row counts or checksums differ.", True, True),
    ("failed", "Failed", "batch", "Load failed; a retry is scheduled.", True, True),
    ("scheduled", "Scheduled", "retry", "Retry waiting for its slot.", False, False),
    ("abandoned", "Abandoned", "retry", "Retries exhausted; needs a person.", True, True),
)

def reference_frames(created: pd.Timestamp, start: dt.date, end: dt.date) -> dict[str, pd.DataFrame]:
    """The ingest dimensions and reference tables."""
    bu = pd.DataFrame(BUSINESS_UNITS, columns=["business_unit_id", "business_unit_name", "parent_business_unit_id", "cost_center_code"])
    bu["status"], bu["created_ts"] = "active", created
    owners = pd.DataFrame(DATA_OWNERS, columns=["owner_id", "owner_name", "email", "team", "business_unit_id"])
    owners["status"], owners["created_ts"] = "active", created
    envs = pd.DataFrame(
        [
            ("dev", "Development", "https://adb-1001.azuredatabricks.example", "aws", "us-east-1", False),
            ("staging", "Staging", "https://adb-1002.azuredatabricks.example", "aws", "us-east-1", False),
            ("prod", "Production", "https://adb-1003.azuredatabricks.example", "aws", "us-east-1", True),
        ],
        columns=["environment_id", "environment_name", "workspace_url", "cloud", "cloud_region", "is_production"],
    )
    systems = pd.DataFrame(
        [r[:6] for r in SOURCE_SYSTEMS],
        columns=["source_system_id", "source_system_name", "system_type", "ingestion_mode", "owner_id", "business_unit_id"],
    )
    systems["environment_id"] = "prod"
    systems["status"] = np.where(systems["source_system_id"] == "contact_centre", "onboarding", "active")
    systems["created_ts"] = [created + pd.Timedelta(days=30 * i) for i in range(len(systems))]
    systems["updated_ts"] = s.at(start, hours=6)
    file_types = pd.DataFrame(
        FILE_TYPES, columns=["file_type_id", "file_type_name", "extension", "mime_type", "delimiter", "compression", "has_header"]
    )
    versions, columns = [], []
    half = (end - start).days // 2
    for k, (sys_id, *_, file_type, _rate, _types) in enumerate(SOURCE_SYSTEMS):
        layout = _LAYOUTS[sys_id]
        cut = s.at(start, hours=4) + pd.Timedelta(days=min(90 + 30 * k, half))
        for number, (cols, since, until) in enumerate(((layout[:-1], created, cut), (layout, cut, pd.NaT)), start=1):
            version_id = f"{sys_id}-v{number}"
            versions.append((version_id, sys_id, file_type, number, s.digest([",".join(cols)], length=16)[0],
                             "initial layout" if number == 1 else f"adds {layout[-1]}", since, until, number == 2))
            columns += [(f"{version_id}-{i:02d}", version_id, i, c, _type_of(c), c not in ("customer_id", "event_id"), c in _PII)
                        for i, c in enumerate(cols, start=1)]
    schema_versions = pd.DataFrame(versions, columns=["schema_version_id", "source_system_id", "file_type_id", "version_number",
                                                      "schema_hash", "change_summary", "effective_from", "effective_to", "is_current"])
    schema_versions["version_number"] = schema_versions["version_number"].astype("int32")
    file_schema = pd.DataFrame(columns, columns=["file_schema_id", "schema_version_id", "column_position", "column_name",
                                                 "data_type", "is_nullable", "is_pii"])
    file_schema["column_position"] = file_schema["column_position"].astype("int32")
    geo = pd.DataFrame(GEOS, columns=["country_code", "country_name", "region_name", "city", "postal_prefix", "latitude", "longitude", "timezone"])
    geo.insert(0, "geo_id", [f"{c.lower()}-{city.lower().replace(' ', '-')}" for c, city in zip(geo["country_code"], geo["city"])])
    return {
        "dim_business_unit": bu,
        "dim_data_owner": owners,
        "dim_environment": envs,
        "dim_source_system": systems,
        "dim_file_type": file_types,
        "dim_schema_version": schema_versions,
        "ref_file_schema": file_schema,
        "dim_geo": geo,
        "dim_status": s.status_frame(STATUSES),
        "ref_mappings": _mappings(start),
    }


def _type_of(column: str) -> str:
    if column.endswith(("_at", "_time", "_from")):
        return "timestamp"
    if column in ("quantity", "line_no", "points"):
        return "int"
    if column in ("unit_price", "amount", "list_price"):
        return "decimal(12,2)"
    if column == "birth_date":
        return "date"
    if column.endswith("_opt_in"):
        return "boolean"
    return "string"


def _mappings(start: dt.date) -> pd.DataFrame:
    rows = [
        ("pos", "channel", "STORE", "store"), ("web", "channel", "WEB", "web"), ("web", "channel", "MWEB", "web"),
        ("app", "channel", "IOS", "app"), ("app", "channel", "ANDROID", "app"),
        ("crm", "gender", "M", "male"), ("crm", "gender", "F", "female"), ("crm", "gender", "X", "non_binary"),
        ("crm", "gender", "U", "unknown"), ("crm", "country", "USA", "US"), ("crm", "country", "U.S.", "US"),
        ("crm", "country", "UK", "GB"), ("crm", "country", "CAN", "CA"),
        ("loyalty", "loyalty_tier", "BRZ", "bronze"), ("loyalty", "loyalty_tier", "SLV", "silver"),
        ("loyalty", "loyalty_tier", "GLD", "gold"), ("loyalty", "loyalty_tier", "PLT", "platinum"),
        ("payments", "payment_method", "VISA", "card"), ("payments", "payment_method", "MC", "card"),
        ("payments", "payment_method", "AMEX", "card"), ("payments", "payment_method", "PAYPAL", "wallet"),
        ("payments", "payment_method", "APPLEPAY", "wallet"), ("payments", "payment_method", "GIFTCARD", "gift_card"),
        ("file_import", "opt_in", "Y", "true"), ("file_import", "opt_in", "N", "false"),
    ]
    frame = pd.DataFrame(rows, columns=["source_system_id", "mapping_domain", "source_value", "target_value"])
    frame.insert(0, "mapping_id", s.ids("map", len(frame), width=4))
    frame["is_active"] = True
    frame["effective_from"] = start - dt.timedelta(days=400)
    frame["effective_to"] = None
    # The legacy loyalty code was retired when the tier model changed.
    retired = ("map-9999", "loyalty", "loyalty_tier", "VIP", "platinum", False, start - dt.timedelta(days=400), start + dt.timedelta(days=200))
    frame.loc[len(frame)] = retired
    return frame
