"""Names of the schemas and tables, exactly as the seed gives them.

Every source is its own schema named ``<prefix>_<source>``, and every table in
it carries the same prefix. The gold layer and the app's own tables follow the
same rule so that one catalog can hold the whole project.
"""

from __future__ import annotations

PREFIX = "customer_segmentation_for_retail_personalization"

SOURCES = ("ingest", "ops", "gov", "cost", "txn")
GOLD = "gold"
APP = "app"
#: the only schema a user's table export writes to (services/exports/table.py)
EXPORTS = "exports"
ALL_SCHEMAS = (*SOURCES, GOLD, APP, EXPORTS)


def schema(source: str) -> str:
    """The schema of a source, e.g. ``schema("txn")``."""
    if source not in ALL_SCHEMAS:
        raise ValueError(f"unknown source {source!r}; expected one of {ALL_SCHEMAS}")
    return f"{PREFIX}_{source}"


def table(name: str) -> str:
    """A table's full name inside its schema, e.g. ``table("fact_transactions")``."""
    return f"{PREFIX}_{name}"


def fq(source: str, name: str) -> str:
    """Schema-qualified table name, e.g. ``fq("txn", "fact_transactions")``."""
    return f"{schema(source)}.{table(name)}"


def short(table_name: str) -> str:
    """The seed table name without the project prefix (``fact_transactions``)."""
    return table_name.removeprefix(PREFIX + "_")
