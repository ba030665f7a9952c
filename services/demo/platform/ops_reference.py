"""Reference data of the ops source: teams, regions, services and their deploys.

Constants here are shared by the flows in ``ops.py`` (incidents, logs,
landing and audits), which pick services, error codes and instances by id.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from services.demo.platform import sampling as s
from services.naming import fq

LANDING_DAYS = 14

TEAMS = (
    ("team_data_platform", "Data Platform", "data-platform@retailer.example", "#data-platform", "dp-primary", "Priya Raman"),
    ("team_martech", "Marketing Technology", "martech@retailer.example", "#martech", "martech-primary", "Jonas Weber"),
    ("team_sre", "Site Reliability", "sre@retailer.example", "#sre", "sre-primary", "Amara Okafor"),
    ("team_data_science", "Data Science", "data-science@retailer.example", "#data-science", None, "Lena Park"),
    ("team_crm", "CRM Engineering", "crm-eng@retailer.example", "#crm-eng", "crm-primary", "Diego Alvarez"),
)

REGIONS = (
    ("aws-us-east-1", "US East (N. Virginia)", "aws", "us-east-1"),
    ("aws-us-west-2", "US West (Oregon)", "aws", "us-west-2"),
    ("aws-eu-west-1", "EU (Ireland)", "aws", "eu-west-1"),
)

# (id, name, type, tier, team, region, replicas, share of log lines)
SERVICES = (
    ("segment-studio", "Segment Studio app", "databricks_app", "tier1", "team_martech", "aws-us-east-1", 2, 0.16),
    ("segment-export-worker", "Segment export worker", "job", "tier1", "team_martech", "aws-us-east-1", 2, 0.12),
    ("feature-pipeline", "Customer feature pipeline", "pipeline", "tier1", "team_data_platform", "aws-us-east-1", 1, 0.12),
    ("identity-resolution", "Identity resolution", "job", "tier2", "team_crm", "aws-us-east-1", 1, 0.06),
    ("pos-ingest", "POS ingest", "pipeline", "tier1", "team_data_platform", "aws-us-east-1", 2, 0.10),
    ("clickstream-ingest", "Web and app clickstream ingest", "pipeline", "tier1", "team_data_platform", "aws-us-west-2", 3, 0.14),
    ("loyalty-sync", "Loyalty sync", "job", "tier2", "team_crm", "aws-us-east-1", 1, 0.05),
    ("connector-braze", "Braze connector", "api", "tier2", "team_martech", "aws-us-east-1", 1, 0.05),
    ("connector-meta-ads", "Meta Ads connector", "api", "tier2", "team_martech", "aws-us-east-1", 1, 0.04),
    ("lookalike-scoring", "Lookalike scoring", "job", "tier3", "team_data_science", "aws-us-east-1", 1, 0.04),
    ("dq-runner", "Data quality runner", "job", "tier2", "team_data_platform", "aws-eu-west-1", 1, 0.07),
    ("sql-warehouse-proxy", "SQL warehouse gateway", "sql_warehouse", "tier1", "team_sre", "aws-us-east-1", 2, 0.05),
)

LOG_LEVELS = (
    ("DEBUG", 10, "Diagnostic detail; dropped before fact_logs except when sampled.", False),
    ("INFO", 20, "Normal operation.", False),
    ("WARN", 30, "Unexpected but handled.", False),
    ("ERROR", 40, "A request or job step failed.", True),
    ("FATAL", 50, "The process stopped.", True),
)

PRIORITIES = (
    ("P1", "Critical", "Customer-facing outage or data loss.", 15, 240, True),
    ("P2", "High", "Major degradation; segments or exports late.", 30, 480, True),
    ("P3", "Medium", "Partial degradation with a workaround.", 240, 2880, False),
    ("P4", "Low", "Cosmetic or internal only.", 1440, 10080, False),
)

# (code, name, category, default priority, retryable, message)
ERROR_CODES = (
    ("WH-401", "Warehouse auth expired", "auth", "P2", True, "SQL warehouse token expired"),
    ("WH-504", "Warehouse query timeout", "performance", "P3", True, "query exceeded 300s timeout"),
    ("WH-429", "Warehouse throttled", "capacity", "P3", True, "warehouse queue full, request throttled"),
    ("EXP-502", "Destination unavailable", "dependency", "P2", True, "export destination returned 502"),
    ("EXP-413", "Audience too large", "validation", "P4", False, "audience file exceeds destination limit"),
    ("EXP-401", "Destination credentials rejected", "auth", "P2", False, "destination rejected credentials"),
    ("ING-404", "Source export missing", "dependency", "P2", True, "expected source export not found"),
    ("ING-422", "Schema drift", "data", "P3", False, "unexpected column in source payload"),
    ("ING-409", "Duplicate batch", "data", "P4", False, "batch already loaded, skipping"),
    ("PIPE-500", "Model step failed", "pipeline", "P2", True, "model step raised an exception"),
    ("PIPE-507", "Out of memory", "capacity", "P2", True, "executor lost: out of memory"),
    ("DQ-001", "Quality check failed", "data", "P3", False, "critical data-quality check failed"),
    ("ID-300", "Match rate dropped", "data", "P3", False, "identity match rate below threshold"),
    ("APP-500", "Unhandled app error", "application", "P2", False, "unhandled exception in page"),
    ("APP-503", "App overloaded", "capacity", "P2", True, "app returned 503 under load"),
)

STATUSES = (
    ("active", "Active", "lifecycle", "Service is deployed and running.", False, False),
    ("deprecated", "Deprecated", "lifecycle", "Service is being retired.", True, False),
    ("running", "Running", "instance", "Instance is up.", False, False),
    ("terminated", "Terminated", "instance", "Instance was replaced or stopped.", True, False),
    ("open", "Open", "incident", "Raised, nobody working on it yet.", False, True),
    ("investigating", "Investigating", "incident", "Someone is working on it.", False, True),
    ("mitigated", "Mitigated", "incident", "Impact stopped; root cause pending.", False, False),
    ("resolved", "Resolved", "incident", "Fixed.", True, False),
    ("acknowledged", "Acknowledged", "alert", "On-call has seen the alert.", False, False),
    ("suppressed", "Suppressed", "alert", "Fired inside a maintenance window or as a duplicate.", True, False),
    ("scheduled", "Scheduled", "window", "Planned.", False, False),
    ("completed", "Completed", "window", "Done.", True, False),
    ("cancelled", "Cancelled", "window", "Called off.", True, False),
    ("parsed", "Parsed", "record", "Log line parsed.", True, False),
    ("unparseable", "Unparseable", "record", "Log line did not match the format.", True, True),
    ("matched", "Matched", "batch", "Counts reconcile.", True, False),
    ("mismatch", "Mismatch", "batch", "Counts differ.", True, True),
    ("current", "Current", "runbook", "Reviewed within the last year.", False, False),
    ("needs_review", "Needs review", "runbook", "Not reviewed for over a year.", False, True),
)


def reference_frames(start: dt.date, end: dt.date) -> dict[str, pd.DataFrame]:
    """The ops dimensions and reference tables (instances excepted)."""
    created = s.at(start - dt.timedelta(days=500), hours=10)
    services = pd.DataFrame([r[:5] for r in SERVICES], columns=["service_id", "service_name", "service_type", "tier", "team_id"])
    services["repo_url"] = "https://git.retailer.example/platform/" + services["service_id"]
    services["status"] = "active"
    services["created_ts"] = created
    runbooks = pd.DataFrame(
        [(f"rb-{code.lower()}", f"Runbook: {name}", None, "team_sre" if category in ("capacity", "auth") else "team_data_platform")
         for code, name, category, *_ in ERROR_CODES],
        columns=["runbook_id", "title", "service_id", "owner_team_id"],
    )
    runbooks.loc[runbooks["runbook_id"].str.startswith(("rb-exp", "rb-app")), "owner_team_id"] = "team_martech"
    runbooks["url"] = "https://wiki.retailer.example/runbooks/" + runbooks["runbook_id"]
    runbooks["version"] = (np.arange(len(runbooks)) % 3 + 1).astype("int32")
    reviewed = [end - dt.timedelta(days=int(40 + 37 * i)) for i in range(len(runbooks))]
    runbooks["last_reviewed_date"] = reviewed
    runbooks["status"] = ["needs_review" if (end - d).days > 365 else "current" for d in reviewed]
    codes = pd.DataFrame(ERROR_CODES, columns=["error_code", "error_name", "category", "default_priority_id", "is_retryable", "description"])
    codes["runbook_id"] = "rb-" + codes["error_code"].str.lower()
    retention = pd.DataFrame(
        [
            ("ret-stg", fq("ops", "stg_ops_logs"), None, LANDING_DAYS, None, "delete"),
            ("ret-raw", fq("ops", "raw_ops"), None, LANDING_DAYS, None, "delete"),
            ("ret-trim", fq("ops", "stage_trimmed_logs"), None, LANDING_DAYS, None, "delete"),
            ("ret-fact-info", fq("ops", "fact_logs"), "INFO", 400, 90, "archive"),
            ("ret-fact-warn", fq("ops", "fact_logs"), "WARN", 760, 180, "archive"),
            ("ret-fact-error", fq("ops", "fact_logs"), "ERROR", 1100, 365, "archive"),
            ("ret-fact-fatal", fq("ops", "fact_logs"), "FATAL", 1100, 365, "archive"),
        ],
        columns=["policy_id", "table_name", "log_level", "retention_days", "archive_after_days", "action"],
    )
    retention["retention_days"] = retention["retention_days"].astype("int32")
    retention["archive_after_days"] = retention["archive_after_days"].astype("Int32")
    retention["effective_from"] = start - dt.timedelta(days=200)
    retention["approved_by"] = "sre@retailer.example"
    return {
        "dim_team": pd.DataFrame(TEAMS, columns=["team_id", "team_name", "email", "slack_channel", "on_call_rotation", "manager_name"]),
        "dim_region": pd.DataFrame(REGIONS, columns=["region_id", "region_name", "cloud", "cloud_region"]),
        "dim_log_level": pd.DataFrame(LOG_LEVELS, columns=["log_level", "severity_rank", "description", "is_alertable"]).astype({"severity_rank": "int32"}),
        "dim_priority": pd.DataFrame(PRIORITIES, columns=["priority_id", "priority_name", "description", "ack_target_minutes",
                                                          "resolve_target_minutes", "pages_on_call"]).astype({"ack_target_minutes": "int32", "resolve_target_minutes": "int32"}),
        "dim_status": s.status_frame(STATUSES),
        "dim_service": services,
        "ref_runbooks": runbooks,
        "ref_error_codes": codes,
        "ref_retention_policy": retention,
        "ref_maintenance_windows": _maintenance(start, end),
    }


def _maintenance(start: dt.date, end: dt.date) -> pd.DataFrame:
    rows = []
    for month in s.month_starts(start, end):
        # Second Tuesday of the month, 02:00-04:00 UTC: the platform patch window.
        first = pd.Timestamp(month)
        tuesday = first + pd.Timedelta(days=(1 - first.weekday()) % 7 + 7)
        status = "completed" if tuesday.date() <= end else "scheduled"
        rows.append((f"mw-{first:%Y%m}", None, "aws-us-east-1", "Monthly platform patching", tuesday + pd.Timedelta(hours=2),
                     tuesday + pd.Timedelta(hours=4), "monthly", "sre@retailer.example", status))
    upgrades = [("segment-studio", "Segment Studio major release"), ("feature-pipeline", "Spark runtime upgrade"),
                ("clickstream-ingest", "Kafka broker migration"), ("sql-warehouse-proxy", "Warehouse resize")]
    span = max((end - start).days, 1)
    for k, (service, title) in enumerate(upgrades):
        when = s.at(start, hours=22) + pd.Timedelta(days=int(span * (k + 1) / (len(upgrades) + 1)))
        rows.append((f"mw-adhoc-{k + 1:02d}", service, None, title, when, when + pd.Timedelta(hours=3), None,
                     "sre@retailer.example", "cancelled" if k == 2 else "completed"))
    return pd.DataFrame(rows, columns=["window_id", "service_id", "region_id", "title", "start_ts", "end_ts", "recurrence",
                                       "approved_by", "status"])


def generation_days(start: dt.date, end: dt.date) -> int:
    return max(7, min(45, (end - start).days // 8 or 7))


def instance_frame(start: dt.date, end: dt.date) -> pd.DataFrame:
    """Each deploy replaces a service's replicas; ids encode the deploy generation."""
    every = generation_days(start, end)
    generations = (end - start).days // every + 1
    rows = []
    for service, _, _, _, _, region, replicas, _ in SERVICES:
        for g in range(generations):
            launched = s.at(start) + pd.Timedelta(days=g * every)
            last = g == generations - 1
            for r in range(replicas):
                rows.append((f"{service}-g{g:03d}-r{r}", service, f"ip-10-{(g * 7) % 250}-{r}-{len(rows) % 250}.ec2.internal",
                             region, "prod", "m6i.xlarge" if replicas > 1 else "m6i.large", launched,
                             pd.NaT if last else launched + pd.Timedelta(days=every), "running" if last else "terminated"))
    return pd.DataFrame(rows, columns=["instance_id", "service_id", "host_name", "region_id", "environment", "instance_type",
                                       "launched_ts", "terminated_ts", "status"])


def service_of(code: str) -> str:
    """The service that raises an error code (codes are namespaced by service)."""
    return {"WH": "sql-warehouse-proxy", "EXP": "segment-export-worker", "ING": "pos-ingest", "PIPE": "feature-pipeline",
            "DQ": "dq-runner", "ID": "identity-resolution", "APP": "segment-studio"}[code.split("-")[0]]
