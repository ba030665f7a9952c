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
