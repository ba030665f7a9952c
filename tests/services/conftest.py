"""Fixtures for service tests that write to a warehouse."""

from __future__ import annotations

import shutil

import pytest

from services.segments.catalog import load_catalog
from services.warehouse.duckdb_engine import DuckDBWarehouse


@pytest.fixture(scope="module")
def scratch_warehouse(demo_warehouse_path, tmp_path_factory):
    """A private copy of the demo warehouse that a module's tests may write to."""
    path = tmp_path_factory.mktemp("scratch") / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    warehouse = DuckDBWarehouse(path)
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="module")
def scratch_catalog(scratch_warehouse):
    return load_catalog(scratch_warehouse)
