"""AppTest smoke tests of the Cluster Explorer: run a small clustering, save a cluster as a segment."""

from __future__ import annotations


def run_small_clustering(at):
    at.multiselect(key="clusters_features").set_value(["recency_days", "frequency", "monetary"]).run()
    at.number_input(key="clusters_k").set_value(3).run()
    next(b for b in at.button if b.label == "Run clustering").click().run()
    assert not at.exception, at.exception
    return at


def test_no_runs_yet_says_how_to_start(app):
    at = app(page="pages/clusters.py", role="analyst")
    assert any("No clustering runs yet" in i.value for i in at.info)


def test_run_profile_and_save_a_cluster_as_segment(app):
    at = run_small_clustering(app(page="pages/clusters.py", role="analyst"))
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Clusters"] == "3"
    summary = at.dataframe[0].value
    assert list(summary["cluster"]) == [1, 2, 3] and summary["share"].sum() > 0.999
    assert any("Precision" in c.value and "recall" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Save cluster as segment").click().run()
    assert not at.exception, at.exception
    saved = [s.value for s in at.success]
    assert saved and "Saved" in saved[0] and "seg-" in saved[0]
    size = int(summary.loc[summary["cluster"] == 1, "customers"].iloc[0])
    assert f"({size:,} members)" in saved[0]


def test_a_rule_opens_in_the_builder_as_an_editable_draft(app):
    at = run_small_clustering(app(page="pages/clusters.py", role="analyst"))
    next(b for b in at.button if b.label == "Open rule in Segment Builder").click().run()
    assert not at.exception, at.exception
    assert at.text_input(key="builder_name").value.endswith("(rule)")
    assert int(next(m.value for m in at.metric if m.label == "Audience").replace(",", "")) > 0
    assert any(b.label == "Save as new segment" for b in at.button)


def test_a_viewer_cannot_start_a_run(app):
    at = app(page="pages/clusters.py", role="viewer")
    assert next(b for b in at.button if b.label == "Run clustering").disabled


def test_a_saved_map_is_drawn_from_gold_and_selection_ids_come_from_customdata(app):
    import os

    from components.clusters import selected_ids
    from components.warehouse import get_warehouse
    from services.discovery import fitting
    from services.segments.catalog import load_catalog

    at = app(page="pages/clusters.py", role="analyst")
    # The app's own connection (cached per process), so both sides see one DuckDB file.
    warehouse = get_warehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"])
    catalog = load_catalog(warehouse)
    run, _ = fitting.run_clustering(warehouse, catalog, features=("recency_days", "monetary"), k=3,
                                         author="test@example.com")
    fitting.compute_map(warehouse, catalog, run.run_id, points=300, n_epochs=30)
    from components import clusters

    clusters.clear()
    at.run()
    assert not at.exception, at.exception
    assert at.toggle(key="clusters_show_map").value  # a run with a saved map shows it
    assert len(at.get("plotly_chart")) >= 2  # heatmap and map
    assert not any("No map for this run yet" in i.value for i in at.info)

    event = {"selection": {"points": [{"customdata": ["C1", "High spend"]}, {"customdata": ["C2", "x"]},
                                      {"customdata": ["C1", "High spend"]}]}}
    assert selected_ids(event) == ["C1", "C2"]
    assert selected_ids(None) == []


def test_the_suggested_k_fills_the_k_box(app):
    import re

    at = app(page="pages/clusters.py", role="analyst")
    assert at.number_input(key="clusters_k").value == 6
    next(b for b in at.button if b.label == "Suggest k").click().run()
    assert not at.exception, at.exception
    (said,) = [c.value for c in at.caption if c.value.startswith("Suggested k")]
    best = int(re.search(r"\*\*(\d+)\*\*", said).group(1))
    assert at.number_input(key="clusters_k").value == best
    assert "now in the k box" in said


def test_a_viewer_is_told_why_it_cannot_run_and_long_values_are_not_metrics(app):
    at = run_small_clustering(app(page="pages/clusters.py", role="analyst"))
    assert {m.label for m in at.metric} == {"Clusters", "Customers", "Algorithm"}
    assert any("scaling: log1p for money and counts, then standard" in c.value for c in at.caption)
    viewer = app(page="pages/clusters.py", role="viewer")
    run = next(b for b in viewer.button if b.label == "Run clustering")
    assert run.help == "Your role (viewer) may not run clustering; roles that may: analyst, manager, admin."
    save = next(b for b in viewer.button if b.label == "Save cluster as segment")
    assert save.disabled and save.help.startswith("Your role (viewer) may not save segments")
