"""The feature catalog is data the build writes: known answers from the data, one query to read it."""

from __future__ import annotations

import shutil

import pytest

from services import naming
from services.build import check_and_catalog
from services.errors import CompileError
from services.quality.checks import CheckResult
from services.segments.catalog import load_catalog, read_catalog
from services.segments.catalog_writer import ddl_version, write_catalog
from services.segments.features import FEATURES
from services.warehouse.duckdb_engine import DuckDBWarehouse
from services.warehouse.roundtrips import CountingWarehouse
from tests.conftest import DEMO_CHECKED

GOLD = naming.fq("gold", "gold_customer_features")
FACT = naming.fq("txn", "fact_transactions")
CATALOG = naming.fq("gold", "gold_feature_catalog")


@pytest.fixture
def copy(demo_warehouse_path, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    warehouse = DuckDBWarehouse(path)
    yield warehouse
    warehouse.close()


def test_the_catalog_is_one_query_and_the_saved_targets_one_each(demo_warehouse):
    counted = CountingWarehouse(demo_warehouse)
    catalog = read_catalog(counted)
    assert counted.total == 1 and not catalog.targets_loaded
    assert load_catalog(counted).targets_loaded and counted.total == 1 + 3


def test_the_catalog_holds_what_the_data_says(demo_warehouse):
    catalog = read_catalog(demo_warehouse)
    count = lambda sql: demo_warehouse.scalar(sql)  # noqa: E731
    assert catalog.base_count == count(f"SELECT COUNT(*) FROM {GOLD}")
    assert str(catalog.as_of_date) == "2026-10-31"
    assert catalog.names == tuple(f.name for f in FEATURES)
    assert [(f.label, f.type, f.unit) for f in catalog.features] == [(f.label, f.type, f.unit) for f in FEATURES]
    segments = {r["rfm_segment"]: r["n"] for r in demo_warehouse.arrow(
        f"SELECT rfm_segment, COUNT(*) AS n FROM {GOLD} GROUP BY 1").to_pylist()}
    assert dict(catalog.domains["rfm_segment"].values) == segments
    monetary = catalog.domains["monetary"]
    assert monetary.minimum == float(count(f"SELECT MIN(monetary) FROM {GOLD}"))
    assert monetary.maximum == float(count(f"SELECT MAX(monetary) FROM {GOLD}"))
    assert len(monetary.histogram) == 20 and monetary.histogram[0][0] == monetary.minimum
    assert sum(n for _, _, n in monetary.histogram) == count(f"SELECT COUNT(monetary) FROM {GOLD}")
    # A whole-number feature with few values gets a bin per value: r_score is 1..5.
    assert [n for _, _, n in catalog.domains["r_score"].histogram] == [
        count(f"SELECT COUNT(*) FROM {GOLD} WHERE r_score = {score}") for score in range(1, 6)]
    gender = catalog.health["gender"]
    assert gender.null_rate == pytest.approx(count(f"SELECT AVG(CASE WHEN gender IS NULL THEN 1 ELSE 0 END) FROM {GOLD}"))
    assert catalog.domains["gender"].null_count == count(f"SELECT COUNT(*) - COUNT(gender) FROM {GOLD}") > 0
    assert set(catalog.health) == {c for c, _ in demo_warehouse.columns(*GOLD.split("."))}
    assert catalog.behavior_values["categories"] == tuple(sorted(
        demo_warehouse.arrow(f"SELECT DISTINCT category FROM {FACT} WHERE category IS NOT NULL").column(0).to_pylist()))
    assert catalog.domains["email_opt_in"].minimum is False and catalog.domains["email_opt_in"].maximum is True
    assert catalog.ddl_version == ddl_version() and catalog.build_id.startswith("run")


def test_each_build_replaces_the_catalog_with_its_own_and_the_checks_verdict(copy):
    before = read_catalog(copy)
    failing = CheckResult("gold", "r_score_in_range", "validity", "critical", False, 3.0, 0.0, "3 rows outside 1..5",
                          ("r_score", "rfm_segment"))
    counted = CountingWarehouse(copy)
    write_catalog(counted, checks=[failing], build_id="run-next")
    # Three statements compute it, one transaction (DuckDB: delete and insert) writes it.
    assert [c.method for c in counted.calls] == ["columns", "arrow", "arrow", "arrow", "transaction", "transaction"]
    after = read_catalog(copy)
    assert (after.build_id, after.marker) == ("run-next", f"run-next@{after.as_of_date}") and after.marker != before.marker
    assert copy.scalar(f"SELECT COUNT(*) FROM {CATALOG}") == copy.scalar(f"SELECT COUNT(DISTINCT build_id || field_kind "
                                                                         f"|| field_name) FROM {CATALOG}") == 42
    assert after.health["rfm_segment"].failing_checks == (failing,) and after.health["rfm_segment"].has_critical_failure
    assert after.health["monetary"].healthy
    assert after.domains == before.domains


def test_a_build_reads_its_checks_into_the_catalog(copy):
    copy.execute(f"UPDATE {GOLD} SET r_score = 7 WHERE customer_id = (SELECT MIN(customer_id) FROM {GOLD})")
    check_and_catalog(copy, run_id="run-broken", checked_ts=DEMO_CHECKED)
    catalog = read_catalog(copy)
    assert catalog.build_id == "run-broken"
    assert [c.check_name for c in catalog.health["r_score"].failing_checks] == ["r_score_in_range"]


def test_without_a_build_the_catalog_says_to_build(empty_warehouse):
    with pytest.raises(CompileError, match="is empty: build the warehouse"):
        read_catalog(empty_warehouse)
    empty_warehouse.execute(f"DROP TABLE {CATALOG}")
    with pytest.raises(CompileError, match="cannot be read: build the warehouse"):
        read_catalog(empty_warehouse)


def test_a_catalog_of_an_empty_gold_table_says_so(empty_warehouse):
    assert write_catalog(empty_warehouse, checks=[], build_id="run-empty") == 42
    with pytest.raises(CompileError, match="the gold table is empty"):
        read_catalog(empty_warehouse)
