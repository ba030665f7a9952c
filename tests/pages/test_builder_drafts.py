"""The Builder's draft: it survives navigation whole, says when it has unsaved changes, never saves a
blanked field the user did not touch, and treats sample campaigns as read-only templates (issue 13,
finding 1); empty groups and empty audiences (finding 6); the waterfall of an ANY group (finding 10)."""

from __future__ import annotations

import os

from components.text import plain
from services.segments.library import SegmentLibrary
from services.segments.spec import Arm, Group, SegmentDefinition, Split, Trait
from services.warehouse.duckdb_engine import DuckDBWarehouse

SAMPLE = "sample-vip-champions-early-access"


def audience(at) -> int:
    return int(next(m.value for m in at.metric if m.label == "Audience").replace(",", ""))


def texts(at) -> list[str]:
    return [e.value for e in [*at.caption, *at.markdown, *at.warning, *at.info, *at.error]]


def saved_segment(definition: SegmentDefinition) -> str:
    """A segment saved straight into the app's warehouse (as another session would have)."""
    warehouse = DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"])
    saved = SegmentLibrary(warehouse).save(definition, author="ann@example.com")
    warehouse.close()
    return saved.segment_id


def library() -> SegmentLibrary:
    return SegmentLibrary(DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"]))


def add_trait(at, value: str = "Champions"):
    next(b for b in at.button if b.label == "+ Trait").click().run()
    at.multiselect[-1].set_value([value]).run()
    return at


def test_the_whole_draft_survives_leaving_the_builder_and_coming_back(app):
    at = app(page="pages/builder.py")
    add_trait(at)
    champions = audience(at)
    at.text_input(key="builder_name").input("Spring champions").run()
    at.text_input(key="builder_description").input("Champions for the spring push").run()
    at.toggle(key="builder_split_on").set_value(True).run()
    at.slider(key="builder_control_pct").set_value(20.0).run()
    assert not at.exception

    at.switch_page("pages/library.py").run()
    at.switch_page("pages/builder.py").run()
    assert not at.exception
    assert at.text_input(key="builder_name").value == "Spring champions"
    assert at.text_input(key="builder_description").value == "Champions for the spring push"
    assert at.toggle(key="builder_split_on").value is True
    assert at.slider(key="builder_control_pct").value == 20.0
    assert at.multiselect[0].value == ["Champions"] and audience(at) == champions
    assert any("Unsaved changes" in t for t in texts(at))


def test_saving_after_navigation_never_blanks_a_field_the_user_did_not_touch(app):
    app()  # the app's warehouse is ready
    segment_id = saved_segment(SegmentDefinition(
        "Loyal, held out", Group("all", (Trait("rfm_segment", "in", values=("Loyal",)),)),
        description="Loyal customers with a 20% holdout", split=Split(20, (Arm("treatment", 80),))))
    at = app(page="pages/builder.py", query={"segment": segment_id})
    at.switch_page("pages/library.py").run()
    at.switch_page("pages/builder.py").run()
    at.multiselect[0].set_value(["Loyal", "Champions"]).run()  # the one change the user makes
    at.button(key="builder_save_version").click().run()
    assert not at.exception

    v1, v2 = library().get(segment_id, 1), library().get(segment_id, 2)
    assert v2.definition.name == v1.definition.name == "Loyal, held out"
    assert v2.definition.description == v1.definition.description
    assert v2.definition.split == v1.definition.split
    assert v2.definition.rule.conditions[0].values == ("Loyal", "Champions")


def test_the_unsaved_changes_marker_follows_the_draft(app):
    app()
    segment_id = saved_segment(SegmentDefinition("Lost", Group("all", (Trait("rfm_segment", "in", values=("Lost",)),))))
    at = app(page="pages/builder.py", query={"segment": segment_id})
    assert not any("Unsaved changes" in t for t in texts(at))
    at.text_input(key="builder_description").input("Lost customers, for a win-back test").run()
    assert any("Unsaved changes" in t for t in texts(at))
    at.button(key="builder_save_version").click().run()
    assert not at.exception
    assert not any("Unsaved changes" in t for t in texts(at))
    assert library().get(segment_id).version == 2


def test_a_sample_campaign_is_a_read_only_template_saved_as_a_new_segment(app):
    at = app(page="pages/builder.py", query={"segment": SAMPLE})
    before = library().get(SAMPLE).version
    assert at.button(key="builder_save_version").disabled
    assert any("read-only template" in t for t in texts(at))
    at.text_input(key="builder_name").input("My VIP early access").run()
    assert at.button(key="builder_save_version").disabled
    at.button(key="builder_save_new").click().run()
    assert not at.exception
    saved_id = at.query_params["segment"][0] if isinstance(at.query_params["segment"], list) else at.query_params["segment"]
    assert saved_id != SAMPLE and library().get(saved_id).definition.name == "My VIP early access"
    assert library().get(SAMPLE).version == before


def test_an_empty_group_is_left_out_of_the_count_and_the_editor_says_so(app):
    at = app(page="pages/builder.py")
    base = audience(at)
    add_trait(at)
    champions = audience(at)
    next(b for b in at.button if b.label == "+ Group").click().run()
    assert not at.exception
    assert audience(at) == champions < base  # before: an empty ANY group matched no one, silently
    assert any("Group 2 has no conditions yet" in t for t in texts(at))


def test_saving_an_empty_audience_asks_for_confirmation(app):
    at = app(page="pages/builder.py")
    add_trait(at, "Champions")
    add_trait(at, "Lost")  # no one is both
    assert audience(at) == 0
    count = len(library().list())
    at.button(key="builder_save_new").click().run()
    assert not at.exception
    assert len(library().list()) == count  # not saved yet: asked first
    assert any("has no members" in w.value for w in at.warning)
    at.button(key="builder_confirm_empty").click().run()
    assert not at.exception
    assert len(library().list()) == count + 1


def test_the_waterfall_of_an_any_group_says_it_counts_matches_not_what_is_left(app):
    app()
    segment_id = saved_segment(SegmentDefinition("Champions or lost", Group("any", (
        Trait("rfm_segment", "in", values=("Champions",)), Trait("monetary", "gte", 1000)))))
    at = app(page="pages/builder.py", query={"segment": segment_id})
    shown = texts(at)
    assert not any("left after each condition" in t for t in shown)
    assert any("matched by any of the conditions so far" in t for t in shown)
    progress = [p.text for p in at.get("progress")]
    assert any(plain("RFM segment is Champions") in t for t in progress)
    assert any(plain("or Net spend at least $1,000") in t for t in progress)
    assert not any("monetary" in t or "rfm_segment" in t for t in progress)


def test_opening_any_sample_campaign_shows_no_unsaved_changes(app):
    """The editor's widgets write back exactly what was loaded: no false marker on any kind of condition."""
    at = app(page="pages/builder.py")
    samples = [sid for sid in library().list()["segment_id"] if sid.startswith("sample-")]
    assert len(samples) >= 10
    for segment_id in samples:
        at.query_params["segment"] = segment_id
        at.run()
        assert not at.exception, segment_id
        assert at.text_input(key="builder_name").value == library().get(segment_id).definition.name
        assert not any("Unsaved changes" in t for t in texts(at)), segment_id
        assert any("All changes saved as version 1" in t for t in texts(at)), segment_id
