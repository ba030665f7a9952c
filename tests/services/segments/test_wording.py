"""How conditions read in the Builder: labels, units and names, never column names or ids (issue 13)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from services.segments.catalog import Domain, FeatureCatalog
from services.segments.conditions import KINDS, Draw
from services.segments.features import FEATURES
from services.segments.spec import Behavior, Group, Membership, Trait
from services.segments.wording import Names

NAMES = Names(segments={"seg-1a2b": "VIP champions"}, targets={"run-9f": "Big spenders (k-means, 2026-10-31)",
                                                                 "lal-3c": "Champions lookalike (2026-10-31)"})


@pytest.mark.parametrize(("condition", "phrase"), [
    (Trait("monetary", "gte", 500), "Net spend at least $500"),
    (Trait("monetary", "between", low=10.5, high=2000), "Net spend between $10.50 and $2,000"),
    (Trait("online_share", "gte", 0.6), "Online share at least 60%"),
    (Trait("recency_days", "lte", 30), "Days since last purchase at most 30 days"),
    (Trait("lifecycle_stage", "in", values=("at_risk", "lapsed")), "Lifecycle stage is at risk or lapsed"),
    (Trait("rfm_segment", "not_in", values=("Champions", "Loyal")), "RFM segment is none of Champions, Loyal"),
    (Trait("gender", "not_in", values=("F",)), "Gender is not F"),
    (Trait("last_purchase_date", "within_last_days", 30), "Last purchase in the last 30 days"),
    (Trait("last_purchase_date", "before", "2026-06-01"), "Last purchase before 2026-06-01"),
    (Trait("email_opt_in", "is_true"), "Email opt-in: yes"),
    (Trait("gender", "is_null"), "Gender is empty"),
    (Behavior(threshold=3, categories=("beauty",), channels=("web", "app"), last_days=90),
     "Bought in beauty on web or app at least 3 times in the last 90 days"),
    (Behavior("spend", "at_most", 49.99, start=date(2026, 1, 1), end=date(2026, 6, 30), negate=True),
     "Did not spend at most $49.99 between 2026-01-01 and 2026-06-30"),
    (Membership("segment", "seg-1a2b"), "In segment VIP champions (latest version)"),
    (Membership("cluster", run_id="run-9f", cluster_ids=(2, 4), negate=True),
     "Not in clusters 2 or 4 of Big spenders (k-means, 2026-10-31)"),
    (Membership("lookalike", model_id="lal-3c", reach_pct=5), "In lookalike Champions lookalike (2026-10-31) at 5% reach"),
    (Group("any", (Trait("email_opt_in", "is_true"), Trait("sms_opt_in", "is_true")), negate=True),
     "Not any of (Email opt-in: yes; SMS opt-in: yes)"),
])
def test_a_condition_reads_in_labels_and_units(condition, phrase):
    assert condition.phrase(NAMES) == phrase


CATALOG = FeatureCatalog(
    features=FEATURES,
    domains={f.name: Domain(values=(("at_risk", 3), ("new", 1))) for f in FEATURES if f.type == "category"},
    as_of_date=date(2026, 10, 31), base_count=4,
    behavior_values={"categories": ("beauty", "home"), "channels": ("app", "web"), "merchants": ("M-1",),
                     "products": ("P-1",)},
    cluster_runs={"run-9f": (0, 1, 2)}, lookalike_models=("lal-3c",))


@pytest.mark.parametrize("name", sorted(KINDS))
def test_no_phrase_shows_a_column_name_or_an_id(name):
    draw = Draw(random.Random(3), CATALOG, lambda field: date(2026, 9, 1) if "date" in field else 12, ("seg-1a2b",))
    for condition in [KINDS[name].generate(draw) for _ in range(60)]:
        text = condition.phrase(NAMES)
        assert "_" not in text, text
        assert not any(token in text for token in ("seg-1a2b", "run-9f", "lal-3c")), text
