"""The gold models give identical tables on DuckDB and on Spark.

Both engines run the same SQL files (Databricks dialect; DuckDB through
sqlglot) over identical silver tables. Rows are compared sorted by the
table's key: strings, dates, integers and decimals exactly; DOUBLE columns
(shares and rates, rounded in SQL) within a relative 1e-12, which a
difference in rounding (1e-4 at least) would never pass.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from sqlglot import exp

from services.build import GOLD

pytestmark = pytest.mark.spark

KEYS = {"gold_customer_features": ("customer_id",), "gold_customer_category_spend": ("customer_id", "category")}


def _rows(warehouse, table: str, keys: tuple[str, ...]) -> pa.Table:
    query = exp.select("*").from_(table).order_by(*[exp.column(k, quoted=True) for k in keys])
    return warehouse.arrow(query)


def _same(a, b, is_float: bool) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if is_float:
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("model", GOLD, ids=lambda m: m.name)
def test_gold_tables_are_identical(engines, model):
    keys = KEYS[model.name]
    duck = _rows(engines.duckdb, model.target_fq, keys)
    spark = _rows(engines.spark, model.target_fq, keys)
    assert duck.num_rows > 0
    assert duck.column_names == spark.column_names
    # Same declared types on both (DuckDB reads TIMESTAMP as UTC TIMESTAMPTZ; gold has none).
    assert [f.type for f in duck.schema] == [f.type for f in spark.schema]
    assert duck.num_rows == spark.num_rows
    differences = []
    for name in duck.column_names:
        is_float = pa.types.is_floating(duck.schema.field(name).type)
        left, right = duck.column(name).to_pylist(), spark.column(name).to_pylist()
        for i, (a, b) in enumerate(zip(left, right)):
            if not _same(a, b, is_float):
                key = tuple(duck.column(k)[i].as_py() for k in keys)
                differences.append(f"{name} at {key}: duckdb {a!r} spark {b!r}")
    assert not differences, f"{len(differences)} differences, first: " + "; ".join(differences[:10])
