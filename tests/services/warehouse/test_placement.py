"""Placement: seed schemas moved to configured catalog.schema locations, on the tree."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from services import naming, sqlfiles
from services.warehouse.placement import Location, Placement, place

TXN, GOLD = naming.schema("txn"), naming.schema("gold")
PLACEMENT = Placement.of({
    **{naming.schema(s): Location("retail", naming.schema(s)) for s in naming.ALL_SCHEMAS},
    TXN: Location("pos_prod", "transactions"),
    GOLD: Location("marketing", "segment_studio"),
})
SQL_FILES = sorted(str(p.relative_to(sqlfiles.SQL_DIR)) for p in sqlfiles.SQL_DIR.rglob("*.sql"))


def placed(sql: str, placement: Placement = PLACEMENT) -> str:
    return place(sqlglot.parse_one(sql, read="databricks"), placement).sql(dialect="databricks")


@pytest.mark.parametrize("sql, expected", [
    pytest.param(f"SELECT a FROM {TXN}.t", "SELECT a FROM pos_prod.transactions.t", id="from"),
    pytest.param(f"SELECT x.a FROM {TXN}.t AS x JOIN {GOLD}.g AS y ON x.id = y.id",
                 "SELECT x.a FROM pos_prod.transactions.t AS x JOIN marketing.segment_studio.g AS y ON x.id = y.id",
                 id="join-aliases-kept"),
    pytest.param(f"SELECT {TXN}.t.a FROM {TXN}.t", "SELECT pos_prod.transactions.t.a FROM pos_prod.transactions.t",
                 id="qualified-column"),
    pytest.param(f"CREATE SCHEMA IF NOT EXISTS {TXN}", "CREATE SCHEMA IF NOT EXISTS pos_prod.transactions",
                 id="create-schema"),
    pytest.param(f"INSERT INTO {GOLD}.g SELECT * FROM {TXN}.t",
                 "INSERT INTO marketing.segment_studio.g SELECT * FROM pos_prod.transactions.t", id="insert"),
    pytest.param(f"TRUNCATE TABLE {GOLD}.g", "TRUNCATE TABLE marketing.segment_studio.g", id="truncate"),
    pytest.param(f"DELETE FROM {GOLD}.g WHERE id IN (SELECT id FROM {TXN}.t)",
                 "DELETE FROM marketing.segment_studio.g WHERE id IN (SELECT id FROM pos_prod.transactions.t)",
                 id="delete-subquery"),
    pytest.param(f"WITH t AS (SELECT 1 AS a) SELECT '{TXN}.t' AS label FROM t",
                 f"WITH t AS (SELECT 1 AS a) SELECT '{TXN}.t' AS label FROM t", id="cte-and-literal-untouched"),
    pytest.param(f"SELECT a FROM other_catalog.{TXN}.t", f"SELECT a FROM other_catalog.{TXN}.t",
                 id="already-three-part"),
    pytest.param("SELECT a FROM some_schema.t", "SELECT a FROM some_schema.t", id="unknown-schema"),
])
def test_place(sql, expected):
    assert placed(sql) == expected


def test_schema_alone_keeps_the_sessions_catalog():
    assert placed(f"SELECT a FROM {TXN}.t", Placement.of({TXN: Location(None, "pos")})) == "SELECT a FROM pos.t"


def test_no_placement_returns_the_tree_unchanged():
    tree = sqlglot.parse_one(f"SELECT a FROM {TXN}.t", read="databricks")
    assert place(tree, Placement()) is tree


def test_the_input_tree_is_not_modified():
    tree = sqlglot.parse_one(f"SELECT a FROM {TXN}.t", read="databricks")
    place(tree, PLACEMENT)
    assert tree.sql(dialect="databricks") == f"SELECT a FROM {TXN}.t"


@pytest.mark.parametrize("relative", SQL_FILES)
def test_every_sql_file_is_fully_placed(relative):
    """No table of a project schema is left at its seed name, in any file of sql/."""
    for tree in sqlfiles.parse(relative):
        moved = place(tree, PLACEMENT)
        for table in moved.find_all(exp.Table):
            if table.args.get("db") is not None:
                # ``system``: Databricks' own system tables (sql/cost/platform_*), named in full, never placed.
                assert table.catalog in ("retail", "pos_prod", "marketing", "system"), (relative, table.sql())
        rendered = moved.sql(dialect="databricks")
        assert f" {TXN}." not in rendered and f" {GOLD}." not in rendered
        # Placing twice changes nothing: already-placed names carry their catalog.
        assert place(moved, PLACEMENT).sql(dialect="databricks") == rendered


def test_reverse_lookup():
    assert PLACEMENT.seed_schema("pos_prod", "transactions") == TXN
    assert PLACEMENT.seed_schema("retail", "transactions") is None
    assert PLACEMENT.location(GOLD) == Location("marketing", "segment_studio")
    assert str(PLACEMENT.location(GOLD)) == "marketing.segment_studio"
