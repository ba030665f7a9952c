"""The cluster map: a stratified sample, embedded once and saved; loading never recomputes.

UMAP compiles with numba on first use, so this module computes exactly one
small map (well under 4,096 points, where UMAP would switch to its
nearest-neighbour descent and compile much more).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.discovery import fitting, maps, store

FEATURES = ("recency_days", "frequency", "monetary", "online_share")
POINTS = 400


def test_stratified_sample_keeps_shares_and_small_clusters():
    labels = pd.Series(np.repeat([1, 2, 3], [9_000, 950, 50]), index=[f"c{i}" for i in range(10_000)])
    chosen = maps.stratified_sample(labels, 1_000, random_state=0)
    counts = labels.loc[chosen].value_counts()
    # shares 90 / 9.5 / 0.5%, but the smallest keeps MIN_PER_CLUSTER points, taken from the largest
    assert (counts[1], counts[2], counts[3]) == (855, 95, 50)
    assert chosen.is_unique and len(chosen) == 1_000
    again = maps.stratified_sample(labels, 1_000, random_state=0)
    assert list(again) == list(chosen)
    assert len(maps.stratified_sample(labels.head(300), 1_000)) == 300


@pytest.fixture(scope="module")
def mapped(scratch_warehouse, scratch_catalog):
    run, _ = fitting.run_clustering(scratch_warehouse, scratch_catalog, features=FEATURES, k=3,
                                         author="test@example.com")
    steps = []
    timings = fitting.compute_map(scratch_warehouse, scratch_catalog, run.run_id, points=POINTS, n_epochs=50,
                                    progress=lambda step, fraction: steps.append(fraction))
    return run, timings, steps


def test_a_map_is_saved_once_and_loads_with_hover_features(scratch_warehouse, mapped):
    run, timings, steps = mapped
    assert steps == sorted(steps) and steps[-1] >= 0.95
    frame = store.load_map(scratch_warehouse, run.run_id)
    assert len(frame) == POINTS and frame["customer_id"].is_unique
    assert np.isfinite(frame[["x", "y"]].to_numpy()).all()
    # every point carries its own customer's cluster (mapped back by id, not by position)
    assert (frame.set_index("customer_id")["cluster_id"] == run.labels.loc[frame["customer_id"]]).all()
    assert frame["rfm_segment"].notna().all() and set(store.HOVER) <= set(frame.columns)
    saved = store.load_run(scratch_warehouse, run.run_id)
    assert saved.map_points == POINTS and saved.map_seconds == pytest.approx(timings.prepare_s + timings.embed_s,
                                                                              rel=0.05)


def test_the_estimate_before_a_new_map_learns_from_timed_maps(scratch_warehouse, mapped):
    warm = maps.expected_map_seconds(scratch_warehouse, 50_000, warm=True)
    cold = maps.expected_map_seconds(scratch_warehouse, 50_000, warm=False)
    assert cold == pytest.approx(warm + maps.COLD_START_SECONDS)
    assert warm > maps.OVERHEAD_SECONDS


def test_a_selection_has_no_map(scratch_warehouse, scratch_catalog, mapped):
    run, _, _ = mapped
    selection = store.save_selection(scratch_warehouse, list(run.labels.index[:10]), name="s",
                                            author="a", as_of_date=None)
    with pytest.raises(Exception, match="no map"):
        fitting.compute_map(scratch_warehouse, scratch_catalog, selection.run_id, points=100)
