"""Shared fixtures: real DuckDB warehouses, small and built once per session."""

from __future__ import annotations

import os

import pytest

# No UMAP warm-up in the apps tests start (AppTest in this process, servers in subprocesses, which inherit
# the environment): it takes a core for a minute, and the map tests compile UMAP once, on purpose.
os.environ.setdefault("SEGMENT_STUDIO_WARM_UP_MAPS", "0")

from services.build import build
from services.pipeline.models import create_all
from services.warehouse.duckdb_engine import DuckDBWarehouse

SMALL_DEMO_CUSTOMERS = 3_000


@pytest.fixture
def empty_warehouse():
    """An in-memory warehouse with every table created and no rows."""
    warehouse = DuckDBWarehouse(":memory:")
    create_all(warehouse)
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="session")
def demo_warehouse_path(tmp_path_factory):
    """A small demo warehouse file built once; tests must not modify it."""
    path = tmp_path_factory.mktemp("demo") / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path)
    build(warehouse, customers=SMALL_DEMO_CUSTOMERS, seed=7)
    warehouse.close()
    return path


@pytest.fixture(scope="session")
def demo_warehouse(demo_warehouse_path):
    # Same configuration as the app (read-write): DuckDB refuses two configurations of one file in a process.
    warehouse = DuckDBWarehouse(demo_warehouse_path)
    yield warehouse
    warehouse.close()
