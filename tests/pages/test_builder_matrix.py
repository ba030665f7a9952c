"""The trait editor never crashes: every field with every operator, and switching the field of a
condition whose value was set for another type, leave no exception and a condition that is counted
or left out with a reason (issue 13, finding 2: "after" on Last purchase, Net spend -> Last purchase,
a date "between" stuck on a number)."""

from __future__ import annotations

import re

from services.segments.features import FEATURES, FEATURES_BY_NAME

#: one field of each kind of value widget: a whole number, an amount, a share, a category, a flag, a date
KINDS = ("frequency", "monetary", "online_share", "rfm_segment", "email_opt_in", "last_purchase_date")


def add_trait(at) -> None:
    next(b for b in at.button if b.label == "+ Trait").click().run()


def node_ids(at) -> list[str]:
    """The condition ids, in the order of their field pickers."""
    return [re.fullmatch(r"builder_(\w+)_field", s.key).group(1) for s in at.selectbox
            if s.key and re.fullmatch(r"builder_(\w+)_field", s.key)]


def field_box(at, node: str):
    return at.selectbox(key=f"builder_{node}_field")


def op_box(at, node: str):
    return next(s for s in at.selectbox if s.key and s.key.startswith(f"builder_{node}_") and s.key.endswith("_op"))


def push_values_to_the_edge(at, node: str) -> None:
    """Move every value widget of a condition to the largest value it takes (where a stale value hurts most)."""
    prefix = f"builder_{node}_"
    for slider in at.slider:
        if slider.key and slider.key.startswith(prefix):
            slider.set_value((slider.min, slider.max) if isinstance(slider.value, tuple) else slider.max)
    for box in at.number_input:
        if box.key and box.key.startswith(prefix) and box.max is not None:
            box.set_value(box.max)
    for picker in at.multiselect:
        if picker.key and picker.key.startswith(prefix) and picker.options:
            picker.set_value([picker.options[0]])


def settled(at, what: str) -> None:
    assert not at.exception, f"{what}: {at.exception}"
    assert not any("cannot be run yet" in e.value for e in at.error), what
    for warning in at.warning:
        if "not counted until complete" in warning.value:  # left out, with its reason: only an unpicked category
            assert "pick at least one value" in warning.value, f"{what}: {warning.value}"


def test_every_field_with_every_operator(app):
    at = app(page="pages/builder.py")
    add_trait(at)
    (node,) = node_ids(at)
    for meta in FEATURES:
        field_box(at, node).set_value(meta.name).run()
        settled(at, meta.name)
        for op in meta.operators:
            op_box(at, node).set_value(op).run()
            settled(at, f"{meta.name} {op}")
            push_values_to_the_edge(at, node)
            at.run()
            settled(at, f"{meta.name} {op}, values at the edge")


def test_every_field_switch_from_every_operator_resets_the_value(app):
    at = app(page="pages/builder.py")
    for _ in KINDS:
        add_trait(at)
    nodes = node_ids(at)
    assert len(nodes) == len(KINDS)
    for source in KINDS:
        for op in FEATURES_BY_NAME[source].operators:
            for node in nodes:
                field_box(at, node).set_value(source)
            at.run()
            for node in nodes:
                op_box(at, node).set_value(op)
            at.run()
            for node in nodes:
                push_values_to_the_edge(at, node)
            at.run()
            settled(at, f"{source} {op}")
            for node, target in zip(nodes, KINDS, strict=True):
                field_box(at, node).set_value(target)
            at.run()
            settled(at, f"{source} {op} -> each kind of field")
