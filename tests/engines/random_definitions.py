"""Seeded random segment definitions that cover every kind of condition.

Values are drawn from the data (the gold rows and the catalog's domains),
so most conditions select some customers and not all of them: a definition
that matches no one on both engines proves little. ``coverage`` lists what a
set of definitions exercises, so the test can insist that nothing is missed.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

import pandas as pd

from services.segments.catalog import BEHAVIOR_FILTERS, FeatureCatalog
from services.segments.spec import (
    COMPARATORS,
    Arm,
    Behavior,
    Group,
    Membership,
    SegmentDefinition,
    Split,
    Trait,
)

SPEND_THRESHOLDS = (-25.0, 0, 0.01, 19.99, 50, 100, 250.5, 500, 1000, 2500)
WINDOWS = ("ever", "last_days", "range", "start", "end", "end_after_as_of")


class DefinitionMaker:
    def __init__(self, catalog: FeatureCatalog, gold: pd.DataFrame, segment_ids: list[str], seed: int):
        self.catalog = catalog
        self.gold = gold
        self.segment_ids = segment_ids
        self.rng = random.Random(seed)

    # -- leaves ----------------------------------------------------------
    def _data_value(self, field: str):
        values = self.gold[field].dropna()
        value = values.iloc[self.rng.randrange(len(values))]
        return value.item() if hasattr(value, "item") else value

    def _number(self, field: str, integer: bool):
        value = self._data_value(field)
        if self.rng.random() < 0.3:  # sometimes off the data's values, to test < and > between them
            value = float(value) + self.rng.choice((-1.5, -0.25, 0.005, 0.5, 2))
        if integer:
            return int(round(float(value)))
        return float(value) if not isinstance(value, int) else value

    def _date(self, field: str) -> date:
        value = self._data_value(field)
        value = value.date() if hasattr(value, "date") else value
        return value + timedelta(days=self.rng.randint(-3, 3))

    def trait(self, meta=None, op: str | None = None) -> Trait:
        meta = meta or self.rng.choice(self.catalog.features)
        op = op or self.rng.choice(meta.operators)
        if op in ("is_null", "is_not_null", "is_true", "is_false"):
            return Trait(meta.name, op)
        if meta.type == "category":
            known = list(self.catalog.domains[meta.name].known_values)
            return Trait(meta.name, op, values=tuple(self.rng.sample(known, self.rng.randint(1, min(3, len(known))))))
        if meta.type == "number":
            draw = lambda: self._number(meta.name, meta.integer)  # noqa: E731
        else:
            draw = lambda: self._date(meta.name)  # noqa: E731
        if op == "within_last_days":
            return Trait(meta.name, op, self.rng.choice((0, 1, 7, 30, 60, 89, 90, 180, 365, 730)))
        if op == "between":
            low, high = sorted((draw(), draw()))
            return Trait(meta.name, op, low=low, high=high)
        return Trait(meta.name, op, draw())

    def behavior(self, measure: str | None = None, comparator: str | None = None, window: str | None = None) -> Behavior:
        measure = measure or self.rng.choice(("orders", "spend"))
        comparator = comparator or self.rng.choice(tuple(COMPARATORS))
        window = window or self.rng.choice(WINDOWS)
        threshold = self.rng.choice((0, 1, 1, 2, 3, 5)) if measure == "orders" else self.rng.choice(SPEND_THRESHOLDS)
        filters = {}
        for name in BEHAVIOR_FILTERS:
            known = list(self.catalog.behavior_values.get(name, ()))
            if known and self.rng.random() < (0.4 if name in ("categories", "channels") else 0.1):
                filters[name] = tuple(self.rng.sample(known, min(len(known), self.rng.randint(1, 3))))
        as_of = self.catalog.as_of_date
        start = as_of - timedelta(days=self.rng.randint(30, 700))
        end = start + timedelta(days=self.rng.randint(0, 400))
        window_args = {
            "ever": {},
            "last_days": {"last_days": self.rng.choice((1, 7, 30, 90, 180, 365))},
            "range": {"start": start, "end": min(end, as_of)},
            "start": {"start": start},
            "end": {"end": min(end, as_of)},
            "end_after_as_of": {"start": start, "end": as_of + timedelta(days=30)},
        }[window]
        return Behavior(measure, comparator, threshold, **filters, **window_args, negate=self.rng.random() < 0.3)

    def membership(self, of: str | None = None) -> Membership:
        of = of or self.rng.choice(("segment", "cluster", "lookalike"))
        negate = self.rng.random() < 0.3
        if of == "segment":
            return Membership("segment", segment_id=self.rng.choice(self.segment_ids), negate=negate)
        if of == "cluster":
            run = self.rng.choice(sorted(self.catalog.cluster_runs))
            clusters = self.catalog.cluster_runs[run]
            picked = tuple(sorted(self.rng.sample(clusters, self.rng.randint(1, len(clusters) - 1))))
            return Membership("cluster", run_id=run, cluster_ids=picked, negate=negate)
        return Membership("lookalike", model_id=self.rng.choice(self.catalog.lookalike_models),
                          reach_pct=self.rng.choice((0.5, 5, 12.5, 33.3, 50, 99.9, 100)), negate=negate)

    def leaf(self):
        roll = self.rng.random()
        return self.trait() if roll < 0.5 else self.behavior() if roll < 0.85 else self.membership()

    # -- groups and definitions ------------------------------------------
    def group(self, depth: int) -> Group:
        conditions = []
        for _ in range(self.rng.randint(1 if depth else 0, 3)):
            nest = depth < 3 and self.rng.random() < 0.3
            conditions.append(self.group(depth + 1) if nest else self.leaf())
        return Group(self.rng.choice(("all", "any")), tuple(conditions), self.rng.random() < 0.25)

    def split(self) -> Split | None:
        if self.rng.random() < 0.7:
            return None
        control = self.rng.choice((0, 5, 10, 20, 50))
        return Split(control, (Arm("a", (100 - control) / 2), Arm("b", (100 - control) / 2)))

    def definition(self, index: int, rule: Group | None = None) -> SegmentDefinition:
        return SegmentDefinition(f"random {index}", rule or self.group(0), split=self.split())

    def definitions(self, count: int) -> list[SegmentDefinition]:
        """``count`` definitions: first one of each kind of condition on its own, then random trees."""
        by_type: dict[str, list] = {}
        for meta in self.catalog.features:
            by_type.setdefault(meta.type, []).append(meta)
        # Each operator of each feature type on two features of that type (Spark time is what limits the count).
        singles = [Group("all", (self.trait(meta, op),)) for metas in by_type.values()
                   for op in metas[0].operators for meta in self.rng.sample(metas, min(2, len(metas)))]
        singles += [Group("all", (self.behavior(m, c, w),)) for m in ("orders", "spend") for c in COMPARATORS
                    for w in WINDOWS]
        singles += [Group("all", (self.membership(of),)) for of in ("segment", "cluster", "lookalike")]
        out = [self.definition(i, rule) for i, rule in enumerate(singles)]
        while len(out) < count:
            out.append(self.definition(len(out)))
        return out


def coverage(definitions: list[SegmentDefinition], catalog: FeatureCatalog) -> Counter:
    """How often each kind of condition occurs, keyed like ``trait:date:within_last_days``."""
    seen: Counter = Counter()

    def visit(group: Group, depth: int) -> None:
        seen[f"group:{group.match}"] += 1
        seen["group:negated"] += group.negate
        if depth >= 2:
            seen["group:nested"] += 1
        for c in group.conditions:
            if isinstance(c, Group):
                visit(c, depth + 1)
            elif isinstance(c, Trait):
                seen[f"trait:{catalog.feature(c.field).type}:{c.op}"] += 1
            elif isinstance(c, Behavior):
                window = ("last_days" if c.last_days else "range" if c.start and c.end else "start" if c.start
                          else "end" if c.end else "ever")
                seen[f"behavior:{c.measure}:{c.comparator}"] += 1
                seen[f"behavior:window:{window}"] += 1
                seen["behavior:negated"] += c.negate
                seen["behavior:filtered"] += any(getattr(c, n) for n in BEHAVIOR_FILTERS)
            else:
                seen[f"membership:{c.of}"] += 1
                seen["membership:negated"] += c.negate

    for d in definitions:
        visit(d.rule, 1)
        seen["split"] += d.split is not None
    return seen
