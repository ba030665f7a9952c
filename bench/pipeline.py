"""Benchmark the warehouse build and the RFM step, and print one plain-text table.

    python -m bench.pipeline [--customers 1000000] [--seed 42] [--repeat 3]
                             [--warehouse PATH] [--set NAME=VALUE ...]

Two measurements, on the same generated data and in the same process:

1. The gold build: ``run_pipeline`` (every silver and gold model plus the
   reconciliation), ``--repeat`` times on the same warehouse, with the
   per-model split from ``BuildResult.model_seconds``. Generating and loading
   the demo data are timed and printed but not counted.
2. The RFM step: the gold model's own SQL cut down to its RFM scores (its CTEs
   taken from ``sql/models/gold/gold_customer_features.sql`` with sqlglot, see
   ``rfm_tree``) fetched to Arrow, against the same computation in pandas on the
   fact rows already in memory. Both results are checked equal to each other and
   to the built gold table before any timing is reported.

Without ``--warehouse`` the DuckDB file lives in a temporary directory that is
removed at the end. With it, the file is kept, and a warehouse that already
holds data is reused as it is (no generation), so repeated runs, for example
with different ``--set`` settings, measure the same data.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from services import build as runner, naming, sqlfiles
from services.build import BuildResult
from services.pipeline import reconcile
from services.pipeline.models import MODELS, create_all
from services.warehouse.duckdb_engine import DuckDBWarehouse

GOLD_MODEL = next(m for m in MODELS if m.name == "gold_customer_features")
#: what the RFM step computes: the gold model's RFM columns
RFM_COLUMNS = ("customer_id", "as_of_date", "first_purchase_date", "last_purchase_date", "recency_days",
               "frequency", "monetary", "r_score", "f_score", "m_score")
#: the model's CTE that holds the RFM measures with their three scores (ranked on their own)
RFM_SCORES = "rfm_scores"
FACT = naming.fq("txn", "fact_transactions")
GOLD_FEATURES = naming.fq("gold", "gold_customer_features")
BUILD_TARGET_SECONDS = 30.0
RFM_TARGET_RATIO = 2.0
# The columns the RFM results are compared on; monetary is compared in whole
# cents so that DuckDB's DECIMAL and pandas' float64 meet on exact integers.
COMPARED = ("first_purchase_date", "last_purchase_date", "recency_days", "frequency",
            "monetary_cents", "r_score", "f_score", "m_score")

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    # Progress goes to stderr so that stdout carries only the table.
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- setup ---------------------------------------------------------------------

@dataclass
class Setup:
    path: Path
    temporary: bool
    generated: bool
    generate_seconds: float | None = None
    load_seconds: float | None = None
    landed_rows: int = 0


def apply_settings(warehouse: DuckDBWarehouse, settings: Sequence[tuple[str, str]]) -> None:
    """``SET GLOBAL`` each setting: every warehouse call runs on its own cursor,
    and a session-level SET would not reach the cursors the pipeline opens."""
    for name, value in settings:
        warehouse.execute(f"SET GLOBAL {name} = {value}")


def prepare(warehouse: DuckDBWarehouse, *, customers: int, seed: int, log: Log = _stderr) -> Setup:
    """Create the tables and land the demo data unless the warehouse already has data."""
    setup = Setup(Path(warehouse.path), temporary=False, generated=False)
    create_all(warehouse)
    if not runner.is_empty(warehouse):
        log(f"reusing the data already in {warehouse.path}")
        return setup
    from services.demo import generate

    # runner.load_demo does the same two steps in one call; they are done here
    # one after the other so that generating and loading are timed apart.
    log(f"generating demo data for {customers:,} customers")
    t0 = time.perf_counter()
    tables = generate(customers_count=customers, seed=seed)
    setup.generate_seconds = time.perf_counter() - t0
    log(f"loading {len(tables)} tables into DuckDB")
    t0 = time.perf_counter()
    for name, rows in tables.items():
        landed = warehouse.append(name, rows)
        if name == runner.STG_TRANSACTIONS:
            setup.landed_rows = landed
    setup.load_seconds = time.perf_counter() - t0
    setup.generated = True
    return setup


# -- 1. the gold build -----------------------------------------------------------

@dataclass
class PipelineRun:
    result: BuildResult
    # Steps of run_pipeline that model_seconds does not time (it times the models and the
    # export identifier refresh).
    step_seconds: dict[str, float] = field(default_factory=dict)
    label: str = ""

    @property
    def rest_seconds(self) -> float:
        """Audit rows, governance registration and the final counts."""
        return self.result.seconds - sum(self.result.model_seconds.values()) - sum(self.step_seconds.values())


@contextmanager
def _timed(module, name: str, label: str, into: dict[str, float]) -> Iterator[None]:
    """Time every call of ``module.name`` into ``into[label]`` for the duration.

    run_pipeline does not time its reconciliation and exchange-rate check;
    wrapping them (and nothing else) splits the build without changing it.
    """
    original = getattr(module, name)

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[label] = into.get(label, 0.0) + time.perf_counter() - t0

    setattr(module, name, timed)
    try:
        yield
    finally:
        setattr(module, name, original)


def _timed_run(warehouse: DuckDBWarehouse, label: str, *, full_refresh: bool = False) -> PipelineRun:
    steps: dict[str, float] = {}
    with _timed(reconcile, "reconcile", "reconciliation", steps), \
            _timed(runner, "_check_exchange_rates", "exchange-rate check", steps):
        result = runner.run_pipeline(warehouse, full_refresh=full_refresh)
    return PipelineRun(result, steps, label)


def land_new_day(warehouse: DuckDBWarehouse, day: int) -> int:
    """Land one more day of transactions as a new batch: the as-of day's rows again,
    one day later, with new ids (what a nightly feed delivers)."""
    stg = runner.STG_TRANSACTIONS
    warehouse.execute(
        f"INSERT INTO {stg} BY NAME SELECT 'bench-day-{day}' AS batch_id, now() AS landed_ts, source_system_id, "
        f"'N{day}-' || transaction_id AS transaction_id, account_id, customer_id, product_id, merchant_id, "
        f"channel_code, txn_type, quantity, amount, discount_amount, currency, payment_method, "
        f"posted_ts + INTERVAL {day} DAY AS posted_ts FROM {stg} "
        f"WHERE CAST(posted_ts AS DATE) = (SELECT MAX(CAST(posted_ts AS DATE)) FROM {stg} "
        f"WHERE batch_id NOT LIKE 'bench-day-%')")
    return int(warehouse.scalar(f"SELECT COUNT(*) FROM {stg} WHERE batch_id = 'bench-day-{day}'"))


def time_pipeline(warehouse: DuckDBWarehouse, *, repeat: int, log: Log = _stderr) -> list[PipelineRun]:
    """Three kinds of build: everything from the landing zone (a first build or a
    full refresh), a rebuild with nothing new landed, and a build after one new
    day of transactions landed (the nightly case)."""
    runs = [_timed_run(warehouse, "full", full_refresh=True)]
    log(f"full build: {runs[-1].result.seconds:.2f} s")
    for i in range(repeat):
        runs.append(_timed_run(warehouse, f"rebuild {i + 1}"))
        log(f"rebuild {i + 1}/{repeat}: {runs[-1].result.seconds:.2f} s")
    existing = int(warehouse.scalar(f"SELECT COUNT(*) FROM {runner.STG_TRANSACTIONS} WHERE batch_id LIKE 'bench-day-%'"))
    rows = land_new_day(warehouse, existing // 10_000 + 1 if existing else 1)
    runs.append(_timed_run(warehouse, "new day"))
    log(f"build after a new day ({rows:,} rows): {runs[-1].result.seconds:.2f} s")
    return runs


# -- 2. the RFM step ---------------------------------------------------------------

def _reads(tree: exp.Expression) -> set[str]:
    """The CTEs (unqualified tables) a query reads."""
    return {t.name for t in tree.find_all(exp.Table) if not t.db}


def rfm_tree() -> exp.Select:
    """The gold model's own SQL, cut down to its RFM scores.

    The model computes its RFM measures and scores in CTEs of their own
    (``rfm``, ``rfm_scores``) before joining them to the other features, so the
    RFM step is the model's CTEs that ``rfm_scores`` reads, as they are, and a
    select of the RFM columns from it.
    """
    model = sqlfiles.query(GOLD_MODEL.path)
    ctes = {cte.alias: cte.this for cte in model.args["with_"].expressions}
    if RFM_SCORES not in ctes:
        raise RuntimeError(f"the gold model has no {RFM_SCORES} CTE any more: update bench/pipeline.py's rfm_tree")
    needed, todo = set(), [RFM_SCORES]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(_reads(ctes[name]) & ctes.keys())
    select = exp.select(*[exp.column(c) for c in RFM_COLUMNS]).from_(RFM_SCORES)
    for name, body in ctes.items():
        if name in needed:
            select = select.with_(name, as_=body)
    return select


def rfm_query(dialect: str = "duckdb") -> str:
    return sqlfiles.render(rfm_tree(), dialect)


def rfm_sql(warehouse: DuckDBWarehouse, sql: str | None = None) -> pa.Table:
    """The RFM scores computed by the engine and fetched to Arrow."""
    return warehouse.arrow(sql or rfm_query(warehouse.dialect), {"as_of_date": None})


def load_fact_frame(warehouse: DuckDBWarehouse) -> pd.DataFrame:
    """The fact columns the RFM step reads, as pandas would best hold them.

    The two low-cardinality string columns become categoricals (pandas then
    groups on integer codes instead of hashing ten million Python strings), so
    pandas is measured at its best, not on a naive object-dtype frame.
    """
    table = warehouse.arrow(f"SELECT customer_id, txn_type, posted_date, amount_usd FROM {FACT}")
    table = table.set_column(0, "customer_id", pc.dictionary_encode(table["customer_id"]))
    table = table.set_column(1, "txn_type", pc.dictionary_encode(table["txn_type"]))
    table = table.set_column(3, "amount_usd", pc.cast(table["amount_usd"], pa.float64()))
    return table.to_pandas(date_as_object=False)


def _scores(values: pd.Series, *, ascending: bool) -> np.ndarray:
    """least(5, 1 + floor(5 * percent_rank())), percent_rank = (rank - 1) / (n - 1).

    rank(method="min") is SQL's rank(); pandas' own pct=True divides by n
    instead, so the percent rank is built by hand with SQL's arithmetic.
    """
    n = len(values)
    if n <= 1:
        return np.ones(n, dtype=np.int32)
    rank = values.rank(method="min", ascending=ascending).to_numpy()
    percent_rank = (rank - 1.0) / (n - 1.0)
    return np.minimum(5.0, 1.0 + np.floor(5.0 * percent_rank)).astype(np.int32)


def rfm_pandas(fact: pd.DataFrame, as_of_date=None) -> pd.DataFrame:
    """The gold model's RFM scores (``rfm_tree``), computed in pandas."""
    as_of = fact["posted_date"].max() if as_of_date is None else pd.Timestamp(as_of_date)
    fact = fact[fact["posted_date"] <= as_of]
    purchases = fact[fact["txn_type"] == "purchase"]
    refunds = fact[fact["txn_type"] == "refund"]
    summary = purchases.groupby("customer_id", observed=True, sort=False).agg(
        first_purchase_date=("posted_date", "min"),
        last_purchase_date=("posted_date", "max"),
        frequency=("posted_date", "size"),
        purchase_amount=("amount_usd", "sum"),
    )
    refund_amount = (
        refunds.groupby("customer_id", observed=True, sort=False)["amount_usd"].sum()
        .reindex(summary.index, fill_value=0.0)
    )
    out = summary.drop(columns="purchase_amount")
    out["recency_days"] = (as_of - out["last_purchase_date"]).dt.days
    out["monetary"] = (summary["purchase_amount"] - refund_amount).round(2)
    out["r_score"] = _scores(out["recency_days"], ascending=False)
    out["f_score"] = _scores(out["frequency"], ascending=True)
    out["m_score"] = _scores(out["monetary"], ascending=True)
    return out.reset_index()


def _normalised(rows: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """One layout for every RFM result: string ids, day-precision dates, monetary in cents."""
    frame = rows.to_pandas(date_as_object=False) if isinstance(rows, pa.Table) else rows.copy()
    out = pd.DataFrame({"customer_id": frame["customer_id"].astype(str)})
    for column in ("first_purchase_date", "last_purchase_date"):
        out[column] = pd.to_datetime(frame[column]).astype("datetime64[s]")
    for column in ("recency_days", "frequency", "r_score", "f_score", "m_score"):
        out[column] = frame[column].astype("int64")
    out["monetary_cents"] = np.rint(frame["monetary"].astype("float64") * 100).astype("int64")
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def compare_rfm(left: pa.Table | pd.DataFrame, right: pa.Table | pd.DataFrame) -> list[str]:
    """What differs between two RFM results (empty when they are equal)."""
    a, b = _normalised(left), _normalised(right)
    if len(a) != len(b) or not a["customer_id"].equals(b["customer_id"]):
        only_left = len(set(a["customer_id"]) - set(b["customer_id"]))
        only_right = len(set(b["customer_id"]) - set(a["customer_id"]))
        return [f"customers differ: {len(a):,} vs {len(b):,} rows, "
                f"{only_left:,} only on the left, {only_right:,} only on the right"]
    problems = []
    for column in COMPARED:
        differing = int((a[column] != b[column]).sum())
        if differing:
            problems.append(f"{column} differs for {differing:,} customers")
    return problems


def gold_rfm(warehouse: DuckDBWarehouse) -> pa.Table:
    return warehouse.arrow(
        "SELECT customer_id, first_purchase_date, last_purchase_date, recency_days, frequency, "
        f"monetary, r_score, f_score, m_score FROM {GOLD_FEATURES}"
    )


@dataclass
class RfmTiming:
    sql_seconds: list[float]
    pandas_seconds: list[float]
    customers: int
    sql_vs_pandas: list[str]
    sql_vs_gold: list[str]

    @property
    def ratio(self) -> float:
        return statistics.median(self.pandas_seconds) / statistics.median(self.sql_seconds)


def time_rfm(warehouse: DuckDBWarehouse, fact: pd.DataFrame, *, repeat: int, log: Log = _stderr) -> RfmTiming:
    sql = rfm_query(warehouse.dialect)  # rendered once: sqlglot's time is not the engine's
    sql_seconds, pandas_seconds = [], []
    sql_result = pandas_result = None
    for i in range(repeat):
        t0 = time.perf_counter()
        sql_result = rfm_sql(warehouse, sql)
        sql_seconds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pandas_result = rfm_pandas(fact)
        pandas_seconds.append(time.perf_counter() - t0)
        log(f"RFM run {i + 1}/{repeat}: SQL {sql_seconds[-1]:.2f} s, pandas {pandas_seconds[-1]:.2f} s")
    return RfmTiming(sql_seconds, pandas_seconds, sql_result.num_rows,
                     compare_rfm(sql_result, pandas_result), compare_rfm(sql_result, gold_rfm(warehouse)))


# -- the report ----------------------------------------------------------------------

def machine_lines(warehouse: DuckDBWarehouse) -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads, memory, order = warehouse.arrow(
        "SELECT current_setting('threads'), current_setting('memory_limit'), "
        "current_setting('preserve_insertion_order')"
    ).to_pylist()[0].values()
    return [
        f"machine   {usable} cores usable ({os.cpu_count()} online), {cpu}",
        f"software  Python {platform.python_version()}, duckdb {duckdb.__version__}, pandas {pd.__version__}, "
        f"numpy {np.__version__}, pyarrow {pa.__version__}",
        f"duckdb    threads={threads}, memory_limit={memory}, preserve_insertion_order={str(order).lower()}",
        _load_line("at start"),
    ]


def _load_line(when: str) -> str:
    # The machine is shared: a load average above the core count means other
    # work competed for the CPUs and the timings below are inflated.
    if not hasattr(os, "getloadavg"):
        return f"load      unknown {when}"
    one, five, fifteen = os.getloadavg()
    return f"load      {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) {when}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _row(label: str, values: Sequence[float | None], width: int) -> str:
    return f"  {label:<{width}}" + "".join(f"{_seconds(v):>9}" for v in values)


def render(*, machine: Sequence[str], settings: Sequence[tuple[str, str]], setup: Setup, customers: int,
           seed: int, runs: Sequence[PipelineRun], rfm: RfmTiming, fact_load_seconds: float) -> str:
    build = runs[-1].result
    lines = ["Segment Studio pipeline benchmark", *machine]
    lines.append("settings  " + (", ".join(f"SET GLOBAL {k} = {v}" for k, v in settings) or "DuckDB defaults"))
    where = "temporary, removed at the end" if setup.temporary else "kept"
    lines.append(f"warehouse {setup.path} ({where})")
    source = f"generated with --customers {customers:,} --seed {seed}" if setup.generated else "reused, not generated"
    lines.append(f"data      {build.customers:,} current customers, {build.transactions:,} fact transactions, "
                 f"{build.gold_rows:,} gold rows ({source})")
    lines.append("")

    lines.append("Setup (not counted)                       seconds")
    lines.append(_row("generate demo data", [setup.generate_seconds], 38))
    lines.append(_row("load into DuckDB", [setup.load_seconds], 38))
    lines.append(_row("fetch fact rows into pandas", [fact_load_seconds], 38))
    lines.append("")

    rebuilds = [r for r in runs if r.label.startswith("rebuild")]
    header = "Gold build (run_pipeline)".ljust(40) + f"{'rebuild':>9}" + "".join(f"{r.label:>11}" for r in runs)
    lines.append(header)
    lines.append("".ljust(40) + f"{'median':>9}")
    width = 38

    def row(label: str, values: list[float | None]) -> str:
        rebuild = [v for r, v in zip(runs, values) if r.label.startswith("rebuild") and v is not None]
        first = f"{statistics.median(rebuild):9.2f}" if rebuild else f"{'-':>9}"
        return f"  {label:<{width}}" + first + "".join(f"{v:11.2f}" if v is not None else f"{'-':>11}" for v in values)

    for name in build.model_seconds:
        lines.append(row(name, [r.result.model_seconds.get(name) for r in runs]))
    steps = sorted({k for r in runs for k in r.step_seconds})
    for step in steps:
        lines.append(row(step, [r.step_seconds.get(step, 0.0) for r in runs]))
    lines.append(row("audit rows, registration, DQ checks", [r.rest_seconds for r in runs]))
    lines.append(row("total", [r.result.seconds for r in runs]))
    median_rebuild = statistics.median(r.result.seconds for r in rebuilds)
    nightly = runs[-1].result.seconds
    met = "met" if max(median_rebuild, nightly) <= BUILD_TARGET_SECONDS else "NOT met"
    lines.append(f"  target: gold build (rebuild median {median_rebuild:.1f} s, nightly new day {nightly:.1f} s) "
                 f"<= {BUILD_TARGET_SECONDS:.0f} s ... {met}")
    lines.append(f"  full build from the landing zone (first build, or --full-refresh): {runs[0].result.seconds:.1f} s")
    lines.append("")

    lines.append(f"RFM step x{len(rfm.sql_seconds)}".ljust(40) + f"{'median':>9}" + "".join(
        f"{'run ' + str(i + 1):>9}" for i in range(len(rfm.sql_seconds))))
    lines.append(_row("SQL in DuckDB, fetched to Arrow",
                      [statistics.median(rfm.sql_seconds), *rfm.sql_seconds], width))
    lines.append(_row("pandas on the frame in memory",
                      [statistics.median(rfm.pandas_seconds), *rfm.pandas_seconds], width))
    lines.append(f"  SQL: the RFM CTEs of sql/{GOLD_MODEL.path} rendered for DuckDB, result fetched to a "
                 "pyarrow.Table (no temp table)")
    lines.append("  pandas: groupby + rank(method='min') over the 4 fact columns, ids as categoricals")
    met = "met" if rfm.ratio >= RFM_TARGET_RATIO else "NOT met"
    lines.append(f"  ratio pandas / SQL (medians): {rfm.ratio:.1f}x; target >= {RFM_TARGET_RATIO:.0f}x ... {met}")
    lines.append(f"  results equal: {'yes' if not rfm.sql_vs_pandas else 'NO'} "
                 f"({rfm.customers:,} customers; {', '.join(COMPARED)})")
    lines.extend(f"    {p}" for p in rfm.sql_vs_pandas)
    lines.append(f"  SQL equal to {naming.short(GOLD_FEATURES.split('.')[1])}: "
                 f"{'yes' if not rfm.sql_vs_gold else 'NO'}")
    lines.extend(f"    {p}" for p in rfm.sql_vs_gold)
    lines.append("")
    lines.append(_load_line("at the end"))
    return "\n".join(lines)


# -- command line ------------------------------------------------------------------------

def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    if not name.strip().replace("_", "").isalnum():
        raise argparse.ArgumentTypeError(f"not a setting name: {name!r}")
    return name.strip(), value.strip()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000, help="demo customers to generate (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the median is reported")
    parser.add_argument("--warehouse", type=Path, default=None,
                        help="DuckDB file to build in and keep; one that already holds data is reused as it is")
    parser.add_argument("--set", dest="settings", type=_setting, action="append", default=[], metavar="NAME=VALUE",
                        help="a DuckDB setting applied with SET GLOBAL before measuring (repeatable), "
                             "e.g. preserve_insertion_order=false")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.customers < 1:
        parser.error("--repeat and --customers must be at least 1")
    return args


def run(args: argparse.Namespace, *, log: Log = _stderr) -> tuple[str, bool]:
    """Run the benchmark; return the table and whether the RFM results agreed."""
    temp = None if args.warehouse else tempfile.TemporaryDirectory(prefix="bench-pipeline-")
    path = args.warehouse if args.warehouse else Path(temp.name) / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path)
    try:
        apply_settings(warehouse, args.settings)
        machine = machine_lines(warehouse)
        setup = prepare(warehouse, customers=args.customers, seed=args.seed, log=log)
        setup.temporary = temp is not None
        runs = time_pipeline(warehouse, repeat=args.repeat, log=log)
        log("fetching the fact rows into pandas")
        t0 = time.perf_counter()
        fact = load_fact_frame(warehouse)
        fact_load_seconds = time.perf_counter() - t0
        rfm = time_rfm(warehouse, fact, repeat=args.repeat, log=log)
        del fact
        table = render(machine=machine, settings=args.settings, setup=setup, customers=args.customers,
                       seed=args.seed, runs=runs, rfm=rfm, fact_load_seconds=fact_load_seconds)
        return table, not rfm.sql_vs_pandas and not rfm.sql_vs_gold
    finally:
        warehouse.close()
        if temp is not None:
            temp.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    table, equal = run(parse_args(argv))
    print(table)
    # Timings of a wrong answer mean nothing: a mismatch fails the command.
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
