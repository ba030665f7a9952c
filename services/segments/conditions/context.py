"""What every compiler pass needs: the catalog, the as-of date, a way to look up
other saved segments (with the chain of segments being expanded, so a cycle is
caught instead of recursing forever), and the group pass, for a condition that
compiles another segment's rule inline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlglot import exp

from services.segments.catalog import FeatureCatalog
from services.sqlterms import column

FEATURES_ALIAS = "f"

#: (segment_id, version or None for latest) -> the stored SegmentDefinition (spec.py; typed
#: loosely here because the spec reads its conditions through this package)
Resolver = Callable[[str, "int | None"], Any]


@dataclass(frozen=True)
class CompileContext:
    catalog: FeatureCatalog
    resolver: Resolver | None = None
    stack: tuple[str, ...] = field(default=())
    #: the group pass (compiler/groups.py): (a Group, this context) -> its predicate
    compile_rule: Callable[[Any, CompileContext], exp.Expression] | None = None

    @property
    def as_of(self) -> date:
        return self.catalog.as_of_date

    def days_before_as_of(self, days: int) -> date:
        return self.as_of - timedelta(days=days)

    def entering(self, key: str) -> CompileContext:
        return CompileContext(self.catalog, self.resolver, (*self.stack, key), self.compile_rule)


def feature(name: str) -> exp.Column:
    """A gold feature column of the row being filtered (quoted identifier)."""
    return column(name, table=FEATURES_ALIAS)


def negate(predicate: exp.Expression) -> exp.Expression:
    """NOT that treats unknown as false, so a negated group is exactly everyone else.

    Plain NOT would drop a customer whose field is empty from both the group
    and its negation (SQL's three-valued logic).
    """
    return exp.not_(exp.Coalesce(this=exp.Paren(this=predicate) if isinstance(predicate, exp.Connector) else predicate,
                                 expressions=[exp.false()]), copy=False)
