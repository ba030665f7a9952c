"""Benchmark the segment engine at scale and print one plain-text table.

    python -m bench.segments [--warehouse data/bench-1m.duckdb] [--customers 1000000] [--repeat 25]

Measures, on one warehouse and in one run:

* compile + count of a trait-only segment (target: median 20 ms or less);
* compile + count of a five-condition segment with one behavioral condition
  (target: median 50 ms or less);
* the full estimate of that segment: count, revenue, waterfall and four
  breakdowns (target: 300 ms or less);
* the engine's floor: COUNT(*) of the gold table.

The warehouse is built (1,000,000 customers by default) when the file does
not exist yet; the catalog is loaded once, as the app caches it.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import duckdb

from bench.table import row
from services import naming
from services.build import build
from services.segments.catalog import load_catalog
from services.segments.compiler import compile_definition
from services.segments.estimate import count, estimate
from services.segments.spec import Behavior, Group, SegmentDefinition, Trait
from services.warehouse.duckdb_engine import DuckDBWarehouse

TRAIT_ONLY = SegmentDefinition("trait only", Group("all", (
    Trait("rfm_segment", "in", values=("Champions", "Loyal")),
    Trait("email_opt_in", "is_true"),
    Trait("monetary", "gte", value=500),
)))
FIVE_CONDITIONS = SegmentDefinition("five conditions", Group("all", (
    Trait("rfm_segment", "in", values=("Champions", "Loyal", "Potential Loyalist")),
    Trait("lifecycle_stage", "in", values=("active", "reactivated")),
    Trait("monetary", "gte", value=200),
    Trait("email_opt_in", "is_true"),
    Behavior(measure="orders", comparator="at_least", threshold=2, categories=("beauty",), last_days=90),
)))


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm: first touch of the columns
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.segments")
    parser.add_argument("--warehouse", type=Path, default=Path("data/bench-1m.duckdb"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args(argv)

    if not args.warehouse.exists():
        print(f"building {args.warehouse} with {args.customers:,} customers (once) ...", flush=True)
        build(DuckDBWarehouse(args.warehouse), customers=args.customers, seed=42)
    warehouse = DuckDBWarehouse(args.warehouse)
    catalog = load_catalog(warehouse)
    facts = warehouse.scalar(f"SELECT COUNT(*) FROM {naming.fq('txn', 'fact_transactions')}")

    def compile_count(definition):
        return lambda: count(warehouse, compile_definition(definition, catalog))

    five = compile_definition(FIVE_CONDITIONS, catalog)
    sizes = (count(warehouse, compile_definition(TRAIT_ONLY, catalog)), count(warehouse, five))
    lines = [
        row("engine floor: COUNT(*) of gold", timed(lambda: warehouse.scalar(
            f"SELECT COUNT(*) FROM {naming.fq('gold', 'gold_customer_features')}"), args.repeat), None),
        row("compile only (five conditions)", timed(lambda: compile_definition(FIVE_CONDITIONS, catalog).sql("duckdb"),
                                                   args.repeat), None),
        row("compile + count, trait only (3 traits)", timed(compile_count(TRAIT_ONLY), args.repeat), 20,
            f"{sizes[0]:,} members"),
        row("compile + count, 5 conditions, 1 behavioral", timed(compile_count(FIVE_CONDITIONS), args.repeat), 50,
            f"{sizes[1]:,} members"),
        row("full estimate (count, waterfall, 4 breakdowns)", timed(lambda: estimate(warehouse, five), args.repeat),
            300),
    ]
    print(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
          f"duckdb {duckdb.__version__}")
    print(f"warehouse: {args.warehouse} · {catalog.base_count:,} customers · {facts:,} transactions · "
          f"as of {catalog.as_of_date} · {args.repeat} runs per case")
    print(f"{'case':<46} {'median ms':>9} {'p90 ms':>9} {'target':>9} {'':>7}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
