"""Browser tests: the real app in a subprocess on a free localhost port, driven by
Playwright through Debian's Chromium (Playwright cannot download its own here)."""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest

from services.devserver import running_app
from services.quality import run_checks
from services.warehouse.duckdb_engine import DuckDBWarehouse


@pytest.fixture(scope="session")
def e2e_warehouse(demo_warehouse_path, tmp_path_factory) -> Path:
    """A private copy: the app's process takes DuckDB's file lock."""
    target = tmp_path_factory.mktemp("e2e") / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, target)
    return target


@pytest.fixture(scope="session")
def app_url(e2e_warehouse, tmp_path_factory):
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with running_app(e2e_warehouse, log=log, env={"SEGMENT_STUDIO_USER": "e2e@example.com"}) as url:
        yield url


@pytest.fixture(scope="session")
def served(demo_warehouse_path, tmp_path_factory):
    """``served(role)`` -> (base URL, its folder): one app per role for the whole session, started on first
    use, each on its own copy of the demo (the app's process takes DuckDB's file lock), as
    ``<role>@example.com`` with the role pinned and exports written to ``<folder>/exports``.

    The manager's copy has its checks run again by today's clock: the demo's data is weeks old, so
    gold's freshness fails and the export gate is there for the manager to override.
    """
    apps: dict[str, tuple[str, Path]] = {}
    with ExitStack() as stack:
        def serve(role: str) -> tuple[str, Path]:
            if role not in apps:
                folder = tmp_path_factory.mktemp(f"e2e_{role}")
                warehouse = folder / "warehouse.duckdb"
                shutil.copy(demo_warehouse_path, warehouse)
                if role == "manager":
                    copy = DuckDBWarehouse(warehouse)
                    run_checks(copy, run_id="chk-today")
                    copy.close()
                env = {"SEGMENT_STUDIO_ROLE": role, "SEGMENT_STUDIO_USER": f"{role}@example.com",
                       "SEGMENT_STUDIO_EXPORT_DIR": str(folder / "exports")}
                url = stack.enter_context(running_app(warehouse, log=folder / "server.log", env=env))
                apps[role] = (url, folder)
            return apps[role]

        yield serve
