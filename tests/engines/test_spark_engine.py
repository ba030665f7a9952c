"""The Spark engine keeps the Warehouse protocol (on the suite's one session)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from sqlglot import exp

from services.errors import WarehouseError

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "engine_protocol"
TABLE = f"{SCHEMA}.people"


@pytest.fixture(scope="module")
def spark(spark_warehouse):
    spark_warehouse.execute(exp.Create(this=exp.to_table(SCHEMA), kind="SCHEMA", exists=True))
    spark_warehouse.execute(
        "CREATE TABLE IF NOT EXISTS engine_protocol.people (id STRING NOT NULL, age INT, spend DECIMAL(18, 2), "
        "seen_ts TIMESTAMP, CONSTRAINT people_pk PRIMARY KEY (id))"
    )
    return spark_warehouse


def test_named_parameters_are_bound_not_pasted(spark):
    row = spark.arrow("SELECT :n + 1 AS n, :s AS s, CAST(:d AS DATE) AS d, CAST(:none AS DATE) AS none",
                      {"n": 41, "s": "O'Brien'; DROP TABLE x; --", "d": date(2026, 10, 31), "none": None}).to_pylist()[0]
    assert row == {"n": 42, "s": "O'Brien'; DROP TABLE x; --", "d": date(2026, 10, 31), "none": None}


def test_trees_render_in_the_databricks_dialect(spark):
    query = exp.select(exp.column("id", quoted=True)).from_(exp.to_table(TABLE)).where(exp.column("age").is_(exp.null()))
    assert "`id`" in spark.render(query)
    assert spark.dialect == "databricks" and spark.engine == "Spark"


def test_append_matches_columns_by_name_and_fills_the_rest_with_null(spark):
    added = spark.append(TABLE, pd.DataFrame({"spend": [Decimal("12.50")], "id": ["a"],
                                              "seen_ts": [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)]}))
    assert added == 1
    assert spark.append(TABLE, pa.table({"id": ["b"], "age": pa.array([30], pa.int32())})) == 1
    assert spark.append(TABLE, pd.DataFrame({"id": []})) == 0
    rows = spark.arrow(exp.select("*").from_(TABLE).order_by("id")).to_pylist()
    assert rows[0] == {"id": "a", "age": None, "spend": Decimal("12.50"),
                       "seen_ts": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}
    assert rows[1]["age"] == 30 and rows[1]["spend"] is None
    assert spark.scalar(exp.select(exp.func("MAX", exp.column("seen_ts"))).from_(TABLE)).tzinfo is not None
    with pytest.raises(WarehouseError, match="no column"):
        spark.append(TABLE, pd.DataFrame({"id": ["c"], "nickname": ["x"]}))


def test_catalog_listings(spark):
    assert SCHEMA in spark.schemas()
    assert "people" in spark.tables(SCHEMA)
    assert spark.tables("no_such_schema") == []
    assert spark.columns(SCHEMA, "people") == [("id", "string"), ("age", "int"), ("spend", "decimal(18,2)"),
                                               ("seen_ts", "timestamp")]
    assert spark.columns(SCHEMA, "no_such_table") == []


def test_errors_are_warehouse_errors(spark):
    with pytest.raises(WarehouseError, match="Spark query failed"):
        spark.arrow("SELECT no_such_column FROM engine_protocol.people")
    with pytest.raises(WarehouseError, match="Spark query failed"):
        # ANSI mode, as on Databricks SQL: a bad cast fails instead of giving NULL
        spark.scalar("SELECT CAST('not a number' AS INT)")


def test_row_changes_need_delta_and_say_so(spark):
    with pytest.raises(WarehouseError, match="need Delta tables"):
        spark.execute(exp.delete(TABLE, where=exp.column("id").eq(exp.Literal.string("a"))))


def test_transaction_runs_statements_in_order(spark):
    target = f"{SCHEMA}.steps"
    spark.transaction([
        ("CREATE TABLE IF NOT EXISTS engine_protocol.steps (n INT)", None),
        (exp.TruncateTable(expressions=[exp.to_table(target)]), None),
        ("INSERT INTO engine_protocol.steps VALUES (:n)", {"n": 7}),
    ])
    assert spark.scalar(exp.select(exp.func("SUM", exp.column("n"))).from_(target)) == 7


def test_pyspark_is_optional():
    code = ("import sys, services.warehouse, services.warehouse.spark_engine; "
            "assert 'pyspark' not in sys.modules, 'pyspark imported at module import'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8").lower()
    assert "pyspark" not in requirements
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert any(r.startswith("pyspark==") for r in extras["spark"]) and any(r.startswith("pyspark==") for r in extras["dev"])
