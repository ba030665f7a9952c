"""Where each of the project's schemas lives on Databricks: a tree transform.

Every SQL file and every tree names tables ``seed_schema.table`` (two parts,
the seed's schema names). On Databricks each source may already live in a
catalog and schema of the customer's choosing (``retail_prod.pos`` for the
transactions, ``marketing.segment_studio`` for gold ...). ``Placement`` holds
that map and ``place`` rewrites a sqlglot tree so that every reference to a
known seed schema becomes ``catalog.schema``. It works on the tree, not on
the text, so a seed schema name inside a string literal, a comment or a
column alias is never touched, and CTE names (one-part) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp


@dataclass(frozen=True)
class Location:
    """A Unity Catalog ``catalog.schema`` (catalog None: the session's current catalog)."""

    catalog: str | None
    schema: str

    def __str__(self) -> str:
        return f"{self.catalog}.{self.schema}" if self.catalog else self.schema


@dataclass(frozen=True)
class Placement:
    """Seed schema name -> where it lives. Seed schemas not listed stay where they are."""

    locations: tuple[tuple[str, Location], ...] = ()

    @classmethod
    def of(cls, mapping: dict[str, Location]) -> Placement:
        return cls(tuple(sorted(mapping.items())))

    def location(self, seed_schema: str) -> Location:
        """Where a seed schema lives; itself in the current catalog when not placed."""
        return dict(self.locations).get(seed_schema, Location(None, seed_schema))

    def seed_schema(self, catalog: str | None, schema: str) -> str | None:
        """The seed schema placed at ``catalog.schema`` (the reverse map), if any."""
        for seed, loc in self.locations:
            if loc.schema == schema and (loc.catalog or None) == (catalog or None):
                return seed
        return None

    def __bool__(self) -> bool:
        return bool(self.locations)


def _relocate(node: exp.Expression, placement: Placement) -> None:
    # Table and Column both carry optional ``db`` and ``catalog`` parts; a part
    # already qualified with a catalog was placed by its author and stays.
    db = node.args.get("db")
    if not isinstance(db, exp.Identifier) or node.args.get("catalog") is not None:
        return
    loc = dict(placement.locations).get(db.name)
    if loc is None:
        return
    node.set("db", exp.to_identifier(loc.schema))
    if loc.catalog:
        node.set("catalog", exp.to_identifier(loc.catalog))


def place(tree: exp.Expression, placement: Placement) -> exp.Expression:
    """A copy of ``tree`` with every seed schema reference moved to its location."""
    if not placement:
        return tree
    tree = tree.copy()
    for node in tree.find_all(exp.Table, exp.Column):
        _relocate(node, placement)
    return tree
