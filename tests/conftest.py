"""Shared fixtures: real DuckDB warehouses, small and built once per session."""

from __future__ import annotations

import os
import sys
from collections import Counter
from dataclasses import replace

import pytest

# No UMAP warm-up in the apps tests start (AppTest in this process, servers in subprocesses, which inherit
# the environment): it takes a core for a minute, and the map tests compile UMAP once, on purpose.
os.environ.setdefault("SEGMENT_STUDIO_WARM_UP_MAPS", "0")

from services.build import build
from services.pipeline.models import create_all
from services.segments.conditions import KINDS
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


@pytest.fixture
def count_calls(monkeypatch):
    """``count_calls(fn)`` -> a list of the first argument of every call of ``fn`` from now on.

    Every binding of ``fn`` in the project's loaded modules is wrapped (``from x import fn``
    makes one per importer), so a call is counted whichever module makes it.
    """

    def install(fn):
        calls = []

        def counted(*args, **kwargs):
            calls.append(args[0] if args else None)
            return fn(*args, **kwargs)

        for module in list(sys.modules.values()):
            if not getattr(module, "__name__", "").startswith(("services", "components", "pages")):
                continue
            for attr, value in list(vars(module).items()):
                if value is fn:
                    monkeypatch.setattr(module, attr, counted)
        return calls

    return install


@pytest.fixture
def count_passes(monkeypatch):
    """``count_passes()`` -> a Counter of the compiler passes run from now on, by kind of condition."""

    def install() -> Counter:
        counts: Counter = Counter()

        def counting(name, compile_pass):
            def counted(condition, ctx):
                counts[name] += 1
                return compile_pass(condition, ctx)
            return counted

        for name, kind in list(KINDS.items()):
            monkeypatch.setitem(KINDS, name, replace(kind, compile=counting(name, kind.compile)))
        return counts

    return install
