"""Benchmark exports at a million members and print one plain-text table (medians).

    python -m bench.exports [--warehouse data/bench-1m.duckdb] [--repeat 3]

Measures, with the job's own code (identifiers from the build's cache,
projection, by-value hashing, exclusions, atomic file writer with checksum):

* 1,000,000 members to a Meta Custom Audiences hashed file (target: 5 s or less);
* 1,000,000 members to Parquet (target: 2 s or less);
* the diff of two 1,000,000-member membership snapshots (target: 3 s or less).

The members are every current customer of the warehouse's txn dim_customer,
so the figure does not depend on which customers a segment picks. The
warehouse is opened read-only; the snapshots live in an in-memory DuckDB
with the app's snapshot table, as a diff export compares them.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from sqlglot import exp

from services.exports import identifiers, selection, snapshots
from services.exports.audience import CUSTOMER_TABLE, contact_columns
from services.exports.base import ExportRequest
from services.exports.destinations import destination
from services.exports.files import write_csv, write_parquet
from services.pipeline.models import create_all
from services.warehouse import Warehouse
from services.warehouse.duckdb_engine import DuckDBWarehouse

DEFAULT_WAREHOUSE = Path("data/bench-1m.duckdb")
TARGETS = {"meta hashed file": 5.0, "parquet file": 2.0, "diff of two snapshots": 3.0}


def customers_source(limit: int | None) -> exp.Select:
    """Every current customer with the audience source's columns (no split group)."""
    customer_id = exp.column("customer_id", table="c", quoted=True)
    query = (exp.select(customer_id.as_("customer_id", quoted=True),
                        exp.cast(exp.null(), "VARCHAR").as_("split_group", quoted=True), *contact_columns())
             .from_(exp.to_table(CUSTOMER_TABLE).as_("c"))
             .where(exp.EQ(this=exp.column("is_current", table="c", quoted=True), expression=exp.true())))
    return query.limit(limit) if limit else query


def export_file(warehouse: Warehouse, name: str, out: Path, source: exp.Select) -> tuple[float, int]:
    dest = destination(name)
    request = dest.normalise(ExportRequest(segment_id="bench", version=1, destination=name))
    started = time.perf_counter()
    rows = selection.fetch_members(warehouse, dest, request, source)
    rows, _ = selection.exclusions(rows, request)
    if dest.file_format == "parquet":
        write_parquet(selection.public(rows), out / f"bench-{name}.parquet")
    else:
        write_csv(selection.public(rows), out / f"bench-{name}.csv", hex_columns=dest.hashed_columns())
    return time.perf_counter() - started, rows.num_rows


def diff_snapshots(ids: pa.Array) -> tuple[float, int, int]:
    """Two snapshots of len(ids) members, 5% swapped between them; time the diff."""
    warehouse = DuckDBWarehouse(":memory:")
    create_all(warehouse)
    n = len(ids)
    swap = n // 20
    previous = ids.slice(0, n)
    current = pa.concat_arrays([ids.slice(swap), pa.array([f"NEW{i:07d}" for i in range(swap)])])
    snapshots.save(warehouse, job_id="prev", segment_id="bench", destination="csv", target="", customer_ids=previous)
    snapshots.save(warehouse, job_id="cur", segment_id="bench", destination="csv", target="", customer_ids=current)
    started = time.perf_counter()
    added, removed = snapshots.diff(warehouse, "cur", "prev")
    elapsed = time.perf_counter() - started
    warehouse.close()
    assert len(added) == len(removed) == swap, (len(added), len(removed), swap)
    return elapsed, len(added), len(removed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, help="members to export (default: every current customer)")
    args = parser.parse_args(argv)
    if not args.warehouse.exists():
        parser.error(f"{args.warehouse} does not exist: build it with `python -m bench.segments` (1,000,000 customers)")

    # The build keeps the normalised emails and phones (identifiers.py); bring that cache up to
    # date as a build would, so the figure is an export's own, and show what that step costs.
    writable = DuckDBWarehouse(args.warehouse)
    create_all(writable)
    started = time.perf_counter()
    identifiers.refresh(writable)
    refresh_seconds = time.perf_counter() - started
    writable.close()

    warehouse = DuckDBWarehouse(args.warehouse, read_only=True)
    source = customers_source(args.limit)
    timings: dict[str, list[float]] = {k: [] for k in TARGETS}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            for label, name in (("meta hashed file", "meta"), ("parquet file", "parquet")):
                seconds, rows = export_file(warehouse, name, Path(folder), source)
                timings[label].append(seconds)
                sizes[label] = rows
        ids = warehouse.arrow(exp.select("customer_id").from_(source.subquery("s"))).column(0).combine_chunks()
        for _ in range(args.repeat):
            seconds, added, removed = diff_snapshots(ids)
            timings["diff of two snapshots"].append(seconds)
            sizes["diff of two snapshots"] = len(ids)
    warehouse.close()

    print(f"exports benchmark · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
          f"median of {args.repeat} runs")
    print(f"{'what':<24}{'members':>12}{'median s':>11}{'min s':>9}{'target s':>10}  ok")
    ok = True
    for label, target in TARGETS.items():
        median = statistics.median(timings[label])
        ok &= median <= target
        print(f"{label:<24}{sizes[label]:>12,}{median:>11.2f}{min(timings[label]):>9.2f}{target:>10.1f}  "
              f"{'yes' if median <= target else 'NO'}")
    print(f"(build step, not an export: bringing the identifier cache up to date took {refresh_seconds:.2f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
