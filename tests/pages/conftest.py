"""AppTest runs the real app script against a private copy of the demo warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def app(demo_warehouse_path, tmp_path, monkeypatch):
    """A factory: app(role=..., page=..., query=...) -> a run AppTest."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    monkeypatch.setenv("SEGMENT_STUDIO_WAREHOUSE", str(path))

    monkeypatch.delenv("SEGMENT_STUDIO_ROLE", raising=False)
    monkeypatch.delenv("SEGMENT_STUDIO_USER", raising=False)

    def run(*, page: str | None = None, role: str | None = None, user: str | None = None,
            query: dict | None = None) -> AppTest:
        if role:
            monkeypatch.setenv("SEGMENT_STUDIO_ROLE", role)
        if user:
            monkeypatch.setenv("SEGMENT_STUDIO_USER", user)
        at = AppTest.from_file(APP, default_timeout=120)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, at.exception
        return at

    return run
