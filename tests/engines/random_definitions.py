"""Seeded random segment definitions that cover every kind of condition.

Conditions are drawn through the registry of condition kinds (``KINDS``): each
kind draws its own (``generate``), one of each of its variants on its own
(``singles``), and names what a condition exercises (``coverage``), so a new
kind is covered here without touching this file. Values are drawn from the data
(the gold rows and the catalog's domains), so most conditions select some
customers and not all of them: a definition that matches no one on both engines
proves little. ``coverage`` lists what a set of definitions exercises, so the
test can insist that nothing is missed.
"""

from __future__ import annotations

import random
from collections import Counter

import pandas as pd

from services.segments.catalog import FeatureCatalog
from services.segments.conditions import KINDS, Draw
from services.segments.spec import Arm, Group, SegmentDefinition, Split


class DefinitionMaker:
    def __init__(self, catalog: FeatureCatalog, gold: pd.DataFrame, segment_ids: list[str], seed: int):
        self.catalog = catalog
        self.gold = gold
        self.rng = random.Random(seed)
        self.draw = Draw(self.rng, catalog, self._data_value, tuple(segment_ids))

    def _data_value(self, field: str):
        """A value of ``field`` as it occurs in the gold rows."""
        values = self.gold[field].dropna()
        value = values.iloc[self.rng.randrange(len(values))]
        return value.item() if hasattr(value, "item") else value

    # -- leaves ----------------------------------------------------------
    def leaf(self):
        """A condition of a kind drawn by the kinds' weights."""
        roll, edge = self.rng.random(), 0.0
        kinds = list(KINDS.values())
        for kind in kinds:
            edge += kind.weight
            if roll < edge:
                return kind.generate(self.draw)
        return kinds[-1].generate(self.draw)

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
        """``count`` definitions: first each kind's variants on their own, then random trees."""
        singles = [Group("all", (c,)) for kind in KINDS.values() for c in kind.singles(self.draw)]
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
            else:
                seen.update(KINDS[c.kind].coverage(c, catalog))

    for d in definitions:
        visit(d.rule, 1)
        seen["split"] += d.split is not None
    return seen
