"""Demo rows for the ingest source: source systems, landing, parsing, audit.

Volumes come from ``fact_event_counts`` (daily counters per source system,
scaled by the customer base); ``audit_ingest`` reconciles the same daily
counts, so the monitoring pages tell one story. ``fact_raw_events`` keeps a
sample of events in detail, each standing for ``sample_rate`` events.
``stage_cdc`` is left empty: the transaction generator fills it with the
customer changes that drive the SCD type 2 customer dimension.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from services.demo.platform import sampling as s
from services.demo.platform.ingest_reference import (
    GEOS,
    SOURCE_SYSTEMS,
    reference_frames,
)
from services.naming import fq

_MODELS = (
    ("silver_customers_scd2", fq("txn", "dim_customer"), 0.002),
    ("silver_products", fq("txn", "dim_product"), 0.0005),
    ("silver_transactions", fq("txn", "fact_transactions"), 0.08),
    ("silver_settlements", fq("txn", "fact_settlements"), 0.06),
    ("silver_balance_snapshots", fq("txn", "fact_balance_snapshots"), 1.0),
    ("gold_customer_features", fq("gold", "gold_customer_features"), 0.8),
    ("gold_customer_category_spend", fq("gold", "gold_customer_category_spend"), 2.4),
)


def generate(rng: np.random.Generator, *, start: dt.date, end: dt.date, n_customers: int) -> dict[str, pd.DataFrame]:
    """Every ingest table, keyed by schema-qualified name."""
    created = s.at(start - dt.timedelta(days=900), hours=9)
    frames: dict[str, pd.DataFrame] = {}
    frames.update(reference_frames(created, start, end))
    counts = _event_counts(rng, start, end, n_customers)
    frames["fact_event_counts"] = counts
    frames.update(_records(rng, start, end, n_customers))
    frames.update(_file_imports(rng, start, end))
    audit = _audit_ingest(rng, counts)
    frames["audit_ingest"] = audit
    frames["stage_retries"] = _retries(rng, audit)
    frames["audit_transforms"] = _audit_transforms(rng, start, end, n_customers)
    frames["stage_cdc"] = _empty_cdc()
    return s.keyed("ingest", frames)


def _event_counts(rng: np.random.Generator, start: dt.date, end: dt.date, n_customers: int) -> pd.DataFrame:
    day = s.days(start, end)
    weekday = (day.astype("int64") + 3) % 7  # 0 = Monday
    month = day.astype("datetime64[M]").astype("int64") % 12 + 1
    # Weekends and the holiday quarter drive retail traffic.
    season = np.where(weekday >= 5, 1.25, 1.0) * np.where(np.isin(month, (11, 12)), 1.4, 1.0)
    growth = np.linspace(0.9, 1.15, len(day))
    parts = []
    for sys_id, *_, rate, _types in SOURCE_SYSTEMS:
        mean = rate * n_customers / 1000 * season * growth
        if sys_id == "contact_centre":
            mean = np.where(np.arange(len(day)) > len(day) * 0.85, mean, 0.0)
        events = rng.poisson(np.maximum(mean, 0.0))
        live = events > 0
        latency = rng.gamma(4.0, 60.0 if sys_id in ("web", "app") else 900.0, size=len(day))
        parts.append(pd.DataFrame({
            "source_system_id": sys_id,
            "event_date": s.dates(day[live]),
            "event_count": events[live].astype("int64"),
            "error_count": rng.binomial(events[live], 0.002).astype("int64"),
            "duplicate_count": rng.binomial(events[live], 0.004).astype("int64"),
            "bytes_received": (events[live] * rng.uniform(400, 2400)).astype("int64"),
            "avg_latency_ms": np.round(latency[live], 1),
            "p95_latency_ms": np.round(latency[live] * rng.uniform(2.2, 3.5, size=int(live.sum())), 1),
            "computed_ts": s.ts(day[live] + np.timedelta64(26, "h")),
        }))
    return pd.concat(parts, ignore_index=True)


def _records(rng: np.random.Generator, start: dt.date, end: dt.date, n_customers: int) -> dict[str, pd.DataFrame]:
    day = s.days(start, end)
    systems = [r for r in SOURCE_SYSTEMS if r[0] != "contact_centre"]
    weights = np.sqrt([r[7] for r in systems])
    n = 9 * len(day)
    sys_idx = rng.choice(len(systems), size=n, p=weights / weights.sum())
    sys_ids = np.array([r[0] for r in systems], dtype=object)[sys_idx]
    event_day = np.sort(rng.choice(day, size=n))
    event_ts = s.times_on(rng, event_day)
    day_text = s.ymd(event_day)
    record_key = s.join(sys_ids, "-", day_text, "-", np.char.zfill(np.arange(n).astype(str), 7))
    payload_hash = np.array(s.digest(record_key), dtype=object)
    type_pick = rng.random(n)
    event_type = np.empty(n, dtype=object)
    for k, system in enumerate(systems):
        mine = sys_idx == k
        event_type[mine] = np.asarray(system[8], dtype=object)[(type_pick[mine] * len(system[8])).astype(int)]
    batch = s.join("hist-", sys_ids, "-", day_text)
    rejected = rng.random(n) < 0.012
    records = pd.DataFrame({
        "record_key": record_key,
        "batch_id": batch,
        "source_system_id": sys_ids,
        "record_type": event_type,
        "payload_hash": payload_hash,
        "parsed_ts": s.ts(s.after(event_ts, rng.gamma(2.0, 20.0, size=n))),
        "status": np.where(rejected, "rejected", "parsed"),
        "schema_version_id": s.join(sys_ids, "-v2"),
    })
    # A few events arrive twice (at-least-once delivery) and point at the same record.
    dup = np.flatnonzero(rng.random(n) < 0.03)
    ev_idx = np.concatenate([np.arange(n), dup])
    ev_ts = np.concatenate([event_ts, s.after(event_ts[dup], rng.uniform(1, 30, size=len(dup)))])
    order = np.argsort(ev_ts, kind="stable")
    ev_idx, ev_ts = ev_idx[order], ev_ts[order]
    is_dup = np.concatenate([np.zeros(n, bool), np.ones(len(dup), bool)])[order]
    share = weights / weights.sum()
    sample_rate = {r[0]: max(1, round(r[7] * n_customers / 1000 / (9 * p))) for r, p in zip(systems, share)}
    events = pd.DataFrame({
        "event_id": s.ids("evt", len(ev_idx), width=7),
        "source_system_id": sys_ids[ev_idx],
        "record_key": record_key[ev_idx],
        "payload_hash": payload_hash[ev_idx],
        "event_ts": s.ts(ev_ts),
        "event_type": event_type[ev_idx],
        "environment_id": "prod",
        "payload_bytes": rng.integers(300, 4000, size=len(ev_idx)).astype("int64"),
        "latency_ms": rng.gamma(2.0, 400.0, size=len(ev_idx)).astype("int64"),
        "sample_rate": np.array([sample_rate[x] for x in sys_ids[ev_idx]], dtype="int64"),
        "is_duplicate": is_dup,
    })
    return {"raw_records": records, "fact_raw_events": events, "stage_enrichments": _enrichments(rng, records)}


def _enrichments(rng: np.random.Generator, records: pd.DataFrame) -> pd.DataFrame:
    kinds = {"pos": "store_geo", "web": "ip_geo", "app": "ip_geo", "crm": "email_domain", "payments": "currency_normalisation"}
    chosen = records[records["source_system_id"].isin(list(kinds)) & (records["status"] == "parsed")]
    chosen = chosen[rng.random(len(chosen)) < 0.5]
    n = len(chosen)
    kind = chosen["source_system_id"].map(kinds).to_numpy()
    geo_ids = np.array([f"{c.lower()}-{city.lower().replace(' ', '-')}" for c, _, _, city, *_ in GEOS], dtype=object)
    geo = geo_ids[rng.integers(len(geo_ids), size=n)]
    is_geo = np.isin(kind, ("store_geo", "ip_geo"))
    matched = rng.random(n) > 0.04
    inputs = np.where(kind == "store_geo", [f"store-{i:03d}" for i in rng.integers(1, 120, size=n)],
                      np.where(kind == "ip_geo", [f"203.0.113.{i}" for i in rng.integers(1, 255, size=n)],
                               np.where(kind == "email_domain", "example.com", "EUR")))
    outputs = np.where(is_geo, geo, np.where(kind == "email_domain", "consumer_webmail", "USD"))
    return pd.DataFrame({
        "enrichment_id": s.ids("enr", n, width=7),
        "record_key": chosen["record_key"].to_numpy(),
        "enrichment_type": kind,
        "input_value": inputs,
        "output_value": np.where(matched, outputs, None),
        "geo_id": np.where(is_geo & matched, geo, None),
        "status": np.where(matched, "enriched", "skipped"),
        "enriched_ts": chosen["parsed_ts"].to_numpy() + np.timedelta64(2, "m"),
    })


def _file_imports(rng: np.random.Generator, start: dt.date, end: dt.date) -> dict[str, pd.DataFrame]:
    """Monthly partner preference files: the raw lines, and the lines that failed to parse."""
    lines, errors = [], []
    for month in s.month_starts(start, end):
        landed = s.at(month, hours=5.5) + pd.Timedelta(days=2)
        if landed.date() > end:
            continue
        batch = f"hist-file_import-{landed:%Y%m%d}"
        source_file = f"partner_preferences_{landed:%Y%m}.csv"
        lines.append((batch, source_file, 1, "email,email_opt_in,sms_opt_in,updated_at", landed))
        for number in range(2, 2 + int(rng.integers(15, 30))):
            who = f"member{int(rng.integers(1, 10**6)):06d}@example.com"
            line = f"{who},{'YN'[int(rng.random() < 0.3)]},{'YN'[int(rng.random() < 0.6)]},{landed - pd.Timedelta(days=1):%Y-%m-%d}"
            broken = rng.random()
            if broken < 0.03:
                line, column, reason = line.replace(",Y,", ",yes please,", 1).replace(",N,", ",maybe,", 1), "email_opt_in", "not Y or N"
            elif broken < 0.05:
                line, column, reason = line.rsplit(",", 1)[0] + ",31/02/2025", "updated_at", "not a valid date"
            elif broken < 0.06:
                line, column, reason = line.rsplit(",", 2)[0], None, "expected 4 fields, found 2"
            else:
                column = reason = None
            lines.append((batch, source_file, number, line, landed))
            if reason:
                errors.append((batch, source_file, number, line, column, reason, landed + pd.Timedelta(minutes=7)))
    raw = pd.DataFrame(lines, columns=["batch_id", "source_file", "line_number", "raw_line", "landed_ts"])
    raw["line_number"] = raw["line_number"].astype("int64")
    raw["source_system_id"], raw["file_type_id"] = "file_import", "csv"
    err = pd.DataFrame(errors, columns=["batch_id", "source_file", "line_number", "raw_line", "column_name", "reason", "logged_ts"])
    err.insert(0, "error_id", s.ids("perr", len(err)))
    err["line_number"] = err["line_number"].astype("int64")
    err["source_system_id"] = "file_import"
    return {"stg_raw": raw, "ref_parsing_errors": err}


def _audit_ingest(rng: np.random.Generator, counts: pd.DataFrame) -> pd.DataFrame:
    main = counts[counts["source_system_id"].isin(["pos", "web", "app", "crm", "loyalty", "payments"])].reset_index(drop=True)
    n = len(main)
    outcome = rng.random(n)
    failed, mismatch = outcome < 0.006, (outcome >= 0.006) & (outcome < 0.02)
    source_rows = main["event_count"].to_numpy()
    target_rows = np.where(failed, 0, np.where(mismatch, source_rows - rng.integers(1, 40, size=n).clip(max=source_rows), source_rows))
    day = pd.to_datetime(main["event_date"])
    day_text = s.ymd(day.to_numpy())
    batch = s.join("hist-", main["source_system_id"].to_numpy(), "-", day_text)
    checksum = s.digest(s.join(batch, ":", source_rows))
    started = day + pd.Timedelta(hours=1) + pd.to_timedelta(rng.integers(0, 3600, size=n), unit="s")
    return pd.DataFrame({
        "audit_id": s.ids("aud", n, width=7),
        "run_id": s.join("hist-ingest-", day_text),
        "batch_id": batch,
        "source_table": s.join(main["source_system_id"].to_numpy(), "_prod.exports.daily_events"),
        "target_table": fq("ingest", "raw_records"),
        "source_rows": source_rows.astype("int64"),
        "target_rows": target_rows.astype("int64"),
        "source_checksum": checksum,
        "target_checksum": np.where(failed | mismatch, s.digest(s.join(batch, ":", target_rows)), checksum),
        "status": np.where(failed, "failed", np.where(mismatch, "mismatch", "matched")),
        "started_ts": started + pd.Timedelta(days=1),
        "finished_ts": started + pd.Timedelta(days=1) + pd.to_timedelta(rng.integers(30, 900, size=n), unit="s"),
        "message": np.where(failed, "source export not found at load time", np.where(mismatch, "row count differs after dedup", None)),
    })


def _retries(rng: np.random.Generator, audit: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for batch, finished in audit.loc[audit["status"] == "failed", ["batch_id", "finished_ts"]].itertuples(index=False):
        attempts = int(rng.integers(1, 4))
        for attempt in range(1, attempts + 1):
            scheduled = finished + pd.Timedelta(minutes=15 * 2 ** attempt)
            last = attempt == attempts
            status = ("succeeded" if rng.random() < 0.85 else "abandoned") if last else "failed"
            rows.append((batch, batch.split("-")[1], attempt, None if status == "succeeded" else "source export not found",
                         status, scheduled, scheduled + pd.Timedelta(seconds=40), None if last else finished + pd.Timedelta(minutes=15 * 2 ** (attempt + 1))))
    frame = pd.DataFrame(rows, columns=["batch_id", "source_system_id", "attempt_number", "error_message", "retry_status",
                                        "scheduled_ts", "attempted_ts", "next_retry_ts"])
    frame.insert(0, "retry_id", s.ids("rtry", len(frame)))
    frame["attempt_number"] = frame["attempt_number"].astype("int32")
    frame["next_retry_ts"] = pd.to_datetime(frame["next_retry_ts"])
    return frame


def _audit_transforms(rng: np.random.Generator, start: dt.date, end: dt.date, n_customers: int) -> pd.DataFrame:
    day = s.days(start, end)
    n_days, n_models = len(day), len(_MODELS)
    duration = rng.gamma(3.0, 9000.0, size=(n_days, n_models)).astype("int64")
    # Models run one after another with half a second between them.
    offset = np.cumsum(duration + 500, axis=1) - (duration + 500)
    started = day.astype("datetime64[ms]")[:, None] + np.timedelta64(3, "h") + offset.astype("timedelta64[ms]")
    failed_at = np.where(rng.random(n_days) < 0.01, rng.integers(0, n_models, size=n_days), n_models)[:, None]
    position = np.arange(n_models)[None, :]
    status = np.where(position < failed_at, "succeeded", np.where(position == failed_at, "failed", "skipped"))
    per_customer = np.array([m[2] for m in _MODELS])[None, :]
    written = np.where(status == "succeeded", n_customers * per_customer * rng.uniform(0.9, 1.1, size=(n_days, n_models)), 0)
    return pd.DataFrame({
        "audit_id": s.ids("xfm", n_days * n_models, width=7),
        "run_id": np.repeat(s.join("hist-run-", s.ymd(day)), n_models),
        "model_name": np.tile([m[0] for m in _MODELS], n_days),
        "target_table": np.tile([m[1] for m in _MODELS], n_days),
        "rows_written": written.ravel().astype("int64"),
        "started_ts": s.ts(started.ravel()),
        "finished_ts": s.ts((started + duration.astype("timedelta64[ms]")).ravel()),
        "duration_ms": duration.ravel(),
        "status": status.ravel(),
    })


def _empty_cdc() -> pd.DataFrame:
    columns = {
        "change_id": "object", "source_system_id": "object", "customer_id": "object", "op": "object",
        "change_ts": "datetime64[ns]", "first_name": "object", "last_name": "object", "email": "object",
        "phone": "object", "address_line": "object", "city": "object", "region": "object", "postal_code": "object",
        "country": "object", "birth_date": "object", "gender": "object", "loyalty_tier": "object",
        "email_opt_in": "bool", "sms_opt_in": "bool", "push_opt_in": "bool", "batch_id": "object",
        "landed_ts": "datetime64[ns]",
    }
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
