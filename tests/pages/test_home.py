"""AppTest smoke test of the entry point and the Home page on a small demo warehouse."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_home_shows_the_warehouse(demo_warehouse_path, monkeypatch):
    monkeypatch.setenv("SEGMENT_STUDIO_WAREHOUSE", str(demo_warehouse_path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Engine"] == "DuckDB"
    assert metrics["As-of date"] == "2026-10-31"
    assert int(metrics["Customers with features"].replace(",", "")) > 1000
    assert metrics["Reconciled"] == "Yes"
    table = at.table[0].value
    assert list(table["tables"]) == [20, 20, 20, 20, 20, 2]
    assert all(int(rows.replace(",", "")) > 0 for rows in table["rows"])
