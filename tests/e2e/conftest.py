"""Browser tests: the real app in a subprocess on a free localhost port, driven by
Playwright through Debian's Chromium (Playwright cannot download its own here)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.devserver import CHROMIUM, CHROMIUM_ARGS, running_app


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
def browser():
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
