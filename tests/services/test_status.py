"""What the Home page reads about a warehouse."""

from __future__ import annotations


def test_expected_full_build_is_the_slowest_recent_build(demo_warehouse):
    from services.status import expected_full_build_seconds

    seconds = expected_full_build_seconds(demo_warehouse)
    assert seconds is not None and seconds > 0
    durations = demo_warehouse.df(
        "SELECT epoch(finished_ts) - epoch(started_ts) AS s FROM "
        "customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_build_runs "
        "WHERE status = 'succeeded'")["s"]
    assert abs(seconds - durations.max()) < 1e-3


def test_status_is_two_rounds_of_reads_with_the_figures_of_the_warehouse(demo_warehouse):
    from services import naming
    from services.status import warehouse_status
    from services.warehouse.roundtrips import CountingWarehouse

    counted = CountingWarehouse(demo_warehouse)
    status = warehouse_status(counted)
    # The tables of every schema in one read; then counts (with the as-of date), build records,
    # the last reconciliation and gold's columns, at once.
    assert [c.method for c in counted.calls[:1]] == ["tables_of"] and counted.total == 5
    gold = naming.fq("gold", "gold_customer_features")
    assert status.gold_customers == demo_warehouse.scalar(f"SELECT COUNT(*) FROM {gold}")
    assert str(status.as_of_date) == "2026-10-31" and status.build_status == "succeeded" and status.reconciled
    assert status.gold_columns == len(demo_warehouse.columns(*gold.split(".")))
    assert status.tables_per_source == {"ingest": 20, "ops": 20, "gov": 20, "cost": 20, "txn": 20, "gold": 9}
    assert status.missing_tables == ()
    assert status.rows_per_source["txn"] == sum(
        demo_warehouse.scalar(f"SELECT COUNT(*) FROM {naming.schema('txn')}.{t}")
        for t in demo_warehouse.tables(naming.schema("txn")))
    assert status.expected_rebuild_s is not None and status.expected_rebuild_s > 0
