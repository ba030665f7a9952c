"""Helpers of the Warehouse protocol (services/warehouse/__init__.py) on a real in-memory DuckDB."""

from __future__ import annotations

import pytest
from sqlglot import exp

from services.errors import WarehouseError
from services.warehouse import replace_rows


def values(*rows):
    return exp.values([exp.Tuple(expressions=[exp.convert(v) for v in row]) for row in rows])


def test_replace_rows_replaces_every_row_or_none(empty_warehouse):
    empty_warehouse.execute("CREATE TABLE t (name VARCHAR, n INTEGER NOT NULL)")
    replace_rows(empty_warehouse, "t", values(("a", 1), ("b", 2)), ["name", "n"])
    replace_rows(empty_warehouse, "t", values(("c", 3)), ["name", "n"])
    assert empty_warehouse.arrow("SELECT * FROM t").to_pylist() == [{"name": "c", "n": 3}]
    # A failing insert (a NULL where none may be) leaves the rows that were there.
    with pytest.raises(WarehouseError):
        replace_rows(empty_warehouse, "t", exp.values([exp.Tuple(expressions=[exp.convert("d"), exp.null()])]),
                     ["name", "n"])
    assert empty_warehouse.arrow("SELECT * FROM t").to_pylist() == [{"name": "c", "n": 3}]


def test_tables_of_lists_several_schemas_in_one_call(empty_warehouse):
    from services import naming
    from services.warehouse.roundtrips import CountingWarehouse

    counted = CountingWarehouse(empty_warehouse)
    schemas = [naming.schema("gold"), naming.schema("app"), "no_such_schema"]
    found = counted.tables_of(schemas)
    assert counted.total == 1
    assert found == {schema: empty_warehouse.tables(schema) for schema in schemas}
    assert found["no_such_schema"] == [] and naming.table("gold_feature_catalog") in found[naming.schema("gold")]
