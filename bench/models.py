"""Benchmark clustering, lookalikes and the cluster map at scale; print one plain-text table.

    python -m bench.models [--warehouse data/bench-1m.duckdb] [--repeat 3] [--map-points 50000]

Measures, on one warehouse and in one process (figures are medians):

* a clustering run, k-means with k = 8 on the default features: fetch
  features, fit, assign every customer, save (target: 5 s or less), and the
  same with profiles and rule explanations;
* a lookalike: fit on the seed and score every customer outside it
  (target: 5 s or less), plus the save of the scores;
* the reach slider: the lookup behind one slider move (target: under 100 ms),
  and for reference the SQL count of "lookalike at reach r";
* the saved map of 50,000 points: load from gold and build the figure
  (target: 2 s or less);
* a new map of 50,000 points after the UMAP warm-up (target: 30 s or less),
  once, with the warm-up's own time shown beside it.

Runs, models and maps are written to the warehouse (use a copy: the default
file lives in the git-ignored data/ folder).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from pathlib import Path

import duckdb
import numpy as np

from bench import table
from services.discovery import fitting, maps, store
from services.discovery.clustering import DEFAULT_FEATURES
from services.discovery.fitting import train_lookalike
from services.segments.catalog import load_catalog, saved_targets
from services.segments.compiler import compile_definition
from services.segments.estimate import count
from services.segments.spec import Group, SegmentDefinition, Trait
from services.segments.workspace import Workspace
from services.warehouse.duckdb_engine import DuckDBWarehouse

SEED = SegmentDefinition("Champions", Group("all", (Trait("rfm_segment", "in", values=("Champions",)),)))


def row(name: str, samples: list[float], target: float | None, note: str = "") -> str:
    # Few slow repeats: the worst one says more than a p90.
    return table.row(name, samples, target, note, spread="worst", number="10.3f", name_width=50, target_width=8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.models")
    parser.add_argument("--warehouse", type=Path, default=Path("data/bench-1m.duckdb"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--map-points", type=int, default=50_000)
    args = parser.parse_args(argv)
    if not args.warehouse.exists():
        parser.error(f"{args.warehouse} does not exist: build it with `python -m bench.segments` or copy one")

    warehouse = DuckDBWarehouse(args.warehouse)
    catalog = load_catalog(warehouse)
    features = tuple(f for f in DEFAULT_FEATURES if f in catalog.names)
    lines = []

    runs, with_profile = [], []
    for _ in range(args.repeat):
        run, t = fitting.run_clustering(warehouse, catalog, features=features, algorithm="kmeans", k=8,
                                             author="bench")
        runs.append(t.fetch_s + t.fit_s + t.save_s)
        with_profile.append(t.total_s)
    lines.append(row("clustering run, k-means k=8 (fetch, fit, assign, save)", runs, 5.0,
                     f"{run.customers:,} customers, {len(features)} features"))
    lines.append(row("  the same with profiles and rule explanations", with_profile, None))

    fits, saves, models = [], [], []
    for _ in range(args.repeat):
        saved, model, t = train_lookalike(Workspace(warehouse, catalog=catalog), SEED, author="bench")
        fits.append(t.fetch_s + t.fit_s)
        saves.append(t.save_s)
        models.append(saved)
    lines.append(row("lookalike fit + score every customer (logistic)", fits, 5.0,
                     f"seed {saved.seed_size:,}, {saved.eligible:,} scored, AUC {saved.auc:.3f}"))
    lines.append(row("  saving the scores to gold", saves, None))

    rng = random.Random(0)
    slider = []
    for _ in range(200):
        reach = rng.choice(np.arange(1.0, 20.5, 0.5))
        t0 = time.perf_counter()
        saved.at(reach)
        slider.append(time.perf_counter() - t0)
    lines.append(row("reach slider move (saved curve lookup)", slider, 0.1))
    lookalike_catalog = catalog.with_targets(saved_targets(warehouse))
    sql_counts = []
    for reach in (1.0, 5.0, 10.0, 20.0):
        t0 = time.perf_counter()
        count(warehouse, compile_definition(saved.segment(reach), lookalike_catalog))
        sql_counts.append(time.perf_counter() - t0)
    lines.append(row("  for reference: SQL count of lookalike at reach r", sql_counts, None))

    warm_s = maps.warm_up()
    t0 = time.perf_counter()
    timings = fitting.compute_map(warehouse, catalog, run.run_id, points=args.map_points)
    new_map = time.perf_counter() - t0
    lines.append(row(f"new map of {args.map_points:,} points after warm-up", [new_map], 30.0,
                     f"UMAP {timings.embed_s:.1f} s; warm-up before it took {warm_s:.1f} s"))

    from components.clusters import (
        map_figure,  # the figure the page draws (plain plotly, no Streamlit call)
    )

    loads = []
    for _ in range(max(args.repeat, 5)):
        t0 = time.perf_counter()
        frame = store.load_map(warehouse, run.run_id)
        map_figure(frame, "cluster", {c: run.cluster_name(c) for c in run.cluster_ids})
        loads.append(time.perf_counter() - t0)
    lines.append(row(f"saved map of {len(frame):,} points: load + figure", loads, 2.0))

    print(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
          f"duckdb {duckdb.__version__}")
    print(f"warehouse: {args.warehouse} · {catalog.base_count:,} customers with features · as of "
          f"{catalog.as_of_date} · {args.repeat} runs per case unless noted")
    print(f"{'case':<50} {'median s':>10} {'worst s':>10} {'target':>8} {'':>7}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
