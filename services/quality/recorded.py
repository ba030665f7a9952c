"""Checks on a table as a whole: freshness, volume and reconciliation.

These judge a table by what it holds and what the pipeline recorded about it:
how old its newest data is (the contract's ``loaded_at`` column) against the SLA
in ``gov.ref_sla``, how many rows the previous build left (the ``row_count``
check's own stored results) and whether raw -> fact reconciled (``txn.audit_recon``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlglot import exp

from services import naming
from services.quality.specs import CheckSpec, Outcome
from services.sqlterms import column, equals
from services.warehouse import Warehouse

RECON = naming.fq("txn", "audit_recon")
SLA = naming.fq("gov", "ref_sla")
QUALITY = naming.fq("gov", "fact_data_quality")
BUILD_RUNS = naming.fq("app", "app_build_runs")


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


def newest(warehouse: Warehouse, loaded_at: tuple[str, str, str]) -> tuple[datetime, str] | None:
    """When the newest data ends, and how to say it: a timestamp, or a date counted to the end of its day."""
    source, table, name = loaded_at
    found = warehouse.scalar(exp.select(exp.Max(this=column(name))).from_(naming.fq(source, table)))
    if found is None or found != found:  # NULL, or NaT from an empty table
        return None
    if isinstance(found, datetime):
        ended = utc_naive(found)
        return ended, f"{ended:%Y-%m-%d %H:%M} UTC"
    return datetime.combine(found, time()) + timedelta(days=1), f"{found:%Y-%m-%d} (to the end of that day)"


def freshness(warehouse: Warehouse, spec: CheckSpec, ctx: Context) -> Outcome:
    """The data's age against the SLA: hours from the end of the newest data to the check.

    Not the time since the model last ran: rebuilding 35-day-old data leaves it 35 days old.
    """
    hours, sla_from = _sla_hours(warehouse, spec, ctx)
    if spec.loaded_at is None:
        raise ValueError(f"the freshness check of {spec.dataset_id} names no loaded_at column")
    name = spec.loaded_at[2]
    found = newest(warehouse, spec.loaded_at)
    if found is None:
        return Outcome(False, None, hours, f"no data: {name} has no value")
    ended, said = found
    age = (ctx.checked_ts - ended).total_seconds() / 3600
    passed = age <= hours
    return Outcome(passed, round(age, 2), hours,
                   f"newest {name} {said}, {describe_age(age)} before the check; "
                   f"SLA {hours:g} h ({sla_from})" + ("" if passed else ": stale"))


def describe_age(hours: float) -> str:
    """'5.2 h' under two days, '34.6 days' beyond: how a person says an age."""
    return f"{hours:.1f} h" if abs(hours) < 48 else f"{hours / 24:.1f} days"


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
