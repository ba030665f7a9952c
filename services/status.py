"""What a warehouse holds: the facts the Home page and ``cli status`` show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlglot import exp

from services import naming
from services.pipeline.models import missing_tables
from services.warehouse import Warehouse


@dataclass(frozen=True)
class WarehouseStatus:
    engine: str
    location: str
    as_of_date: date | None
    rows_per_source: dict[str, int]
    tables_per_source: dict[str, int]
    gold_customers: int
    gold_columns: int
    built_at: datetime | None
    build_status: str
    build_message: str | None
    reconciled: bool | None
    recon_message: str | None
    #: tables of this version's DDL the warehouse lacks (built by an earlier version)
    missing_tables: tuple[str, ...] = ()

    @property
    def is_built(self) -> bool:
        return self.build_status == "succeeded" and self.gold_customers > 0


def _count_all(warehouse: Warehouse, tables: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Row counts of many tables in one query (one UNION ALL)."""
    if not tables:
        return {}
    parts = [
        exp.select(exp.Literal.string(s).as_("s"), exp.Literal.string(t).as_("t"), exp.func("COUNT", exp.Star()).as_("n"))
        .from_(exp.table_(t, db=s))
        for s, t in tables
    ]
    union = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False)
    rows = warehouse.arrow(union).to_pylist()
    return {(r["s"], r["t"]): int(r["n"]) for r in rows}


def warehouse_status(warehouse: Warehouse) -> WarehouseStatus:
    schemas = set(warehouse.schemas())
    # Listed once: the row counts below and the check for tables a newer version added both use it.
    present = {s: warehouse.tables(s) for s in map(naming.schema, naming.ALL_SCHEMAS) if s in schemas}
    listing = [(naming.schema(src), t) for src in (*naming.SOURCES, naming.GOLD)
               for t in present.get(naming.schema(src), ())]
    counts = _count_all(warehouse, listing)
    rows_per_source, tables_per_source = {}, {}
    for src in (*naming.SOURCES, naming.GOLD):
        mine = {k: v for k, v in counts.items() if k[0] == naming.schema(src)}
        rows_per_source[src] = sum(mine.values())
        tables_per_source[src] = len(mine)
    features = (naming.schema("gold"), naming.table("gold_customer_features"))
    gold_customers = counts.get(features, 0)
    as_of = warehouse.scalar(exp.select(exp.func("MAX", exp.column("as_of_date")))
                             .from_(naming.fq("gold", "gold_customer_features"))) if gold_customers else None
    run = None
    if naming.schema("app") in present:
        runs = warehouse.df(
            exp.select("status", "finished_ts", "started_ts", "message").from_(naming.fq("app", "app_build_runs"))
            .order_by(exp.Ordered(this=exp.column("started_ts"), desc=True)).limit(1))
        run = runs.iloc[0] if len(runs) else None
    recon = None
    if counts.get((naming.schema("txn"), naming.table("audit_recon"))):
        recons = warehouse.df(
            exp.select("status", "message").from_(naming.fq("txn", "audit_recon"))
            .order_by(exp.Ordered(this=exp.column("checked_ts"), desc=True)).limit(1))
        recon = recons.iloc[0]
    as_date = lambda v: None if v is None else (v.date() if hasattr(v, "date") else v)  # noqa: E731
    return WarehouseStatus(
        engine=warehouse.engine,
        location=getattr(warehouse, "path", ""),
        as_of_date=as_date(as_of),
        rows_per_source=rows_per_source,
        tables_per_source=tables_per_source,
        gold_customers=gold_customers,
        gold_columns=len(warehouse.columns(*features)) if gold_customers else 0,
        built_at=None if run is None else (run["finished_ts"] if run["finished_ts"] is not None else run["started_ts"]),
        build_status="never built" if run is None else str(run["status"]),
        build_message=None if run is None else run["message"],
        reconciled=None if recon is None else recon["status"] == "matched",
        recon_message=None if recon is None else recon["message"],
        missing_tables=tuple(missing_tables(warehouse, present=present)),
    )


def expected_full_build_seconds(warehouse: Warehouse, *, recent: int = 5) -> float | None:
    """How long a full rebuild should take: the slowest of the last successful builds.

    The slowest is the honest guess: the first build (or a full refresh) is the
    one that rewrites every silver table, and it is the one a rebuild repeats.
    """
    rows = warehouse.arrow(
        exp.select(exp.column("started_ts"), exp.column("finished_ts"))
        .from_(naming.fq("app", "app_build_runs"))
        .where(exp.EQ(this=exp.column("status"), expression=exp.Literal.string("succeeded")))
        .order_by(exp.Ordered(this=exp.column("started_ts"), desc=True)).limit(recent)
    ).to_pylist()
    durations = [(r["finished_ts"] - r["started_ts"]).total_seconds() for r in rows
                 if r["finished_ts"] is not None and r["started_ts"] is not None]
    return max(durations) if durations else None
