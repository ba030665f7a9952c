"""Demo rows for the governance source: scans, quality checks, issues, SLAs, certifications.

Checks, SLAs, issues and certifications point at the project's own datasets
through ``services.governance.registry.DATASET_IDS``, so the Data Quality page
can join them to ``dim_dataset`` once the pipeline has registered the project.
Failures cluster in a few bad episodes (a late source, a duplicate load), as
they do in real life, and each episode opens an issue.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd

from services.demo.platform import sampling as s
from services.demo.platform.gov_reference import POLICIES, reference_frames
from services.governance.registry import PIPELINE_DATASETS, dataset_id

# Only the tables the pipeline builds are scanned and checked upstream; the app's own
# cluster and lookalike tables are not (and adding them must not change the demo data).
# Checked every day (freshness and volume) and every week (keys, integrity).
DAILY = [dataset_id("txn", n) for n in ("fact_transactions", "fact_settlements", "fact_balance_snapshots")] + [
    d.dataset_id for d in PIPELINE_DATASETS if d.source == "gold"
]
WEEKLY = [d.dataset_id for d in PIPELINE_DATASETS if d.source in ("txn", "gold") and d.name.startswith(("fact_", "dim_", "gold_"))]
# Other sources' facts get a weekly freshness check only.
OTHER_FACTS = [d.dataset_id for d in PIPELINE_DATASETS if d.source in ("ingest", "ops", "cost") and d.name.startswith("fact_")]

# (check_name, check_type, severity, threshold, typical observed value, spread)
_CHECKS = {
    "freshness": ("freshness", "critical", 26.0, 8.0, 4.0),
    "row_count_change": ("volume", "warning", 30.0, 6.0, 5.0),
    "primary_key_unique": ("uniqueness", "critical", 0.0, 0.0, 0.0),
    "primary_key_not_null": ("completeness", "critical", 0.0, 0.0, 0.0),
    "foreign_keys_resolve": ("referential_integrity", "critical", 99.9, 100.0, 0.0),
}

_TEAM_BY_OWNER = {"own_customer_data": "rt_customer_data", "own_marketing_analytics": "rt_marketing_analytics", "own_finops": "rt_finops"}


def generate(rng: np.random.Generator, *, start: dt.date, end: dt.date, n_customers: int) -> dict[str, pd.DataFrame]:
    """Every governance table, keyed by schema-qualified name."""
    frames = reference_frames(start, end)
    frames.update(_catalog_scans(rng, start, end, n_customers))
    quality = _quality(rng, start, end)
    frames["fact_data_quality"] = quality
    frames["fact_issues"] = _issues(rng, quality, end)
    frames["ref_sla"] = _slas(start)
    certifications = _certifications(start, end)
    frames["stage_certifications"] = certifications
    frames["audit_certification"] = _certification_audit(certifications, end)
    frames["audit_policies"] = _policy_audit(rng, start, end)
    return s.keyed("gov", frames)


def _catalog_scans(rng: np.random.Generator, start: dt.date, end: dt.date, n_customers: int) -> dict[str, pd.DataFrame]:
    """A monthly scan of every project table, as emitted (JSON) and parsed."""
    months = s.month_starts(start, end)
    scans = months + np.timedelta64(1, "D")
    scans = scans[scans <= np.datetime64(end)]
    n_sets = len(PIPELINE_DATASETS)
    base_rows = rng.lognormal(np.log(max(n_customers, 100) * 2), 1.5, size=n_sets)
    growth = np.linspace(0.6, 1.0, max(len(scans), 1))
    rows = (base_rows[None, :] * growth[:, None]).astype("int64")
    size = rows * rng.integers(80, 600, size=n_sets)[None, :]
    scan_ts = np.repeat(scans.astype("datetime64[s]") + np.timedelta64(2 * 3600 + 15 * 60, "s"), n_sets)
    scan_ids = np.repeat(s.join("scan-", s.ymd(scans)), n_sets)
    sets = [PIPELINE_DATASETS[i] for i in np.tile(np.arange(n_sets), len(scans))]
    payload = [
        json.dumps({"table": f"main.{d.dataset_id}", "type": "MANAGED", "format": "DELTA", "owner": d.owner_id,
                    "numRows": int(r), "sizeInBytes": int(b)}, separators=(",", ":"))
        for d, r, b in zip(sets, rows.ravel(), size.ravel())
    ]
    stg = pd.DataFrame({"scan_id": scan_ids, "object_key": [f"main.{d.dataset_id}" for d in sets], "raw_payload": payload,
                        "scanned_ts": s.ts(scan_ts)})
    raw = pd.DataFrame({
        "raw_catalog_id": s.join(scan_ids, ":", np.tile(np.arange(1, n_sets + 1), len(scans))),
        "scan_id": scan_ids,
        "dataset_id": [d.dataset_id for d in sets],
        "table_type": "MANAGED",
        "data_format": "DELTA",
        "owner_principal": [d.owner_id for d in sets],
        "row_count": rows.ravel(),
        "size_bytes": size.ravel().astype("int64"),
        "last_altered_ts": s.ts(scan_ts - np.timedelta64(5, "h")),
        "parsed_ts": s.ts(scan_ts + np.timedelta64(10, "m")),
        "parse_status": "parsed",
    })
    return {"stg_catalog": stg, "raw_catalog": raw}


def _schedule(start: dt.date, end: dt.date) -> pd.DataFrame:
    day = s.days(start, end)
    weekly = day[(day.astype("int64") + 3) % 7 == 6]  # Sundays
    parts = [
        pd.DataFrame({"day": np.repeat(day, len(DAILY) * 2), "dataset_id": np.tile(np.repeat(DAILY, 2), len(day)),
                      "check_name": np.tile(["freshness", "row_count_change"] * len(DAILY), len(day))}),
        pd.DataFrame({"day": np.repeat(weekly, len(WEEKLY) * 3), "dataset_id": np.tile(np.repeat(WEEKLY, 3), len(weekly)),
                      "check_name": np.tile(["primary_key_unique", "primary_key_not_null", "foreign_keys_resolve"] * len(WEEKLY), len(weekly))}),
        pd.DataFrame({"day": np.repeat(weekly, len(OTHER_FACTS)), "dataset_id": np.tile(OTHER_FACTS, len(weekly)),
                      "check_name": "freshness"}),
    ]
    return pd.concat(parts, ignore_index=True).sort_values(["day", "dataset_id", "check_name"], ignore_index=True)


def _quality(rng: np.random.Generator, start: dt.date, end: dt.date) -> pd.DataFrame:
    plan = _schedule(start, end)
    n = len(plan)
    spec = plan["check_name"].map(_CHECKS)
    check_type = spec.str[0].to_numpy()
    severity = spec.str[1].to_numpy()
    threshold = spec.str[2].to_numpy(dtype=float)
    typical = spec.str[3].to_numpy(dtype=float)
    spread = spec.str[4].to_numpy(dtype=float)
    observed = np.abs(typical + rng.normal(0, 1, size=n) * spread)
    # Bad episodes: a dataset misbehaves for a few days in a row.
    day = plan["day"].to_numpy()
    bad = np.zeros(n, dtype=bool)
    days_all = s.days(start, end)
    targets = sorted(set(plan["dataset_id"]))
    for _ in range(max(3, len(days_all) // 45)):
        first = rng.choice(days_all)
        who = targets[int(rng.integers(len(targets)))]
        bad |= (plan["dataset_id"].to_numpy() == who) & (day >= first) & (day < first + np.timedelta64(int(rng.integers(1, 5)), "D"))
    bad |= rng.random(n) < 0.004
    name = plan["check_name"].to_numpy()
    observed = np.where(bad & (name == "freshness"), threshold + rng.gamma(2, 10, size=n), observed)
    observed = np.where(bad & (name == "row_count_change"), threshold + rng.gamma(2, 15, size=n), observed)
    observed = np.where(bad & np.isin(name, ("primary_key_unique", "primary_key_not_null")), rng.integers(1, 400, size=n), observed)
    observed = np.where(bad & (name == "foreign_keys_resolve"), 100 - rng.gamma(1.5, 0.3, size=n) - 0.1, observed)
    observed = np.where(name == "foreign_keys_resolve", np.minimum(observed, 100.0), observed)
    higher_is_worse = name != "foreign_keys_resolve"
    breach = np.where(higher_is_worse, observed > threshold, observed < threshold)
    status = np.where(breach, np.where(severity == "critical", "fail", "warn"), "pass")
    # The latest volume check on the category spend table is a warning, so the page has something current to show.
    latest = np.flatnonzero((plan["dataset_id"].to_numpy() == dataset_id("gold", "gold_customer_category_spend"))
                            & (name == "row_count_change"))
    if len(latest):
        observed[latest[-1]], status[latest[-1]] = 41.5, "warn"
    checked = s.times_on(rng, day, peak_hour=6.5, spread=0.4)
    details = np.select(
        [status == "pass", name == "freshness", name == "row_count_change", name == "foreign_keys_resolve"],
        ["within threshold", "last load older than SLA allows", "row count moved more than expected day on day",
         "fact rows point at missing dimension rows"],
        "key column has duplicates or nulls",
    )
    return pd.DataFrame({
        "dq_id": s.ids("dq", n, width=7),
        "dataset_id": plan["dataset_id"].to_numpy(),
        "check_name": name,
        "check_status": status,
        "checked_ts": s.ts(checked),
        "run_id": s.join("dq-", s.ymd(day)),
        "check_type": check_type,
        "severity": severity,
        "observed_value": np.round(observed.astype(float), 2),
        "threshold": threshold,
        "details": details,
        "source": "governance",
    })


def _issues(rng: np.random.Generator, quality: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """One issue per run of consecutive failures of a check; a few raised by hand."""
    failing = quality[quality["check_status"] != "pass"].sort_values(["dataset_id", "check_name", "checked_ts"])
    gap = failing.groupby(["dataset_id", "check_name"])["checked_ts"].diff() > pd.Timedelta(days=8)
    first = failing[gap | ~failing.duplicated(["dataset_id", "check_name"])]
    first = first[(first["check_status"] == "fail") | (rng.random(len(first)) < 0.3)]
    n = len(first)
    opened = first["checked_ts"].to_numpy() + np.timedelta64(20, "m")
    resolve_hours = rng.gamma(2.0, 30.0, size=n)
    resolved = s.after(opened, resolve_hours * 60)
    as_of = np.datetime64(end, "s") + np.timedelta64(86399, "s")
    done = resolved <= as_of
    owners = first["dataset_id"].map({d.dataset_id: d.owner_id for d in PIPELINE_DATASETS})
    issues = pd.DataFrame({
        "dataset_id": first["dataset_id"].to_numpy(),
        "title": (first["check_name"].str.replace("_", " ").str.capitalize() + " check failing").to_numpy(),
        "severity": np.where(first["severity"] == "critical", "high", "medium"),
        # Only warnings are ever accepted as they are; failures get fixed.
        "status": np.where(done, np.where((rng.random(n) < 0.3) & (first["severity"] != "critical").to_numpy(), "wont_fix", "resolved"),
                           np.where(rng.random(n) < 0.5, "open", "in_progress")),
        "opened_ts": s.ts(opened),
        "resolved_ts": s.ts(np.where(done, resolved, np.datetime64("NaT"))),
        "remediation_team_id": owners.map(_TEAM_BY_OWNER).fillna("rt_data_platform").to_numpy(),
        "description": first["details"].to_numpy(),
        "dq_id": first["dq_id"].to_numpy(),
    })
    manual = pd.DataFrame({
        "dataset_id": [dataset_id("txn", "dim_customer"), dataset_id("gold", "gold_customer_features"), dataset_id("cost", "fact_cost_usage")],
        "title": ["Loyalty tier missing for store-only customers", "Recency off by one day around DST change", "Untagged serverless spend"],
        "severity": ["medium", "low", "low"],
        "status": ["in_progress", "resolved", "open"],
        "opened_ts": [s.at(end - dt.timedelta(days=12), hours=10), s.at(end - dt.timedelta(days=200), hours=11), s.at(end - dt.timedelta(days=3), hours=16)],
        "resolved_ts": [pd.NaT, s.at(end - dt.timedelta(days=190), hours=9), pd.NaT],
        "remediation_team_id": ["rt_customer_data", "rt_marketing_analytics", "rt_finops"],
        "description": ["Reported by CRM marketers", "Reported by an analyst", "Raised by the monthly tagging control"],
        "dq_id": None,
    })
    frame = pd.concat([issues, manual], ignore_index=True).sort_values("opened_ts", ignore_index=True)
    frame.insert(0, "issue_id", s.ids("iss", len(frame), width=5))
    return frame


def _slas(start: dt.date) -> pd.DataFrame:
    """One SLA in force per checked dataset (effective_to stays null until it is replaced)."""
    checked = list(dict.fromkeys(WEEKLY + OTHER_FACTS))
    by_id = {d.dataset_id: d for d in PIPELINE_DATASETS}
    entries = [by_id[i] for i in checked]
    hours = [24 if d.name.startswith(("fact_", "gold_")) else (720 if d.name == "dim_time" else 48) for d in entries]
    return pd.DataFrame({
        "sla_id": s.ids("sla", len(entries), width=4),
        "dataset_id": checked,
        "freshness_hours": np.array(hours, dtype="int32"),
        "completeness_pct": [99.5 if d.name.startswith(("fact_", "gold_")) else 99.0 for d in entries],
        "owner_id": [d.owner_id for d in entries],
        "effective_from": start - dt.timedelta(days=90),
        "effective_to": None,
    })


def _certifications(start: dt.date, end: dt.date) -> pd.DataFrame:
    """Yearly certifications; the latest row per dataset is the one in force."""
    rows = []
    span = (end - start).days
    for k, ds_id in enumerate(WEEKLY):
        first = s.at(start + dt.timedelta(days=20 + 3 * k), hours=15)
        renewed = first + pd.Timedelta(days=min(365, max(span - 30, 1)))
        rows.append((ds_id, "data-governance@retailer.example", "expired", first, first + pd.Timedelta(days=365), "annual certification"))
        latest = "certified"
        if k == 2:
            latest = "pending"
        elif k == 5:
            latest = "revoked"
        rows.append((ds_id, None if latest == "pending" else "data-governance@retailer.example", latest,
                     None if latest == "pending" else renewed, None if latest == "pending" else renewed + pd.Timedelta(days=365),
                     {"certified": "renewed after review", "pending": "review requested",
                      "revoked": "revoked after repeated key failures"}[latest]))
    frame = pd.DataFrame(rows, columns=["dataset_id", "certified_by", "certification_status", "certified_ts", "expires_ts", "notes"])
    frame.insert(0, "certification_id", s.ids("cert", len(frame), width=4))
    frame[["certified_ts", "expires_ts"]] = frame[["certified_ts", "expires_ts"]].apply(pd.to_datetime)
    return frame


def _certification_audit(certs: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    actor = "data-governance@retailer.example"
    rows = []
    for cert in certs.itertuples(index=False):
        granted = cert.certified_ts
        requested = granted - pd.Timedelta(days=6) if pd.notna(granted) else s.at(end - dt.timedelta(days=4), hours=10)
        rows.append((cert.certification_id, "requested", actor, None, "pending", requested, None))
        if pd.isna(granted):
            continue
        rows.append((cert.certification_id, "certified", actor, "pending", "certified", granted, None))
        if cert.certification_status == "expired":
            rows.append((cert.certification_id, "expired", "certification-scheduler", "certified", "expired", cert.expires_ts, None))
        elif cert.certification_status == "revoked":
            rows.append((cert.certification_id, "revoked", actor, "certified", "revoked", granted + pd.Timedelta(days=40), cert.notes))
    frame = pd.DataFrame(rows, columns=["certification_id", "action", "actor", "previous_status", "new_status", "event_ts", "notes"])
    frame.insert(0, "audit_id", s.ids("caud", len(frame), width=5))
    return frame


def _policy_audit(rng: np.random.Generator, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Weekly evaluation of the active masking and access policies on every dataset with PII."""
    pii = [d.dataset_id for d in PIPELINE_DATASETS if d.contains_pii]
    policies = [p[0] for p in POLICIES if p[11] == "active" and p[2] in ("masking", "access")]
    day = s.days(start, end)
    weekly = day[(day.astype("int64") + 3) % 7 == 0]  # Mondays
    grid = pd.MultiIndex.from_product([weekly, policies, pii], names=["day", "policy_id", "dataset_id"]).to_frame(index=False)
    n = len(grid)
    violated = rng.random(n) < 0.01
    return pd.DataFrame({
        "audit_id": s.ids("paud", n),
        "policy_id": grid["policy_id"],
        "dataset_id": grid["dataset_id"],
        "action": "evaluated",
        "outcome": np.where(violated, "violated", "compliant"),
        "actor": "policy-engine",
        "event_ts": s.ts(grid["day"].to_numpy().astype("datetime64[s]") + np.timedelta64(5 * 3600, "s")),
        "details": np.where(violated, "a pii column had no mask attached; mask re-applied", None),
    })
