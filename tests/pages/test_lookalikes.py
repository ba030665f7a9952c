"""AppTest smoke test of the Lookalikes page: train from a sample segment, move the slider, save."""

from __future__ import annotations

import os
from pathlib import Path

from components.text import plain
from services.discovery.lookalike import MIN_SEED
from services.segments.spec import SegmentDefinition
from services.segments.workspace import Workspace, save_segment
from services.warehouse.duckdb_engine import DuckDBWarehouse


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_train_move_the_slider_and_save(app):
    at = app(page="pages/lookalikes.py", role="marketer")
    at.selectbox(key="lookalikes_seed").set_value("sample-lapsed-reactivation").run()
    next(b for b in at.button if b.label == "Train lookalike").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    at_5 = int(metric(at, "Lookalikes").replace(",", ""))
    at.slider(key="lookalikes_reach").set_value(10.0).run()
    at_10 = int(metric(at, "Lookalikes").replace(",", ""))
    assert 0 < at_5 < at_10 <= 2 * at_5 + 1
    assert 0.0 <= float(metric(at, "AUC (held out)")) <= 1.0
    next(b for b in at.button if b.label == "Save as segment").click().run()
    assert not at.exception, at.exception
    saved = [s.value for s in at.success]
    assert saved and f"({at_10:,} members)" in saved[0]


def test_a_viewer_cannot_train(app):
    at = app(page="pages/lookalikes.py", role="viewer")
    assert next(b for b in at.button if b.label == "Train lookalike").disabled
    assert any("No lookalike models yet" in i.value for i in at.info)


def _trained(app):
    at = app(page="pages/lookalikes.py", role="marketer")
    at.selectbox(key="lookalikes_seed").set_value("sample-lapsed-reactivation").run()
    next(b for b in at.button if b.label == "Train lookalike").click().run()
    assert not at.exception, at.exception
    return at


def test_a_typed_name_survives_the_slider_and_an_untouched_one_follows_it(app):
    """The bug: the name box was keyed by the reach, so moving the slider threw a typed name away."""
    at = _trained(app)
    (name,) = [t for t in at.text_input if t.label == "Segment name"]
    assert name.value.endswith("at 5%")
    at.slider(key="lookalikes_reach").set_value(7.5).run()
    (name,) = [t for t in at.text_input if t.label == "Segment name"]
    assert name.value.endswith("at 7.5%")
    name.input("Spring win-back lookalikes").run()
    at.slider(key="lookalikes_reach").set_value(10.0).run()
    (name,) = [t for t in at.text_input if t.label == "Segment name"]
    assert name.value == "Spring win-back lookalikes"
    next(b for b in at.button if b.label == "Save as segment").click().run()
    assert any(f"Saved **{plain('Spring win-back lookalikes')}**" in s.value for s in at.success)


def test_the_factors_say_direction_by_the_averages_and_label_the_weight(app):
    at = _trained(app)
    factors = at.dataframe[-1].value
    assert list(factors.columns) == ["feature", "seed has", "seed mean", "everyone else", "unit", "model weight"]
    expected = ["more" if s >= b else "less" for s, b in zip(factors["seed mean"], factors["everyone else"])]
    assert list(factors["seed has"]) == expected
    assert not factors["feature"].str.contains("_").any()  # catalog labels, not column names


def test_the_seed_picker_shows_sizes_and_a_too_small_seed_before_training(app):
    warehouse = DuckDBWarehouse(Path(os.environ["SEGMENT_STUDIO_WAREHOUSE"]))
    tiny = SegmentDefinition.from_dict({"name": "Tiny", "rule": {"kind": "group", "match": "all", "conditions": [
        {"kind": "trait", "field": "frequency", "op": "gte", "value": 100}]}})
    saved = save_segment(Workspace(warehouse), tiny, author="m@example.com", role="marketer")
    warehouse.close()
    assert saved.audience_size < MIN_SEED
    at = app(page="pages/lookalikes.py", role="marketer")
    seed = at.selectbox(key="lookalikes_seed")
    assert all(" members" in o or "member" in o for o in seed.options)
    seed.set_value(saved.segment_id).run()
    assert any("a lookalike needs a seed of at least 50" in w.value for w in at.warning)
    train = next(b for b in at.button if b.label == "Train lookalike")
    assert train.disabled and train.help == "The seed is smaller than 50 members"
