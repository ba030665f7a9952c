"""What a warehouse holds: the facts the Home page and ``cli status`` show, in two rounds of reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlglot import exp

from services import naming
from services.parallel import together
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
    #: how long a full rebuild should take (``expected_full_build_seconds``), from the same read of the build records
    expected_rebuild_s: float | None = None

    @property
    def is_built(self) -> bool:
        return self.build_status == "succeeded" and self.gold_customers > 0


def _count_all(warehouse: Warehouse, tables: list[tuple[str, str]], *, dated: tuple[str, str]) -> tuple[dict, object]:
    """Row counts of many tables in one query (one UNION ALL), and the latest as_of_date of ``dated``."""
    if not tables:
        return {}, None
    parts = [
        exp.select(exp.Literal.string(s).as_("s"), exp.Literal.string(t).as_("t"), exp.func("COUNT", exp.Star()).as_("n"),
                   (exp.func("MAX", exp.column("as_of_date")) if (s, t) == dated else exp.cast(exp.null(), "DATE"))
                   .as_("as_of"))
        .from_(exp.table_(t, db=s))
        for s, t in tables
    ]
    union = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False)
    rows = warehouse.arrow(union).to_pylist()
    return ({(r["s"], r["t"]): int(r["n"]) for r in rows},
            next((r["as_of"] for r in rows if (r["s"], r["t"]) == dated), None))


def _runs(warehouse: Warehouse, *, recent: int = 5) -> list[dict]:
    """The latest build (``which`` = latest) and the last ``recent`` successful ones (``which`` = succeeded): one query."""
    table = naming.fq("app", "app_build_runs")
    columns = ("status", "started_ts", "finished_ts", "message")
    newest = exp.Ordered(this=exp.column("started_ts"), desc=True)
    latest = exp.select(*columns).from_(table).order_by(newest).limit(1)
    succeeded = (exp.select(*columns).from_(table).where(exp.EQ(this=exp.column("status"),
                                                                  expression=exp.Literal.string("succeeded")))
                 .order_by(newest.copy()).limit(recent))
    union = exp.union(exp.select(exp.Literal.string("latest").as_("which"), *columns).from_(latest.subquery("l")),
                      exp.select(exp.Literal.string("succeeded").as_("which"), *columns).from_(succeeded.subquery("r")),
                      distinct=False)
    return warehouse.arrow(union).to_pylist()


def _longest(runs: list[dict]) -> float | None:
    durations = [(r["finished_ts"] - r["started_ts"]).total_seconds() for r in runs
                 if r["finished_ts"] is not None and r["started_ts"] is not None]
    return max(durations) if durations else None


def warehouse_status(warehouse: Warehouse) -> WarehouseStatus:
    """What the warehouse holds, in two rounds of reads: its tables, then their counts and records at once."""
    present = warehouse.tables_of([naming.schema(s) for s in naming.ALL_SCHEMAS])
    listing = [(naming.schema(src), t) for src in (*naming.SOURCES, naming.GOLD)
               for t in present.get(naming.schema(src), ())]
    features = (naming.schema("gold"), naming.table("gold_customer_features"))
    has = lambda source, name: naming.table(name) in present.get(naming.schema(source), ())  # noqa: E731
    recon_table = naming.fq("txn", "audit_recon")
    (counts, as_of), runs, recons, gold_columns = together(
        lambda: _count_all(warehouse, listing, dated=features),
        lambda: _runs(warehouse) if has("app", "app_build_runs") else [],
        lambda: warehouse.df(exp.select("status", "message").from_(recon_table)
                             .order_by(exp.Ordered(this=exp.column("checked_ts"), desc=True)).limit(1))
        if has("txn", "audit_recon") else None,
        lambda: len(warehouse.columns(*features)) if features[1] in present.get(features[0], ()) else 0)
    rows_per_source, tables_per_source = {}, {}
    for src in (*naming.SOURCES, naming.GOLD):
        mine = {k: v for k, v in counts.items() if k[0] == naming.schema(src)}
        rows_per_source[src] = sum(mine.values())
        tables_per_source[src] = len(mine)
    gold_customers = counts.get(features, 0)
    run = next((r for r in runs if r["which"] == "latest"), None)
    recon = recons.iloc[0] if recons is not None and len(recons) else None
    as_date = lambda v: None if v is None else (v.date() if hasattr(v, "date") else v)  # noqa: E731
    return WarehouseStatus(
        engine=warehouse.engine,
        location=getattr(warehouse, "path", ""),
        as_of_date=as_date(as_of) if gold_customers else None,
        rows_per_source=rows_per_source,
        tables_per_source=tables_per_source,
        gold_customers=gold_customers,
        gold_columns=gold_columns if gold_customers else 0,
        built_at=None if run is None else (run["finished_ts"] if run["finished_ts"] is not None else run["started_ts"]),
        build_status="never built" if run is None else str(run["status"]),
        build_message=None if run is None else run["message"],
        reconciled=None if recon is None else recon["status"] == "matched",
        recon_message=None if recon is None else recon["message"],
        missing_tables=tuple(missing_tables(warehouse, present=present)),
        expected_rebuild_s=_longest([r for r in runs if r["which"] == "succeeded"]),
    )


def expected_full_build_seconds(warehouse: Warehouse, *, recent: int = 5) -> float | None:
    """How long a full rebuild should take: the slowest of the last successful builds.

    The slowest is the honest guess: the first build (or a full refresh) is the
    one that rewrites every silver table, and it is the one a rebuild repeats.
    """
    return _longest([r for r in _runs(warehouse, recent=recent) if r["which"] == "succeeded"])
