"""What the Builder shows while a marketer edits (issue 13): numbers that can be typed (finding 11), how
many customers with no value a negation keeps (finding 7), the audience always in view, the holdout's
counts, segment sizes in the membership picker, overlap with every saved segment, labelled members,
and a restore from the Builder's version picker."""

from __future__ import annotations

import json
import math
import os

from components.segments import cached_library
from services import naming
from services.segments.catalog import load_catalog
from services.segments.library import SegmentLibrary
from services.segments.spec import Group, SegmentDefinition, Trait
from services.warehouse.duckdb_engine import DuckDBWarehouse

GOLD = naming.fq("gold", "gold_customer_features")


def audience(at) -> int:
    return int(next(m.value for m in at.metric if m.label == "Audience").replace(",", ""))


def scalar(sql: str):
    warehouse = DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"])
    try:
        return warehouse.scalar(sql)
    finally:
        warehouse.close()


def add_trait_on(at, field: str):
    next(b for b in at.button if b.label == "+ Trait").click().run()
    box = next(s for s in at.selectbox if s.key and s.key.endswith("_field"))
    box.set_value(field).run()
    return box.key.removesuffix("_field")


def is_round(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m) for m in (1, 2, 5))


def test_a_number_has_a_box_beside_its_slider_round_steps_and_starts_at_the_median(app):
    at = app(page="pages/builder.py")
    prefix = add_trait_on(at, "monetary")  # Net spend: from below zero to a long tail of big spenders
    slider = next(s for s in at.slider if s.key and s.key.startswith(prefix))
    box = next(n for n in at.number_input if n.key and n.key.startswith(prefix))
    assert is_round(slider.step) and math.isclose(slider.min / slider.step, round(slider.min / slider.step))
    warehouse = DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"])
    median = load_catalog(warehouse).domains["monetary"].median
    warehouse.close()
    assert slider.value == box.value and abs(box.value - median) <= 0.05 * median  # the median, rounded
    assert len(f"{box.value:g}".replace(".", "").strip("0")) <= 2  # two significant digits: a round figure

    box.set_value(500.0).run()  # a value between the slider's steps: typed
    assert not at.exception
    assert next(s for s in at.slider if s.key and s.key.startswith(prefix)).value == 500.0
    assert audience(at) == scalar(f"SELECT count(*) FROM {GOLD} WHERE monetary >= 500")


def test_a_negation_says_how_many_customers_with_no_value_it_keeps(app):
    at = app(page="pages/builder.py")
    prefix = add_trait_on(at, "gender")
    next(s for s in at.selectbox if s.key and s.key.startswith(prefix) and s.key.endswith("_op")).set_value("not_in").run()
    at.multiselect[-1].set_value(["F"]).run()
    empty = scalar(f"SELECT count(*) FROM {GOLD} WHERE gender IS NULL")
    assert empty > 0
    assert any(f"Also keeps the {empty:,} customers with no gender" in c.value for c in at.caption)
    assert audience(at) == scalar(f"SELECT count(*) FROM {GOLD} WHERE gender IS DISTINCT FROM 'F'")


def test_the_audience_stays_in_view_and_the_holdout_shows_its_counts(app):
    at = app(page="pages/builder.py", query={"segment": "sample-vip-champions-early-access"})
    size = audience(at)
    assert next(m.value for m in at.sidebar.metric if m.label == "Draft audience") == f"{size:,}"
    at.toggle(key="builder_split_on").set_value(True).run()
    at.number_input(key="builder_control_pct_box").set_value(20.0).run()
    assert at.slider(key="builder_control_pct").value == 20.0
    holdout = next(m.value for m in at.markdown if m.value.startswith("control **"))
    counts = {part.split(" **")[0]: int(part.split("**")[1].replace(",", "")) for part in holdout.split(" · ")}
    assert set(counts) == {"control", "treatment"} and sum(counts.values()) == size
    assert 0 < counts["control"] < counts["treatment"]


def test_pickers_show_sizes_overlap_covers_every_saved_segment_and_members_read_in_labels(app):
    app()
    warehouse = DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"])
    for tier in ("bronze", "silver", "gold", "platinum"):  # 14 saved segments: more than the 12 shown before
        SegmentLibrary(warehouse).save(SegmentDefinition(f"Tier {tier}", Group("all", (
            Trait("loyalty_tier", "in", values=(tier,)),))), author="ann@example.com")
    warehouse.close()
    cached_library.clear()  # saved behind the app's back (Home listed the library moments ago)
    at = app(page="pages/builder.py")
    next(b for b in at.button if b.label == "+ Membership").click().run()
    picker = next(s for s in at.selectbox if s.key and s.key.endswith("_segment"))
    library = SegmentLibrary(DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"]))
    vip = library.get("sample-vip-champions-early-access")
    assert picker.format_func(vip.segment_id) == f"{vip.definition.name} · {vip.audience_size:,} members"
    unsized = library.list(search="Tier gold")["segment_id"][0]  # saved without a count: its name alone
    assert picker.format_func(unsized) == "Tier gold"

    at.segmented_control(key="builder_view").set_value("Overlap").run()
    chart = json.loads(at.get("plotly_chart")[-1].proto.spec)
    bars = {tuple(trace["y"]) for trace in chart["data"]}
    assert len(bars) == 1 and len(next(iter(bars))) == len(library.list()) == 14  # all of them, by name
    assert "VIP champions: early access" in next(iter(bars))

    at.segmented_control(key="builder_view").set_value("Members").run()
    columns = list(at.dataframe[0].value.columns)
    assert "Net spend" in columns and "RFM segment" in columns
    assert not any("_" in c for c in columns)


def test_an_older_version_is_restored_from_the_builder(app):
    app()
    warehouse = DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"])
    library = SegmentLibrary(warehouse)
    v1 = library.save(SegmentDefinition("Restorable", Group("all", (Trait("rfm_segment", "in", values=("Lost",)),))),
                      author="ann@example.com")
    library.save(SegmentDefinition("Restorable", Group("all", (Trait("rfm_segment", "in", values=("Loyal",)),))),
                 author="ann@example.com", segment_id=v1.segment_id)
    warehouse.close()
    at = app(page="pages/builder.py", query={"segment": v1.segment_id})
    assert at.multiselect[0].value == ["Loyal"]
    assert at.button(key="builder_save_version").disabled  # nothing changed in the latest version
    at.selectbox(key="builder_version_pick").set_value(1).run()
    assert at.multiselect[0].value == ["Lost"]
    assert any("a restore" in c.value for c in at.caption)
    at.button(key="builder_save_version").click().run()
    assert not at.exception
    restored = SegmentLibrary(DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"])).get(v1.segment_id)
    assert (restored.version, restored.note) == (3, "restored from v1")
    assert restored.definition.rule == v1.definition.rule
