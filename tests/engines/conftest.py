"""One Spark session and one small data set, shared by the whole engines suite.

The DuckDB warehouse is built by the real pipeline (demo data, silver, gold).
Spark gets the same DDL, the silver tables gold reads (copied from DuckDB
through Arrow), and then runs the gold models itself: the gold tables on the
two engines are each engine's own work from identical inputs. Silver is
copied rather than rebuilt because the silver models merge and delete rows,
which plain parquet tables on OSS Spark cannot do (see spark_engine.py).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pytest
from sqlglot import exp

from services import naming, sqlfiles
from services.build import GOLD, build
from services.pipeline.models import create_all, materialise
from services.segments.campaigns import sample_campaigns
from services.segments.catalog import FeatureCatalog, SavedTargets, load_catalog
from services.warehouse.duckdb_engine import DuckDBWarehouse

CUSTOMERS = 400
SEED = 11
CLUSTER_TABLE = naming.fq("gold", "gold_cluster_assignments")
LOOKALIKE_TABLE = naming.fq("gold", "gold_lookalike_scores")
#: clustering runs (run id -> cluster ids) and lookalike models made up for the tests
CLUSTER_RUNS = {"run-k4": (0, 1, 2, 3), "run-k3": (0, 1, 2)}
LOOKALIKE_MODELS = ("lal-champions", "lal-beauty")
TEST_CONF = {"spark.sql.adaptive.enabled": "false", "spark.ui.showConsoleProgress": "false"}


@dataclass(frozen=True)
class Engines:
    duckdb: DuckDBWarehouse
    spark: object  # SparkWarehouse; pyspark stays an optional import
    catalog: FeatureCatalog
    gold: pd.DataFrame  # DuckDB's gold features, to draw realistic values from


@pytest.fixture(scope="session")
def spark_warehouse(tmp_path_factory):
    """The suite's one Spark session (local, UTC, ANSI), stopped at the end."""
    if shutil.which("java") is None:
        pytest.fail("Spark needs a Java runtime: run `make test` (installs openjdk-17-jre-headless) or install one")
    from services.warehouse.spark_engine import SparkWarehouse, local_session

    # Adaptive execution re-plans after every stage: on tiny tables and queries of
    # many subqueries that costs more than it saves (twice as slow here).
    session = local_session(warehouse_dir=tmp_path_factory.mktemp("spark"), shuffle_partitions=1, conf=TEST_CONF)
    session.sparkContext.setLogLevel("ERROR")
    yield SparkWarehouse(session)
    session.stop()


def gold_inputs() -> list[str]:
    """Tables the gold models read (from their SQL), e.g. txn.fact_transactions."""
    names = {".".join((t.db, t.name)) for m in GOLD for t in sqlfiles.query(m.path).find_all(exp.Table) if t.db}
    return sorted(names)


def _membership_tables(gold: pd.DataFrame) -> dict[str, pa.Table]:
    """Deterministic cluster assignments and lookalike scores over the gold customers."""
    ids = sorted(gold["customer_id"])
    clusters = [(run, i % len(k) if run == "run-k4" else (i * 7) % len(k), cid)
                for run, k in CLUSTER_RUNS.items() for i, cid in enumerate(ids)]
    scores = []
    for model in LOOKALIKE_MODELS:
        ranked = sorted(ids, key=lambda c: hashlib.md5(f"{model}:{c}".encode()).hexdigest())
        for rank, cid in enumerate(ranked):
            scores.append((model, cid, round(1 - rank / len(ranked), 6), round(100 * (rank + 1) / len(ranked), 4)))
    return {
        CLUSTER_TABLE: pa.table({"run_id": [c[0] for c in clusters], "cluster_id": pa.array([c[1] for c in clusters], pa.int32()),
                                 "customer_id": [c[2] for c in clusters]}),
        LOOKALIKE_TABLE: pa.table({"model_id": [s[0] for s in scores], "customer_id": [s[1] for s in scores],
                                   "score": [s[2] for s in scores], "reach_pct": [s[3] for s in scores]}),
    }


@pytest.fixture(scope="session")
def engines(spark_warehouse, tmp_path_factory) -> Engines:
    duck = DuckDBWarehouse(tmp_path_factory.mktemp("engines") / "warehouse.duckdb")
    build(duck, customers=CUSTOMERS, seed=SEED)
    spark = spark_warehouse
    create_all(spark)
    # The activity table is incremental like silver, so it is copied too; segments read it.
    for name in (*gold_inputs(), naming.fq("gold", "gold_customer_activity")):
        spark.append(name, duck.arrow(exp.select("*").from_(name)))
        # In memory from here on: the gold model and the segment queries scan it many times over.
        spark.session.catalog.cacheTable(name)
    for model in GOLD:
        materialise(spark, model, {"as_of_date": None})
    # Ordered, so the random definitions drawn from these rows are the same on every run.
    gold = duck.df(exp.select("*").from_(naming.fq("gold", "gold_customer_features")).order_by("customer_id"))
    for table, rows in _membership_tables(gold).items():
        for warehouse in (duck, spark):
            warehouse.append(table, rows)
    for table in (*(m.target_fq for m in GOLD), CLUSTER_TABLE, LOOKALIKE_TABLE):
        spark.session.catalog.cacheTable(table)
    catalog = load_catalog(duck, targets=SavedTargets(cluster_runs=CLUSTER_RUNS, lookalike_models=LOOKALIKE_MODELS))
    yield Engines(duck, spark, catalog, gold)
    duck.close()


@pytest.fixture(scope="session")
def library():
    """The segment library the definitions may refer to: the sample campaigns by id."""
    return {s.segment_id: s.definition for s in sample_campaigns()}
