"""AppTest smoke tests of the Segment Builder."""

from __future__ import annotations

from components.text import plain


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_empty_builder_counts_everyone(app):
    at = app(page="pages/builder.py")
    base = int(metric(at, "Audience").replace(",", ""))
    assert base > 1000
    assert metric(at, "Of customers") == "100.0%"


def test_opening_a_shared_link_loads_the_segment_and_its_count(app, demo_warehouse):
    from services.segments.library import SegmentLibrary

    saved = SegmentLibrary(demo_warehouse).get("sample-vip-champions-early-access")
    at = app(page="pages/builder.py", query={"segment": "sample-vip-champions-early-access"})
    assert at.text_input(key="builder_name").value == "VIP champions: early access"
    assert int(metric(at, "Audience").replace(",", "")) == saved.audience_size


def test_adding_a_condition_by_clicking_changes_the_count(app):
    at = app(page="pages/builder.py")
    base = metric(at, "Audience")
    add_trait = next(b for b in at.button if b.label == "+ Trait")
    add_trait.click().run()
    assert any("not counted until complete" in w.value for w in at.warning)
    at.multiselect[0].select("Champions").run()
    assert not at.exception
    assert metric(at, "Audience") != base
    assert not at.warning


def test_sql_view_shows_databricks_sql(app):
    at = app(page="pages/builder.py", query={"segment": "sample-beauty-enthusiasts"})
    at.segmented_control(key="builder_view").set_value("SQL").run()
    code = at.code[0].value
    assert "SELECT" in code and "`category` IN ('beauty')" in code


def test_members_are_masked_for_a_marketer(app):
    at = app(page="pages/builder.py", role="marketer", query={"segment": "sample-vip-champions-early-access"})
    at.segmented_control(key="builder_view").set_value("Members").run()
    frame = at.dataframe[0].value
    assert frame["Email"].str.contains(r"^\w\*\*\*@", regex=True).all()  # labelled columns (issue 13)


def test_a_failing_critical_check_shows_beside_the_field_it_affects(app):
    import os

    from services.quality.checks import CheckResult
    from services.segments.catalog_writer import write_catalog
    from services.warehouse.duckdb_engine import DuckDBWarehouse

    failing = CheckResult(dataset_id="customer_segmentation_for_retail_personalization_gold."
                                     "customer_segmentation_for_retail_personalization_gold_customer_features",
                          check_name="r_score_in_range", check_type="range", severity="critical", passed=False,
                          observed_value=3.0, threshold=0.0, details="3 rows outside 1..5",
                          affected_columns=("r_score", "rfm_segment"))
    # What a build whose checks found the failure writes into the catalog the Builder reads.
    warehouse = DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"])
    write_catalog(warehouse, checks=[failing], build_id="run-with-a-failure")
    warehouse.close()
    at = app(page="pages/builder.py", query={"segment": "sample-vip-champions-early-access"})
    assert any("r_score_in_range" in e.value and "3 rows outside 1..5" in e.value for e in at.error)
    assert any(c.value.startswith("as of 2026-10-31") for c in at.caption)


def test_a_cluster_condition_names_its_run_not_its_id(app):
    import os

    from services.discovery.store import save_selection
    from services.segments.library import SegmentLibrary
    from services.segments.spec import Group, Membership, SegmentDefinition
    from services.warehouse.duckdb_engine import DuckDBWarehouse

    warehouse = DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"])
    members = warehouse.arrow("SELECT customer_id FROM customer_segmentation_for_retail_personalization_gold."
                              "customer_segmentation_for_retail_personalization_gold_customer_features "
                              "ORDER BY customer_id LIMIT 7").column(0).to_pylist()
    run = save_selection(warehouse, members, name="Lasso of big spenders", author="t@example.com", as_of_date=None)
    segment = SegmentLibrary(warehouse).save(SegmentDefinition("from the map", Group("all", (
        Membership(of="cluster", run_id=run.run_id, cluster_ids=(1,)),))), author="t@example.com")
    warehouse.close()

    at = app(page="pages/builder.py", query={"segment": segment.segment_id})
    picker = next(s for s in at.selectbox if s.value == run.run_id)
    assert picker.format_func(run.run_id).startswith("Lasso of big spenders (selection, ")
    assert metric(at, "Audience") == "7"


def test_a_rerun_compiles_the_rule_once_and_reads_the_catalog_at_most_once(app, count_calls, count_passes):
    from services.segments.catalog import read_catalog
    from services.segments.compiler import compile_definition
    from services.segments.compiler.draft import compile_draft

    at = app(page="pages/builder.py", query={"segment": "sample-vip-champions-early-access"})
    drafts, definitions, catalogs = count_calls(compile_draft), count_calls(compile_definition), count_calls(read_catalog)
    passes = count_passes()
    # A changed description misses the estimate's cache: the estimate runs on the draft compiled once.
    at.text_input(key="builder_description").input("Best customers, reachable by email").run()
    assert not at.exception
    assert [d["description"] for d in drafts] == ["Best customers, reachable by email"]
    assert definitions == [] and len(catalogs) <= 1
    assert passes == {"trait": 2}  # two conditions, each compiled once
    # A third condition, not complete yet: left out and named, in the same single compile.
    next(b for b in at.button if b.label == "+ Trait").click().run()
    assert not at.exception
    assert len(drafts) == 2 and definitions == [] and len(catalogs) <= 1
    assert passes == {"trait": 4}
    # The reason is user-facing text shown as plain text (escaped markdown source, same words on screen).
    assert any(e.value == f"Condition 3: {plain('RFM segment: pick at least one value')}" for e in at.error)
    assert any("not counted until complete" in w.value for w in at.warning)
