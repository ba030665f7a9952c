"""What every compiler pass needs: the catalog, the as-of date, and a way to
look up other saved segments (with the chain of segments being expanded, so a
cycle is caught instead of recursing forever)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable

from sqlglot import exp

from services import naming
from services.segments.catalog import FeatureCatalog
from services.segments.spec import SegmentDefinition

FEATURES_ALIAS = "f"
FEATURES_TABLE = naming.fq("gold", "gold_customer_features")
#: the transactions behavioural conditions read: the facts' columns they need, stored by
#: category and date so a window and a category filter skip most of it (see the pipeline model)
ACTIVITY_TABLE = naming.fq("gold", "gold_customer_activity")
CLUSTER_TABLE = naming.fq("gold", "gold_cluster_assignments")
LOOKALIKE_TABLE = naming.fq("gold", "gold_lookalike_scores")

#: (segment_id, version or None for latest) -> the stored definition
Resolver = Callable[[str, "int | None"], SegmentDefinition]


@dataclass(frozen=True)
class CompileContext:
    catalog: FeatureCatalog
    resolver: Resolver | None = None
    stack: tuple[str, ...] = field(default=())

    @property
    def as_of(self) -> date:
        return self.catalog.as_of_date

    def days_before_as_of(self, days: int) -> date:
        return self.as_of - timedelta(days=days)

    def entering(self, key: str) -> "CompileContext":
        return CompileContext(self.catalog, self.resolver, (*self.stack, key))


def feature(name: str) -> exp.Column:
    """A gold feature column of the row being filtered (quoted identifier)."""
    return exp.column(name, table=FEATURES_ALIAS, quoted=True)


def table(qualified: str) -> exp.Table:
    """A ``schema.table`` name as a Table node, built directly: parsing the name costs ~20x more."""
    schema, name = qualified.split(".")
    return exp.table_(name, db=schema)


def count_star() -> exp.Count:
    # Built directly (what exp.func("COUNT", ...) would give, big_int included) without the
    # dialect's function lookup, on every compile's hot path.
    return exp.Count(this=exp.Star(), big_int=True)


def date_literal(value: date) -> exp.Expression:
    return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE, copy=False)


def literal(value) -> exp.Expression:
    """A value as a SQL literal: strings are escaped by sqlglot, never pasted."""
    if isinstance(value, date):
        return date_literal(value)
    return exp.convert(value)
