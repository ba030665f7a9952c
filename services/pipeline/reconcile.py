"""Reconciliation: every load proves that nothing was lost.

``reconcile`` compares the landing zone with raw (per batch) and raw with the
fact table (distinct transactions, id hashes and amounts). Every comparison is
written to the seed's ``audit_*`` reconciliation tables, matched or not; a mismatch then raises
``ReconciliationError`` so the build stops before gold is rebuilt on bad data.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlglot import exp

from services import naming, sqlfiles
from services.clock import new_id, now
from services.errors import ReconciliationError
from services.warehouse import Warehouse


@dataclass(frozen=True)
class Reconciliation:
    check_name: str
    source_rows: int
    target_rows: int
    source_checksum: str
    target_checksum: str

    @property
    def matched(self) -> bool:
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum


def _per_batch_query(batches: list[str] | None) -> exp.Expression:
    query = sqlfiles.query("reconcile/stg_to_raw.sql")
    if batches is None:
        return query
    # raw is append-only: a batch reconciled once cannot change, so only the
    # batches this run landed need comparing.
    condition = exp.column("batch_id").isin(*[exp.Literal.string(b) for b in batches] or [exp.null()])
    for cte in query.find_all(exp.CTE):
        if cte.alias in ("source", "target"):
            cte.set("this", cte.this.where(condition.copy()))
    return query


def _raw_to_fact_query(batches: list[str] | None) -> exp.Expression:
    query = sqlfiles.query("reconcile/raw_to_fact.sql")
    if batches is None:
        return query
    # An incremental build reconciles the transactions its new batches touched.
    touched = exp.select(exp.column("transaction_id")).from_(naming.fq("txn", "raw_transactions")).where(
        exp.column("batch_id").isin(*[exp.Literal.string(b) for b in batches] or [exp.null()]))
    for cte in query.find_all(exp.CTE):
        if cte.alias in ("latest", "target"):
            cte.set("this", cte.this.where(exp.column("transaction_id").isin(query=touched.copy())))
    return query


def reconcile(warehouse: Warehouse, run_id: str, *, batches: list[str] | None = None) -> list[Reconciliation]:
    """Compare stg -> raw per batch (all, or ``batches``) and raw -> fact; write audit rows; raise on mismatch."""
    started = now()
    per_batch = warehouse.df(sqlfiles.render(_per_batch_query(batches), warehouse.dialect))
    results = [
        Reconciliation(f"stg_to_raw:{r.batch_id}", int(r.source_rows), int(r.target_rows),
                       str(r.source_checksum), str(r.target_checksum))
        for r in per_batch.itertuples()
    ]
    finished = now()
    if len(per_batch):
        warehouse.append(naming.fq("txn", "audit_txn_ingest"), pd.DataFrame({
            "audit_id": [new_id("aud") for _ in results],
            "run_id": run_id,
            "batch_id": per_batch["batch_id"],
            "source_table": naming.fq("txn", "stg_transactions"),
            "target_table": naming.fq("txn", "raw_transactions"),
            "source_rows": per_batch["source_rows"].astype("int64"),
            "target_rows": per_batch["target_rows"].astype("int64"),
            "source_checksum": per_batch["source_checksum"].astype(str),
            "target_checksum": per_batch["target_checksum"].astype(str),
            "status": ["matched" if r.matched else "mismatch" for r in results],
            "started_ts": started,
            "finished_ts": finished,
        }))
    row = warehouse.df(sqlfiles.render(_raw_to_fact_query(batches), warehouse.dialect)).iloc[0]
    fact = Reconciliation("raw_to_fact", int(row.source_rows), int(row.target_rows),
                          str(row.source_checksum), str(row.target_checksum))
    results.append(fact)
    mismatched = [r for r in results if not r.matched]
    message = (
        "all batches and the fact table reconcile"
        if not mismatched
        else "; ".join(
            f"{r.check_name}: source {r.source_rows} rows ({r.source_checksum}) vs target "
            f"{r.target_rows} rows ({r.target_checksum})" for r in mismatched[:5]
        )
    )
    warehouse.append(naming.fq("txn", "audit_recon"), pd.DataFrame([{
        "recon_id": new_id("rec"),
        "run_id": run_id,
        "check_name": fact.check_name,
        "source_table": naming.fq("txn", "raw_transactions"),
        "target_table": naming.fq("txn", "fact_transactions"),
        "source_rows": fact.source_rows,
        "target_rows": fact.target_rows,
        "source_checksum": fact.source_checksum,
        "target_checksum": fact.target_checksum,
        "status": "matched" if not mismatched else "mismatch",
        "message": message,
        "checked_ts": now(),
    }]))
    if mismatched:
        raise ReconciliationError(f"reconciliation failed for run {run_id}: {message}")
    return results
