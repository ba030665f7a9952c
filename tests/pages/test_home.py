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
    assert list(table["tables"]) == [20, 20, 20, 20, 20, 9]  # gold: features, category spend, activity, the feature
    # catalog, 5 for clusters/lookalikes
    assert all(int(rows.replace(",", "")) > 0 for rows in table["rows"])


def test_an_admin_sees_the_rebuild_estimate_before_clicking(demo_warehouse_path, tmp_path, monkeypatch):
    import shutil

    path = tmp_path / "w.duckdb"
    shutil.copy(demo_warehouse_path, path)
    monkeypatch.setenv("SEGMENT_STUDIO_WAREHOUSE", str(path))
    monkeypatch.setenv("SEGMENT_STUDIO_ROLE", "admin")
    monkeypatch.setenv("SEGMENT_STUDIO_WAREHOUSE_PRICE", "36")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    # At 36 USD per hour a second of warehouse time costs one cent.
    assert "Expected to take about" in text and "at $36 per warehouse-hour" in text
    assert any(b.label == "Rebuild now (full refresh)" for b in at.button)


def test_a_marketer_has_no_rebuild(demo_warehouse_path, tmp_path, monkeypatch):
    import shutil

    path = tmp_path / "w.duckdb"
    shutil.copy(demo_warehouse_path, path)
    monkeypatch.setenv("SEGMENT_STUDIO_WAREHOUSE", str(path))
    monkeypatch.setenv("SEGMENT_STUDIO_ROLE", "marketer")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not any(b.label == "Rebuild now (full refresh)" for b in at.button)


def test_a_warehouse_built_by_an_earlier_version_is_brought_up_to_date_on_opening(demo_warehouse_path, tmp_path,
                                                                                   monkeypatch):
    import shutil

    from services import naming
    from services.pipeline.models import missing_tables
    from services.warehouse.duckdb_engine import DuckDBWarehouse

    path = tmp_path / "w.duckdb"
    shutil.copy(demo_warehouse_path, path)
    activity, cache = naming.fq("gold", "gold_customer_activity"), naming.fq("app", "app_export_identifiers")
    old = DuckDBWarehouse(path)
    for table in (activity, cache):  # what a warehouse built before these tables existed lacks
        old.execute(f"DROP TABLE {table}")
    old.execute(f"DELETE FROM {naming.fq('app', 'app_model_batches')} WHERE model_name = 'gold_customer_activity'")
    assert sorted(missing_tables(old)) == sorted([activity, cache])
    old.close()

    monkeypatch.setenv("SEGMENT_STUDIO_WAREHOUSE", str(path))
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    assert any("Upgrading the warehouse: 2 new table(s)" in i.value for i in at.info)

    upgraded = DuckDBWarehouse(path)  # the app in this process holds it open read-write, so the same here
    assert missing_tables(upgraded) == []
    facts = upgraded.scalar(f"SELECT COUNT(*) FROM {naming.fq('txn', 'fact_transactions')}")
    assert upgraded.scalar(f"SELECT COUNT(*) FROM {activity}") == facts > 0
    assert upgraded.scalar(f"SELECT COUNT(*) FROM {cache}") > 0
    upgraded.close()
