"""Demo rows for the ops source: services, instances, logs, alerts, incidents.

Incidents come first and leave a burst of error logs and alerts behind them,
so a page that lines up logs and incidents sees the same story. The landing
zone (``stg_ops_logs``, ``raw_ops``, ``stage_trimmed_logs``) holds only the
last 14 days, as the retention policy says; ``fact_logs`` keeps two years.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from services.demo.platform import sampling as s
from services.demo.platform.ops_reference import (
    ERROR_CODES,
    LANDING_DAYS,
    PRIORITIES,
    SERVICES,
    generation_days,
    instance_frame,
    reference_frames,
    service_of,
)
from services.naming import fq

_INFO = ("request served", "job step finished", "batch committed", "segment size computed", "cache refreshed",
         "checkpoint written", "export file uploaded", "heartbeat")
_WARN = ("slow query over 10s", "retrying request", "late-arriving batch", "cache miss storm", "high memory use")

def generate(rng: np.random.Generator, *, start: dt.date, end: dt.date, n_customers: int) -> dict[str, pd.DataFrame]:
    """Every ops table, keyed by schema-qualified name."""
    frames = reference_frames(start, end)
    instances = instance_frame(start, end)
    frames["dim_instance"] = instances
    incidents, metrics, alerts = _incidents(rng, start, end, n_customers)
    frames.update(stage_incidents=incidents, fact_incident_metrics=metrics, stage_alerts=alerts)
    logs = _logs(rng, start, end, instances, incidents)
    frames["fact_logs"] = logs
    frames.update(_landing(rng, logs, end))
    return s.keyed("ops", frames)


def _incidents(rng: np.random.Generator, start: dt.date, end: dt.date, n_customers: int):
    span = (end - start).days + 1
    n = max(4, int(span / 11))
    opened = np.sort(s.times_on(rng, rng.choice(s.days(start, end), size=n), peak_hour=13, spread=5))
    code_idx = rng.integers(len(ERROR_CODES), size=n)
    codes = [ERROR_CODES[i] for i in code_idx]
    priority = np.array([c[3] for c in codes], dtype=object)
    bump = rng.random(n)
    priority = np.where(bump < 0.05, "P1", np.where(bump > 0.9, "P4", priority))
    # The as-of day always has work in flight, so the pages show open incidents.
    opened[-2:] = [np.datetime64(end, "s") - np.timedelta64(30, "h"), np.datetime64(end, "s") + np.timedelta64(17, "h")]
    priority[-2:] = ["P3", "P2"]
    service = np.array([service_of(c[0]) for c in codes], dtype=object)
    targets = {p[0]: (p[3], p[4]) for p in PRIORITIES}
    ack_target = np.array([targets[p][0] for p in priority], dtype=float)
    res_target = np.array([targets[p][1] for p in priority], dtype=float)
    tta = np.round(ack_target * rng.gamma(2.0, 0.35, size=n), 1)
    ttr = np.round(res_target * rng.gamma(2.5, 0.3, size=n) + tta, 1)
    acked = s.after(opened, tta)
    resolved = s.after(opened, ttr)
    as_of = np.datetime64(end, "s") + np.timedelta64(86399, "s")
    still_open = resolved > as_of
    status = np.where(~still_open, "resolved", np.where(acked > as_of, "open", "investigating"))
    ids = s.ids("inc", n, width=5)
    incidents = pd.DataFrame({
        "incident_id": ids,
        "service_id": service,
        "title": [f"{c[1]} on {sv}" for c, sv in zip(codes, service)],
        "priority_id": priority,
        "status": status,
        "opened_ts": s.ts(opened),
        "acknowledged_ts": s.ts(np.where(acked > as_of, np.datetime64("NaT"), acked)),
        "resolved_ts": s.ts(np.where(still_open, np.datetime64("NaT"), resolved)),
        "root_cause": np.where(still_open, None, [c[5] for c in codes]),
        "runbook_id": ["rb-" + c[0].lower() for c in codes],
        "commander_team_id": np.where(priority == "P1", "team_sre", [{r[0]: r[4] for r in SERVICES}[sv] for sv in service]),
        "customer_impact": np.isin(priority, ("P1", "P2")),
    })
    # Each incident was raised by one to five alerts; other alerts fired and cleared on their own.
    per = rng.integers(1, 6, size=n)
    inc_idx = np.repeat(np.arange(n), per)
    triggered = s.after(opened[inc_idx], -rng.uniform(0, 20, size=len(inc_idx)))
    n_noise = int(span * 0.4)
    noise_code = rng.integers(len(ERROR_CODES), size=n_noise)
    noise_ts = s.times_on(rng, rng.choice(s.days(start, end), size=n_noise), spread=6)
    suppressed = rng.random(n_noise) < 0.2
    alert_codes = np.concatenate([code_idx[inc_idx], noise_code])
    alert_ts = np.concatenate([triggered, noise_ts])
    linked = np.concatenate([np.ones(len(inc_idx), bool), np.zeros(n_noise, bool)])
    ack = np.where(linked, np.concatenate([acked[inc_idx], noise_ts]), s.after(alert_ts, rng.gamma(2, 8, size=len(alert_ts))))
    res = np.where(linked, np.concatenate([resolved[inc_idx], noise_ts]), s.after(alert_ts, rng.gamma(2, 30, size=len(alert_ts))))
    alert_status = np.where(res <= as_of, "resolved", np.where(ack <= as_of, "acknowledged", "open"))
    alert_status = np.where(np.concatenate([np.zeros(len(inc_idx), bool), suppressed]), "suppressed", alert_status)
    order = np.argsort(alert_ts, kind="stable")
    alerts = pd.DataFrame({
        "alert_id": s.ids("alr", len(order)),
        "service_id": np.concatenate([service[inc_idx], np.array([service_of(ERROR_CODES[i][0]) for i in noise_code], dtype=object)])[order],
        "alert_name": np.array([f"{ERROR_CODES[i][1]} rate above threshold" for i in alert_codes], dtype=object)[order],
        "error_code": np.array([ERROR_CODES[i][0] for i in alert_codes], dtype=object)[order],
        "priority_id": np.concatenate([priority[inc_idx], np.array([ERROR_CODES[i][3] for i in noise_code], dtype=object)])[order],
        "status": alert_status[order],
        "triggered_ts": s.ts(alert_ts[order]),
        "acknowledged_ts": s.ts(np.where((ack <= as_of) & (alert_status != "suppressed"), ack, np.datetime64("NaT"))[order]),
        "resolved_ts": s.ts(np.where(res <= as_of, res, np.datetime64("NaT"))[order]),
        "incident_id": np.concatenate([np.asarray(ids, dtype=object)[inc_idx], np.full(n_noise, None, dtype=object)])[order],
    })
    breached = (tta > ack_target) | (ttr > res_target)
    impact_share = np.where(priority == "P1", 0.3, np.where(priority == "P2", 0.08, 0.0))
    metrics = pd.DataFrame({
        "incident_id": ids,
        "service_id": service,
        "priority_id": priority,
        "time_to_acknowledge_min": np.where(acked > as_of, np.nan, tta),
        "time_to_resolve_min": np.where(still_open, np.nan, ttr),
        "alerts_count": per.astype("int32"),
        "affected_customers": np.round(impact_share * n_customers * rng.uniform(0.2, 1.0, size=n)).astype("int64"),
        "sla_breached": breached & ~still_open,
        "computed_ts": s.ts(np.minimum(resolved + np.timedelta64(1, "h"), as_of)),
    })
    return incidents, metrics, alerts


def _logs(rng: np.random.Generator, start: dt.date, end: dt.date, instances: pd.DataFrame, incidents: pd.DataFrame) -> pd.DataFrame:
    day = s.days(start, end)
    n_base = 22 * len(day)
    weights = np.array([sv[7] for sv in SERVICES])
    svc = rng.choice(len(SERVICES), size=n_base, p=weights / weights.sum())
    when = s.times_on(rng, rng.choice(day, size=n_base), spread=6)
    level = s.pick(rng, ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"], n_base, p=[0.02, 0.6, 0.26, 0.118, 0.002])
    # Each incident leaves a burst of error lines on its service in the hour before it opened.
    svc_index = {sv[0]: k for k, sv in enumerate(SERVICES)}
    burst = rng.integers(5, 25, size=len(incidents))
    b_idx = np.repeat(np.arange(len(incidents)), burst)
    b_when = np.maximum(s.after(incidents["opened_ts"].to_numpy()[b_idx], -rng.uniform(0, 60, size=len(b_idx))),
                        np.datetime64(start, "s"))
    b_code = incidents["runbook_id"].str.removeprefix("rb-").str.upper().to_numpy()[b_idx]
    svc = np.concatenate([svc, incidents["service_id"].map(svc_index).to_numpy()[b_idx]])
    when = np.concatenate([when, b_when])
    level = np.concatenate([level, np.where(rng.random(len(b_idx)) < 0.05, "FATAL", "ERROR")])
    n = len(svc)
    codes_by_service = {k: [c[0] for c in ERROR_CODES if service_of(c[0]) == sv[0]] or ["PIPE-500"] for k, sv in enumerate(SERVICES)}
    code = np.array([codes_by_service[k][i % len(codes_by_service[k])] for k, i in zip(svc, rng.integers(0, 99, size=n))], dtype=object)
    code[n_base:] = b_code
    is_error = np.isin(level, ("ERROR", "FATAL"))
    code = np.where(is_error, code, None)
    messages = np.where(level == "WARN", s.pick(rng, _WARN, n), s.pick(rng, _INFO, n))
    message_for = {c[0]: c[5] for c in ERROR_CODES}
    messages = np.where(is_error, [message_for.get(c, "") for c in code], messages)
    every = generation_days(start, end)
    generation = np.clip(((when - np.datetime64(s.at(start))) // np.timedelta64(every, "D")).astype(int), 0, None)
    max_gen = (end - start).days // every
    generation = np.minimum(generation, max_gen)
    replicas = np.array([SERVICES[k][6] for k in svc])
    service_ids = np.array([sv[0] for sv in SERVICES], dtype=object)[svc]
    instance = s.join(service_ids, "-g", np.char.zfill(generation.astype(str), 3), "-r", rng.integers(0, 99, size=n) % replicas)
    order = np.argsort(when, kind="stable")
    region = dict(zip(instances["instance_id"], instances["region_id"]))
    return pd.DataFrame({
        "log_id": s.ids("log", n, width=7),
        "service_id": service_ids[order],
        "instance_id": instance[order],
        "log_level": level[order],
        "message_ts": s.ts(when[order]),
        "message": messages[order],
        "error_code": code[order],
        "trace_id": s.digest(np.arange(n), length=16),
        "duration_ms": rng.gamma(1.5, 300, size=n).astype("int64"),
        "region_id": [region[i] for i in instance[order]],
    })


def _landing(rng: np.random.Generator, logs: pd.DataFrame, end: dt.date) -> dict[str, pd.DataFrame]:
    """The last days of log files as shipped, parsed and trimmed; and audits of every day's load."""
    log_day = logs["message_ts"].dt.floor("D")
    batch = s.join("logs-", logs["service_id"].to_numpy(), "-", s.ymd(log_day.to_numpy()))
    recent = (log_day >= pd.Timestamp(end) - pd.Timedelta(days=LANDING_DAYS - 1)).to_numpy()
    lines = logs[recent].copy()
    lines["batch_id"] = batch[recent]
    lines["line_number"] = lines.groupby("batch_id").cumcount().astype("int64") + 1
    text = (lines["message_ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ") + " " + lines["log_level"] + " [" + lines["service_id"] + "] "
            + lines["instance_id"] + " " + lines["message"])
    garbled = rng.random(len(lines)) < 0.004
    text = np.where(garbled, text.str.slice(0, 17) + "\x00\x00<truncated>", text)
    source_file = s.join("s3://ops-logs/", lines["service_id"].to_numpy(), "/", s.ymd(lines["message_ts"].to_numpy()), ".log.gz")
    landed = lines["message_ts"].dt.floor("D") + pd.Timedelta(hours=25)
    stg = pd.DataFrame({"batch_id": lines["batch_id"], "source_file": source_file, "line_number": lines["line_number"],
                        "raw_line": text, "landed_ts": landed})
    raw = pd.DataFrame({
        "raw_id": s.join(lines["batch_id"].to_numpy(), "-", lines["line_number"].to_numpy()),
        "batch_id": lines["batch_id"].to_numpy(),
        "line_number": lines["line_number"].to_numpy(),
        "host_name": np.where(garbled, None, lines["instance_id"]),
        "service_name": np.where(garbled, None, lines["service_id"]),
        "level_text": np.where(garbled, None, lines["log_level"]),
        "message": np.where(garbled, None, lines["message"]),
        "message_ts": lines["message_ts"].where(~garbled).to_numpy(),
        "parse_status": np.where(garbled, "unparseable", "parsed"),
        "parsed_ts": (landed + pd.Timedelta(minutes=12)).to_numpy(),
    })
    keep = ~garbled & (lines["log_level"] != "DEBUG").to_numpy()
    original = lines["message"].str.len().to_numpy()[keep] + 60
    trimmed = pd.DataFrame({
        "trimmed_log_id": s.join("trim-", raw["raw_id"].to_numpy()[keep]),
        "raw_id": raw["raw_id"].to_numpy()[keep],
        "service_id": lines["service_id"].to_numpy()[keep],
        "log_level": lines["log_level"].to_numpy()[keep],
        "message_ts": lines["message_ts"].to_numpy()[keep],
        "message_trimmed": lines["message"].to_numpy()[keep],
        "original_length": original.astype("int32"),
        "trimmed_length": lines["message"].str.len().to_numpy()[keep].astype("int32"),
        "trim_reason": "prefix_and_host_dropped",
    })
    return {"stg_ops_logs": stg, "raw_ops": raw, "stage_trimmed_logs": trimmed, **_audits(rng, logs, batch, log_day)}


def _audits(rng: np.random.Generator, logs: pd.DataFrame, batch: np.ndarray, log_day: pd.Series) -> dict[str, pd.DataFrame]:
    per_batch = pd.DataFrame({"batch_id": batch, "day": log_day, "service_id": logs["service_id"]}).groupby(
        ["batch_id", "day", "service_id"], as_index=False).size()
    rejected = rng.binomial(per_batch["size"].to_numpy(), 0.004)
    n = len(per_batch)
    started = per_batch["day"] + pd.Timedelta(hours=25, minutes=5)
    checksum = s.digest(s.join(per_batch["batch_id"].to_numpy(), ":", per_batch["size"].to_numpy()))
    ingest = pd.DataFrame({
        "audit_id": s.ids("oaud", n),
        "batch_id": per_batch["batch_id"],
        "source_file": s.join("s3://ops-logs/", per_batch["service_id"].to_numpy(), "/", s.ymd(per_batch["day"].to_numpy()), ".log.gz"),
        "source_rows": (per_batch["size"] + rejected).astype("int64"),
        "target_rows": per_batch["size"].astype("int64"),
        "rejected_rows": rejected.astype("int64"),
        "source_checksum": checksum,
        "target_checksum": checksum,
        "status": "matched",
        "started_ts": started,
        "finished_ts": started + pd.to_timedelta(rng.integers(5, 120, size=n), unit="s"),
    })
    daily = ingest.groupby(ingest["started_ts"].dt.floor("D"))["target_rows"].sum()
    recon_day = (daily.index - pd.Timedelta(days=1)).to_numpy()
    counts = daily.to_numpy()
    # Some nights the check ran before fact_logs finished loading; a re-check an hour later matched.
    late = rng.random(len(daily)) < 0.015
    first_count = np.where(late, counts - rng.integers(1, 6, size=len(daily)).clip(max=counts), counts)
    checked = recon_day + np.timedelta64(27, "h")
    recon = pd.DataFrame({
        "recon_date": np.concatenate([recon_day, recon_day[late]]),
        "source_count": np.concatenate([counts, counts[late]]).astype("int64"),
        "target_count": np.concatenate([first_count, counts[late]]).astype("int64"),
        "checked_ts": np.concatenate([checked, checked[late] + np.timedelta64(1, "h")]),
    }).sort_values(["recon_date", "checked_ts"], ignore_index=True)
    recon.insert(0, "recon_id", s.ids("orec", len(recon)))
    recon["recon_date"] = s.dates(recon["recon_date"])
    recon.insert(2, "source_table", fq("ops", "raw_ops"))
    recon.insert(3, "target_table", fq("ops", "fact_logs"))
    recon["difference"] = recon["source_count"] - recon["target_count"]
    recon["status"] = np.where(recon["difference"] == 0, "matched", "mismatch")
    return {"audit_ops_ingest": ingest, "audit_recon": recon}
