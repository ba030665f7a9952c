"""AppTest smoke test of the Lookalikes page: train from a sample segment, move the slider, save."""

from __future__ import annotations


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
