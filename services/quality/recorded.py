"""Checks read from the audit trail: freshness, volume and reconciliation.

These judge a table by what the pipeline recorded about it, not by its rows:
when the model that writes it last finished (``ingest.audit_transforms``), how
many rows the previous build left (the ``row_count`` check's own stored
results) and whether raw -> fact reconciled (``txn.audit_recon``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlglot import exp

from services import naming
from services.pipeline.models import MODELS
from services.quality.specs import CheckSpec, Outcome
from services.sqlterms import column, equals
from services.warehouse import Warehouse

TRANSFORMS = naming.fq("ingest", "audit_transforms")
RECON = naming.fq("txn", "audit_recon")
SLA = naming.fq("gov", "ref_sla")
QUALITY = naming.fq("gov", "fact_data_quality")
BUILD_RUNS = naming.fq("app", "app_build_runs")

# A skipped incremental model found nothing new to load: its table is as
# fresh as the run that skipped it.
UP_TO_DATE = ("succeeded", "skipped")


@dataclass(frozen=True)
class Context:
    """What every check of one ``run_checks`` call shares."""

    run_id: str
    checked_ts: datetime  # naive UTC, like every timestamp the warehouse stores


def utc_naive(ts: datetime) -> datetime:
    """The warehouse stores naive timestamps meaning UTC; DuckDB hands TIMESTAMPTZ back aware."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


def _model_of(spec: CheckSpec) -> str:
    target = naming.fq(spec.source, spec.table)
    for model in MODELS:
        if model.target_fq == target:
            return model.name
    raise ValueError(f"no pipeline model writes {target}; freshness cannot be checked")


def _sla_hours(warehouse: Warehouse, spec: CheckSpec, ctx: Context) -> tuple[float, str]:
    today = exp.cast(exp.Literal.string(ctx.checked_ts.date().isoformat()), "DATE")
    in_force = exp.and_(
        equals("dataset_id", spec.dataset_id),
        exp.LTE(this=column("effective_from"), expression=today),
        exp.or_(column("effective_to").is_(exp.null()), exp.GT(this=column("effective_to"), expression=today.copy())),
    )
    hours = warehouse.scalar(exp.select(column("freshness_hours")).from_(SLA).where(in_force)
                             .order_by(exp.Ordered(this=column("effective_from"), desc=True)).limit(1))
    if hours is None:
        return spec.default_freshness_hours, "default, no SLA in force in ref_sla"
    return float(hours), "ref_sla"


def freshness(warehouse: Warehouse, spec: CheckSpec, ctx: Context) -> Outcome:
    model = _model_of(spec)
    hours, sla_from = _sla_hours(warehouse, spec, ctx)
    finished = warehouse.scalar(
        exp.select(exp.Max(this=column("finished_ts"))).from_(TRANSFORMS)
        .where(exp.and_(equals("model_name", model), column("status").isin(*[exp.Literal.string(s) for s in UP_TO_DATE])))
    )
    if finished is None:
        return Outcome(False, None, hours, f"never built: no succeeded or skipped run of {model} in audit_transforms")
    finished = utc_naive(finished)
    age = (ctx.checked_ts - finished).total_seconds() / 3600
    passed = age <= hours
    return Outcome(passed, round(age, 2), hours,
                   f"{model} last finished {finished:%Y-%m-%d %H:%M} UTC, {age:.1f} h before the check; "
                   f"SLA {hours:g} h ({sla_from})" + ("" if passed else ": stale"))


def _row_count(warehouse: Warehouse, spec: CheckSpec) -> int:
    return int(warehouse.scalar(exp.select(exp.Count(this=exp.Star())).from_(naming.fq(spec.source, spec.table))))


def row_count(warehouse: Warehouse, spec: CheckSpec, ctx: Context) -> Outcome:
    # Stored every run so the next build's row_count_change has a baseline.
    rows = _row_count(warehouse, spec)
    return Outcome(rows >= 1, float(rows), 1.0, f"{rows} rows" if rows else "the table is empty")


def _previous_count(warehouse: Warehouse, spec: CheckSpec, ctx: Context) -> tuple[float, str] | None:
    succeeded = exp.select(column("run_id")).from_(BUILD_RUNS).where(equals("status", "succeeded"))
    found = warehouse.df(
        exp.select(column("observed_value"), column("run_id")).from_(QUALITY)
        .where(exp.and_(
            equals("dataset_id", spec.dataset_id), equals("check_name", "row_count"), equals("source", "app"),
            exp.NEQ(this=column("run_id"), expression=exp.Literal.string(ctx.run_id)),
            column("run_id").isin(query=succeeded),
            column("observed_value").is_(exp.null()).not_(),
        ))
        .order_by(exp.Ordered(this=column("checked_ts"), desc=True)).limit(1)
    )
    if found.empty:
        return None
    return float(found["observed_value"].iloc[0]), str(found["run_id"].iloc[0])


def row_count_change(warehouse: Warehouse, spec: CheckSpec, ctx: Context) -> Outcome:
    limit = spec.max_change_pct
    rows = _row_count(warehouse, spec)
    previous = _previous_count(warehouse, spec, ctx)
    if previous is None:
        return Outcome(True, None, limit, f"first build: no earlier row count to compare {rows} rows with")
    before, run = previous
    if before == 0:
        return Outcome(True, None, limit, f"{rows} rows; the previous build ({run}) left the table empty")
    change = (rows - before) / before * 100
    passed = abs(change) <= limit
    return Outcome(passed, round(abs(change), 2), limit,
                   f"{rows} rows vs {before:.0f} after build {run} ({change:+.1f}%, limit ±{limit:g}%)")


def reconciled(warehouse: Warehouse, spec: CheckSpec, ctx: Context) -> Outcome:
    # The run's own reconciliation when it recorded one; a checks-only run
    # (no pipeline) falls back to the latest one, which still vouches for the fact table.
    own_first = exp.Case().when(equals("run_id", ctx.run_id), exp.convert(0)).else_(exp.convert(1))
    found = warehouse.df(
        exp.select("run_id", "status", "source_rows", "target_rows", "message").from_(RECON)
        .where(equals("check_name", "raw_to_fact"))
        .order_by(own_first, exp.Ordered(this=column("checked_ts"), desc=True)).limit(1)
    )
    if found.empty:
        return Outcome(False, None, 0.0, "no raw -> fact reconciliation has been recorded")
    row = found.iloc[0]
    gap = abs(int(row["source_rows"]) - int(row["target_rows"]))
    whose = f"run {row['run_id']}" if row["run_id"] == ctx.run_id else \
        f"run {ctx.run_id} recorded none; latest is from run {row['run_id']}"
    return Outcome(row["status"] == "matched", float(gap), 0.0, f"{row['status']} ({whose}): {row['message']}")


EVALUATORS = {
    "freshness": freshness,
    "row_count": row_count,
    "row_count_change": row_count_change,
    "reconciled": reconciled,
}
