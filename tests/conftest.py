"""Shared fixtures: real DuckDB warehouses, small and built once per session."""

from __future__ import annotations

import os
import sys
from collections import Counter
from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

# No UMAP warm-up in the apps tests start (AppTest in this process, servers in subprocesses, which inherit
# the environment): it takes a core for a minute, and the map tests compile UMAP once, on purpose.
os.environ.setdefault("SEGMENT_STUDIO_WARM_UP_MAPS", "0")
# A demo built by a CLI or an app a test starts ends on the fixed day the known answers were worked
# out for (the app's own default is the day before the build).
os.environ.setdefault("SEGMENT_STUDIO_DEMO_END", "2026-10-31")

from services.build import build, check_and_catalog
from services.demo.calendar import DEMO_END
from services.devserver import CHROMIUM, CHROMIUM_ARGS
from services.pipeline.models import create_all
from services.segments.conditions import KINDS
from services.warehouse.duckdb_engine import DuckDBWarehouse

SMALL_DEMO_CUSTOMERS = 3_000
#: when the demo's data-quality checks are read as run: the morning after the demo data's last day.
#: Freshness is the data's age at the check, so a build checked by today's clock would make every
#: test depend on the date it runs (the tests' demo ends on a fixed day; the calendar moves on).
DEMO_CHECKED = datetime.combine(DEMO_END + timedelta(days=1), time(6, 0))


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
    result = build(warehouse, customers=SMALL_DEMO_CUSTOMERS, seed=7)
    # Judged as on the day after the pinned demo ends, the catalog with them (it carries their verdict).
    check_and_catalog(warehouse, run_id=result.run_id, checked_ts=DEMO_CHECKED)
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


# Browser fixtures live here, once for every test directory: two sessions of Playwright's sync API
# cannot run in one process (the second refuses to start inside the first one's event loop).
@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect

    # Assertions wait as long as page actions do: on a shared 2-core machine the first
    # render of a page can take longer than Playwright's 5-second default.
    expect.set_options(timeout=30_000)
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
