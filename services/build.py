"""Build the warehouse: create tables, land demo data when empty, run the models.

Order: DDL -> (demo data, only into an empty warehouse) -> silver models and
the incremental gold_customer_activity -> reconciliation (a mismatch stops the
build) -> the other gold models -> export identifier cache -> governance
registration -> data-quality checks -> the feature catalog (it carries the
checks' verdict on each field) -> build record. The landing zone (stg_*) is only ever appended
to and never rewritten. Silver models are incremental by landed batch (see
``services.pipeline.models``); the other gold models are recomputed on every
build because every relative window moves with the as-of date.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlglot import exp

from services import clock, naming, sqlfiles
from services.demo import generate
from services.errors import SegmentStudioError, WarehouseError
from services.exports import identifiers
from services.governance.registry import registration_rows
from services.pipeline import reconcile
from services.pipeline.models import MODELS, Model, create_all, materialise
from services.quality.checks import CheckResult, run_checks
from services.segments.campaigns import install_samples
from services.segments.catalog_writer import write_catalog
from services.warehouse import Warehouse, count_rows

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


def load_demo(warehouse: Warehouse, *, customers: int, seed: int, progress: Progress | None = None) -> dict[str, int]:
    say = progress or (lambda step, fraction: None)
    counts = {}
    tables = generate(customers_count=customers, seed=seed,
                      progress=lambda step, f: say(f"generating {step}", 0.4 * f))
    for i, (name, rows) in enumerate(tables.items()):
        counts[name] = warehouse.append(name, rows)
        say(f"loading {naming.short(name.split('.')[1])}", 0.4 + 0.1 * (i + 1) / len(tables))
    return counts


def _check_exchange_rates(warehouse: Warehouse) -> None:
    missing = warehouse.df(sqlfiles.render(sqlfiles.query("reconcile/missing_exchange_rates.sql"), warehouse.dialect))
    if len(missing):
        first = missing.iloc[0]
        raise WarehouseError(
            f"{int(missing['transactions'].sum())} transactions cannot be converted to USD: no exchange rate "
            f"for {first['currency']} on or before {first['first_posted_date']}. Load rates for these "
            f"currencies into {naming.fq('txn', 'ref_exchange_rates')} and build again."
        )


def _record_run(warehouse: Warehouse, run_id: str, **values) -> None:
    table = naming.fq("app", "app_build_runs")
    warehouse.execute(exp.delete(table, where=exp.column("run_id").eq(exp.Literal.string(run_id))))
    warehouse.append(table, pd.DataFrame([{"run_id": run_id, "engine": warehouse.engine, **values}]))


def _run_model(warehouse: Warehouse, model: Model, run_id: str, params: dict, timings: dict, *,
               full_refresh: bool, changed: dict[str, tuple[str, ...] | None]) -> int:
    started = clock.now()
    t0 = time.perf_counter()
    result = materialise(warehouse, model, params, run_id=run_id, full_refresh=full_refresh,
                         upstream_changed=_upstream_needs_rebuild(warehouse, model, changed))
    timings[model.name] = time.perf_counter() - t0
    if result.changed:
        # None: rebuilt from everything landed; otherwise the batches it took in.
        changed[model.name] = None if result.how == "full" else result.batches
    warehouse.append(naming.fq("ingest", "audit_transforms"), pd.DataFrame([{
        "audit_id": clock.new_id("trf"), "run_id": run_id, "model_name": model.name,
        "target_table": model.target_fq, "rows_written": result.rows if result.changed else 0, "started_ts": started,
        "finished_ts": clock.now(), "duration_ms": int(timings[model.name] * 1000),
        "status": "succeeded" if result.changed else "skipped",
    }]))
    return result.rows


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


def register_datasets(warehouse: Warehouse, *, registered_ts) -> None:
    """Register the project's datasets and PII columns in the governance catalog.

    The project's own rows are replaced (deleted by dataset_id, then inserted),
    so a rebuild refreshes them without touching datasets registered by others.
    """
    for table, rows in registration_rows(registered_ts=registered_ts).items():
        ids = sorted(set(rows["dataset_id"]))
        delete = exp.delete(table, where=exp.column("dataset_id").isin(*ids))
        warehouse.transaction([(delete, None)])
        warehouse.append(table, rows)


def check_and_catalog(warehouse: Warehouse, *, run_id: str) -> list[CheckResult]:
    """Run the data-quality checks, then write the feature catalog, which carries their verdict on each field."""
    results = run_checks(warehouse, run_id=run_id)
    write_catalog(warehouse, checks=results, build_id=run_id)
    return results


def run_pipeline(warehouse: Warehouse, *, run_id: str | None = None, as_of: date | None = None,
                 progress: Progress | None = None, full_refresh: bool = False) -> BuildResult:
    """Re-derive silver and gold from the landing zone; audit and reconcile."""
    say = progress or (lambda step, fraction: None)
    run_id = run_id or clock.new_id("run")
    started = clock.now()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    params = {"as_of_date": as_of}
    changed: dict[str, tuple[str, ...] | None] = {}
    _record_run(warehouse, run_id, started_ts=started, status="running")
    try:
        for i, model in enumerate(SILVER):
            say(f"building {model.target}", 0.5 + 0.25 * i / len(MODELS))
            if model.target == "fact_transactions" and ("silver_raw_transactions" in changed or full_refresh):
                _check_exchange_rates(warehouse)
            _run_model(warehouse, model, run_id, params, timings, full_refresh=full_refresh, changed=changed)
        if {"silver_raw_transactions", "silver_fact_transactions"} & changed.keys() or full_refresh:
            # Nothing landed means nothing to reconcile: the last audit rows still hold.
            say("reconciling raw -> fact", 0.75)
            landed = changed.get("silver_raw_transactions", ())
            reconcile.reconcile(warehouse, run_id, batches=None if full_refresh or landed is None else list(landed))
        gold_rows = 0
        for model in GOLD:
            say(f"building {model.target}", 0.8)
            rows = _run_model(warehouse, model, run_id, params, timings, full_refresh=full_refresh, changed=changed)
            if model.target == "gold_customer_features":
                gold_rows = rows
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
    _record_run(warehouse, run_id, finished_ts=clock.now(), message="built; checking data quality", **record)
    say("running data-quality checks", 0.97)
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


def build(warehouse: Warehouse, *, customers: int = 50_000, seed: int = 42, as_of: date | None = None,
          progress: Progress | None = None, full_refresh: bool = False) -> BuildResult:
    """Create tables, generate demo data if the warehouse is empty, run the pipeline."""
    create_all(warehouse)
    generated = False
    if is_empty(warehouse):
        load_demo(warehouse, customers=customers, seed=seed, progress=progress)
        generated = True
    result = run_pipeline(warehouse, as_of=as_of, progress=progress, full_refresh=full_refresh)
    install_samples(warehouse)
    return BuildResult(**{**result.__dict__, "generated": generated})
