"""Build the warehouse: create tables, land demo data when empty, run the models.

Order: DDL -> (demo data, only into an empty warehouse) -> silver models and
the incremental gold_customer_activity -> reconciliation (a mismatch stops the
build) -> the other gold models -> export identifier cache -> governance
registration -> data-quality checks -> the feature catalog (it carries the
checks' verdict on each field) -> build record. The landing zone (stg_*) is only ever appended
to and never rewritten. Silver models are incremental by landed batch (see
``services.pipeline.models``); the other gold models are recomputed on every
build because every relative window moves with the as-of date.

A build killed anywhere leaves the old state or the new one: the demo data lands
in one transaction; a first build of a DuckDB file is built beside it and moved
into place whole (``build_new``); in place, each model's write is one
transaction that records the batches it took in, so the next build resumes and
reconciles the batches it actually took in; a run reads as succeeded only after
its quality checks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from sqlglot import exp

from services import checkpoints, clock, naming, sqlfiles
from services.demo import generate
from services.demo.calendar import DEMO_END
from services.errors import SegmentStudioError, SpecError, WarehouseError
from services.exports import identifiers
from services.governance.registry import registration_rows
from services.pipeline import reconcile
from services.pipeline.models import MODELS, Model, create_all, materialise
from services.pipeline.rejections import record_rejected_postings
from services.pipeline.statements import BATCHES_TABLE
from services.quality.checks import CheckResult, run_checks
from services.segments.campaigns import install_samples
from services.segments.catalog_writer import write_catalog
from services.sqlterms import column, equals, literal, timestamp_literal
from services.warehouse import Rows, Warehouse, count_rows
from services.warehouse.duckdb_engine import DuckDBWarehouse

Progress = Callable[[str, float], None]

# Incremental models (merged or appended by landed batch) run with silver, in MODELS order; the
# gold models recomputed on every build run after reconciliation.
GOLD = tuple(m for m in MODELS if m.source == "gold" and m.materialisation == "full")
SILVER = tuple(m for m in MODELS if m not in GOLD)
STG_TRANSACTIONS = naming.fq("txn", "stg_transactions")


@dataclass(frozen=True)
class BuildResult:
    run_id: str
    as_of_date: date | None
    customers: int
    transactions: int
    gold_rows: int
    seconds: float
    #: seconds per model, and for the export identifier refresh ("export_identifiers")
    model_seconds: dict[str, float]
    generated: bool


def is_empty(warehouse: Warehouse) -> bool:
    """True when nothing has ever been landed (no transactions, no customer feed)."""
    return count_rows(warehouse, STG_TRANSACTIONS) == 0 and count_rows(warehouse, naming.fq("ingest", "stage_cdc")) == 0


def load_demo(warehouse: Warehouse, *, customers: int, seed: int, demo_end: date = DEMO_END,
              progress: Progress | None = None) -> dict[str, int]:
    """Generate the demo (two years ending on ``demo_end``), as if it arrived just now, and land
    every table of it in one transaction: a warehouse is empty or holds all of it (a half-loaded
    one could never be built: no rates, no gold)."""
    say = progress or (lambda step, fraction: None)
    tables = generate(customers_count=customers, seed=seed, end=demo_end, landed_by=clock.now(),
                      progress=lambda step, f: say(f"generating {step}", 0.4 * f))
    say("loading the demo data", 0.45)
    with checkpoints.during("demo.loading"):
        warehouse.transaction([Rows(name, rows) for name, rows in tables.items()])
    return {name: len(rows) for name, rows in tables.items()}


def build_new(path: Path, *, customers: int = 50_000, seed: int = 42, demo_end: date = DEMO_END,
              as_of: date | None = None, progress: Progress | None = None) -> BuildResult:
    """The first build of a DuckDB warehouse file: built in a file beside it and moved into place
    (``os.replace``) only once complete, so a build killed anywhere leaves no warehouse at ``path``,
    never a half-built one. What a killed build left beside it is cleared first."""
    path = Path(path)
    if path.exists():
        raise WarehouseError(f"{path.name} exists already: build it in place")
    aside = path.with_name(path.name + ".building")
    for leftover in (aside, aside.with_name(aside.name + ".wal")):
        leftover.unlink(missing_ok=True)
    warehouse = DuckDBWarehouse(aside)
    try:
        result = build(warehouse, customers=customers, seed=seed, demo_end=demo_end, as_of=as_of, progress=progress)
        checkpoints.reached("build.finished")
    finally:
        warehouse.close()  # checkpoints the WAL into the file
    with open(aside, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(aside, path)
    return result


def _check_exchange_rates(warehouse: Warehouse) -> None:
    missing = warehouse.df(sqlfiles.render(sqlfiles.query("reconcile/missing_exchange_rates.sql"), warehouse.dialect))
    if len(missing):
        first = missing.iloc[0]
        raise WarehouseError(
            f"{int(missing['transactions'].sum())} transactions cannot be converted to USD: no exchange rate "
            f"for {first['currency']} on or before {first['first_posted_date']}. Load rates for these "
            f"currencies into {naming.fq('txn', 'ref_exchange_rates')} and build again."
        )


def _check_as_of(warehouse: Warehouse, as_of: date | None) -> None:
    """An as-of date no later than the last load day: measured from a day no data has reached, every
    relative window would age every customer."""
    if as_of is None:
        return
    last = warehouse.scalar(exp.select(exp.func("MAX", exp.cast(exp.column("landed_ts"), "DATE"))).from_(STG_TRANSACTIONS))
    last = last.date() if hasattr(last, "date") else last
    if last is not None and as_of > last:
        raise SpecError(f"the as-of date {as_of} is after the last load day ({last}): give a day on or before it")


def _record_run(warehouse: Warehouse, run_id: str, **values) -> None:
    table = naming.fq("app", "app_build_runs")
    # Replaced in one transaction: a kill in between must not lose the run's row.
    warehouse.transaction([(exp.delete(table, where=exp.column("run_id").eq(exp.Literal.string(run_id))), None),
                           Rows(table, pd.DataFrame([{"run_id": run_id, "engine": warehouse.engine, **values}]))])


def _run_model(warehouse: Warehouse, model: Model, run_id: str, params: dict, timings: dict, *,
               full_refresh: bool, changed: dict[str, tuple[str, ...] | None]) -> int:
    started = clock.now()
    t0 = time.perf_counter()
    result = materialise(warehouse, model, params, run_id=run_id, full_refresh=full_refresh,
                         upstream_changed=_upstream_needs_rebuild(warehouse, model, changed))
    timings[model.name] = time.perf_counter() - t0
    if result.changed:
        # None: rebuilt from everything landed; otherwise the batches it took in (with any an
        # unfinished build left, see _left_by_unfinished_builds).
        before = changed.get(model.name, ())
        changed[model.name] = (None if result.how == "full" or before is None
                               else tuple(dict.fromkeys((*before, *result.batches))))
    warehouse.append(naming.fq("ingest", "audit_transforms"), pd.DataFrame([{
        "audit_id": clock.new_id("trf"), "run_id": run_id, "model_name": model.name,
        "target_table": model.target_fq, "rows_written": result.rows if result.changed else 0, "started_ts": started,
        "finished_ts": clock.now(), "duration_ms": int(timings[model.name] * 1000),
        "status": "succeeded" if result.changed else "skipped",
    }]))
    return result.rows


def _left_by_unfinished_builds(warehouse: Warehouse, run_id: str) -> dict[str, tuple[str, ...]]:
    """Batches that builds since the last successful one recorded, by model.

    A build that stopped part way (failed, or its process killed) recorded the
    batches of the models it finished and never ran the ones after them. This
    build takes those batches as changed, so the models downstream of them
    (dim_customer) and the reconciliation still see them: a build repairs
    whatever an interrupted one left (services/pipeline/models.py).
    """
    runs = naming.fq("app", "app_build_runs")
    last_success = exp.select(exp.func("MAX", column("started_ts"))).from_(runs).where(equals("status", "succeeded"))
    unfinished = exp.select(column("run_id")).from_(runs).where(exp.and_(
        exp.NEQ(this=column("status"), expression=literal("succeeded")),
        exp.NEQ(this=column("run_id"), expression=literal(run_id)),
        exp.GT(this=column("started_ts"), expression=exp.func(
            "COALESCE", last_success.subquery(), timestamp_literal(datetime(1900, 1, 1))))))
    left = warehouse.arrow(exp.select(column("model_name"), column("batch_id")).from_(BATCHES_TABLE)
                           .where(column("run_id").isin(query=unfinished))
                           .order_by(column("model_name"), column("batch_id")))
    found: dict[str, tuple[str, ...]] = {}
    for row in left.to_pylist():
        found[row["model_name"]] = (*found.get(row["model_name"], ()), row["batch_id"])
    return found


def _upstream_needs_rebuild(warehouse: Warehouse, model: Model, changed: dict[str, tuple[str, ...] | None]) -> bool:
    """Whether an upstream change affects an ``on_new_batches`` model.

    dim_customer depends on the facts only for customers that have no CDC
    record yet; new transactions of known customers leave it as it is.
    """
    touched = [name for name in model.upstream if name in changed]
    if not touched:
        return False
    if model.name != "silver_dim_customer":
        return True
    batches = changed.get("silver_raw_transactions", ())
    if not batches:
        return True
    raw, dim = naming.fq("txn", "raw_transactions"), naming.fq("txn", "dim_customer")
    unknown = (
        exp.select(exp.func("COUNT", exp.Star())).from_(exp.to_table(raw).as_("r"))
        .where(exp.and_(
            exp.column("batch_id", table="r").isin(*[exp.Literal.string(b) for b in batches]),
            exp.column("customer_id", table="r").isin(
                query=exp.select("customer_id").from_(dim)).not_(),
        ))
    )
    return int(warehouse.scalar(unknown)) > 0


def _reconciled_batches(changed: dict[str, tuple[str, ...] | None]) -> list[str] | None:
    """The batches this run took into raw or into the facts (None: everything, a model was rebuilt whole).

    After a build killed between the two, raw has nothing new but the facts take in what raw took
    in then: those are the batches to compare, not none.
    """
    taken = [changed.get(name, ()) for name in ("silver_raw_transactions", "silver_fact_transactions")]
    if any(batches is None for batches in taken):
        return None
    return sorted({batch for batches in taken for batch in batches})


def register_datasets(warehouse: Warehouse, *, registered_ts) -> None:
    """Register the project's datasets and PII columns in the governance catalog.

    The project's own rows are replaced (deleted by dataset_id, then inserted),
    so a rebuild refreshes them without touching datasets registered by others.
    """
    for table, rows in registration_rows(registered_ts=registered_ts).items():
        ids = sorted(set(rows["dataset_id"]))
        delete = exp.delete(table, where=exp.column("dataset_id").isin(*ids))
        # Replaced in one transaction: a build killed in between must not leave the datasets unregistered.
        warehouse.transaction([(delete, None), Rows(table, rows)])


def check_and_catalog(warehouse: Warehouse, *, run_id: str, checked_ts: datetime | None = None) -> list[CheckResult]:
    """Run the data-quality checks, then write the feature catalog, which carries their verdict on each field."""
    results = run_checks(warehouse, run_id=run_id, checked_ts=checked_ts)
    write_catalog(warehouse, checks=results, build_id=run_id)
    return results


def run_pipeline(warehouse: Warehouse, *, run_id: str | None = None, as_of: date | None = None,
                 progress: Progress | None = None, full_refresh: bool = False) -> BuildResult:
    """Re-derive silver and gold from the landing zone; audit and reconcile."""
    say = progress or (lambda step, fraction: None)
    _check_as_of(warehouse, as_of)
    run_id = run_id or clock.new_id("run")
    started = clock.now()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    params = {"as_of_date": as_of}
    changed: dict[str, tuple[str, ...] | None] = dict(_left_by_unfinished_builds(warehouse, run_id))
    _record_run(warehouse, run_id, started_ts=started, status="running")
    try:
        for i, model in enumerate(SILVER):
            say(f"building {model.target}", 0.5 + 0.25 * i / len(MODELS))
            if model.target == "fact_transactions":
                # Postings after their load day stay out of the facts; listed where rejected input is.
                record_rejected_postings(warehouse, logged_ts=clock.now())
                if "silver_raw_transactions" in changed or full_refresh:
                    _check_exchange_rates(warehouse)
            _run_model(warehouse, model, run_id, params, timings, full_refresh=full_refresh, changed=changed)
            checkpoints.reached("build.silver")
        if {"silver_raw_transactions", "silver_fact_transactions"} & changed.keys() or full_refresh:
            # Nothing landed means nothing to reconcile: the last audit rows still hold.
            say("reconciling raw -> fact", 0.75)
            reconcile.reconcile(warehouse, run_id, batches=None if full_refresh else _reconciled_batches(changed))
        gold_rows = 0
        for model in GOLD:
            say(f"building {model.target}", 0.8)
            rows = _run_model(warehouse, model, run_id, params, timings, full_refresh=full_refresh, changed=changed)
            if model.target == "gold_customer_features":
                gold_rows = rows
            checkpoints.reached("build.gold")
        say("normalising contact identifiers for exports", 0.9)
        t_identifiers = time.perf_counter()
        identifiers.refresh(warehouse)
        timings["export_identifiers"] = time.perf_counter() - t_identifiers
        say("registering datasets", 0.95)
        register_datasets(warehouse, registered_ts=clock.now())
    except SegmentStudioError as exc:
        _record_run(warehouse, run_id, started_ts=started, finished_ts=clock.now(), status="failed",
                    reconciled=False, message=str(exc)[:1000])
        raise
    features = naming.fq("gold", "gold_customer_features")
    as_of_date = warehouse.scalar(exp.select(exp.func("MAX", exp.column("as_of_date"))).from_(features))
    customers = count_rows(warehouse, naming.fq("txn", "dim_customer"),
                           where=exp.EQ(this=exp.column("is_current"), expression=exp.true()))
    transactions = count_rows(warehouse, naming.fq("txn", "fact_transactions"))
    record = dict(started_ts=started, status="succeeded", as_of_date=as_of_date, customers=customers,
                  transactions=transactions, gold_rows=gold_rows, reconciled=True)
    # Still running: a build killed during its checks must not read as succeeded.
    _record_run(warehouse, run_id, finished_ts=None, message="built; checking data quality",
                **{**record, "status": "running"})
    say("running data-quality checks", 0.97)
    checkpoints.reached("build.checks")
    try:
        results = check_and_catalog(warehouse, run_id=run_id)
    except SegmentStudioError as exc:
        _record_run(warehouse, run_id, **{**record, "status": "failed"}, finished_ts=clock.now(),
                    message=str(exc)[:1000])
        raise
    failing = sum(1 for r in results if not r.passed)
    seconds = time.perf_counter() - t0
    _record_run(warehouse, run_id, finished_ts=clock.now(), **record,
                message=f"built in {seconds:.1f} s; {len(results) - failing} of {len(results)} quality checks pass")
    say("done", 1.0)
    return BuildResult(run_id, as_of_date, customers, transactions, gold_rows, seconds, timings, False)


def build(warehouse: Warehouse, *, customers: int = 50_000, seed: int = 42, demo_end: date = DEMO_END,
          as_of: date | None = None, progress: Progress | None = None, full_refresh: bool = False) -> BuildResult:
    """Create tables, generate demo data (ending on ``demo_end``) if the warehouse is empty, run the pipeline."""
    create_all(warehouse)
    generated = False
    if is_empty(warehouse):
        load_demo(warehouse, customers=customers, seed=seed, demo_end=demo_end, progress=progress)
        generated = True
    result = run_pipeline(warehouse, as_of=as_of, progress=progress, full_refresh=full_refresh)
    install_samples(warehouse)
    return BuildResult(**{**result.__dict__, "generated": generated})
