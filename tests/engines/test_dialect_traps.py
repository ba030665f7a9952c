"""Where Databricks SQL and sqlglot's DuckDB rendering of it agree, and where they do not.

``AGREE`` holds the constructs the project's SQL relies on: each gives the
same value on Spark (run as written) and on DuckDB (rendered by sqlglot).
``DIVERGENT`` holds constructs that sqlglot 30.30 renders for DuckDB with a
different result or none at all; the guard below keeps them out of every SQL
file and every compiled segment, and names what to write instead. If sqlglot
fixes one, ``test_divergent_constructs_still_diverge`` says so and the entry
can go.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlglot
from sqlglot import exp

from services import sqlfiles
from services.errors import WarehouseError
from services.segments.campaigns import sample_campaigns
from services.segments.compiler import compile_definition

pytestmark = pytest.mark.spark

VALUES = "VALUES (1.0), (0.0), (0.0), (1.0), (1.0), (0.0), (0.0), (1.0), (0.0), (0.0), (1.0) AS t(x)"

AGREE = {
    "datediff of dates": "datediff(DATE '2026-03-01', DATE '2026-02-27')",
    "datediff of timestamps (days between their UTC dates)":
        "datediff(TIMESTAMP '2026-03-01 01:00:00', TIMESTAMP '2026-02-28 23:00:00')",
    "share as count_if / count (a DOUBLE)": f"(SELECT round(count_if(x > 0) / count(*), 4) FROM {VALUES})",
    "half cent divided in cents": "cast(round(CAST(72.21 AS DECIMAL(18, 2)) * 100 / 2) / 100 AS DECIMAL(18, 2))",
    "integer division is exact": "7 / 2",
    "floor of a quotient": "cast(floor((4 + 5 + 1) / 2) AS INT)",
    "round half up of a decimal": "round(2.345, 2)",
    "round of a double": "round(2.5D)",
    "percent_rank with ties": "(SELECT max(p) FROM (SELECT percent_rank() OVER (ORDER BY x) AS p FROM VALUES (1), (2), (2), (3) AS t(x)))",
    "median interpolates": "(SELECT median(x) FROM VALUES (1), (2), (3), (4) AS t(x))",
    "md5 / substr / instr (split buckets)": "instr('0123456789abcdef', substr(md5('k:C0001'), 3, 1))",
    "concat with NULL is NULL": "concat('a', NULL) IS NULL",
    "least skips NULL": "least(1, NULL)",
    "last_day": "last_day(DATE '2026-02-10')",
    "add_months at month end": "add_months(DATE '2026-01-31', 1)",
    "date_trunc to month, as a date": "cast(date_trunc('MONTH', TIMESTAMP '2026-11-26 10:00:00') AS DATE)",
    "year and month arithmetic": "year(DATE '2026-02-10') * 100 + month(DATE '2026-02-10')",
    "to_date with a pattern": "to_date('31/01/2026', 'dd/MM/yyyy')",
    "date_format": "date_format(DATE '2026-01-31', 'yyyy-MM')",
    "microseconds between timestamps": "unix_micros(TIMESTAMP '2026-01-01 10:00:01.1') - unix_micros(TIMESTAMP '2026-01-01 10:00:00.9')",
}

DIVERGENT = {
    # name: (Databricks SQL, pattern that finds it in SQL text, what to write instead)
    "dayofweek (Spark 1 = Sunday, DuckDB 0 = Sunday)":
        ("dayofweek(DATE '2026-11-26')", r"\bdayofweek\s*\(", "a CASE on date_format(d, 'E')"),
    "weekday": ("weekday(DATE '2026-11-26')", r"\bweekday\s*\(", "a CASE on date_format(d, 'E')"),
    "datediff with a unit counts whole units on Spark, boundaries on DuckDB":
        ("datediff(DAY, TIMESTAMP '2026-02-28 23:00:00', TIMESTAMP '2026-03-01 01:00:00')",
         r"\b(?:date_?diff|timestampdiff)\s*\(\s*(?:year|quarter|month|week|day|hour|minute|second)\b",
         "datediff(end_date, start_date) on dates, or unix_micros(b) - unix_micros(a)"),
    "timestampdiff in seconds across a fraction of a second":
        ("timestampdiff(SECOND, TIMESTAMP '2026-01-01 10:00:00.9', TIMESTAMP '2026-01-01 10:00:01.1')",
         r"\btimestampdiff\s*\(", "unix_micros(b) - unix_micros(a)"),
    "unix_timestamp (no DuckDB rendering)":
        ("unix_timestamp(TIMESTAMP '2026-01-01 00:00:00')", r"\bunix_timestamp\s*\(", "unix_seconds(ts)"),
    "trunc(d, 'MM') (no DuckDB rendering)": ("trunc(DATE '2026-11-26', 'MM')", r"\btrunc\s*\(", "date_trunc('MONTH', d)"),
    "percentile is exact on Spark, a discrete QUANTILE on DuckDB":
        ("(SELECT percentile(x, 0.5) FROM VALUES (1), (2), (3), (4) AS t(x))", r"\bpercentile\s*\(", "median(x)"),
    "DECIMAL division: exact on Spark, DOUBLE on DuckDB (36.105 rounds down)":
        ("round(CAST(72.21 AS DECIMAL(18, 2)) / 2, 2)", None, "divide in cents: round(x * 100 / n) / 100"),
    "avg of a DECIMAL rounds twice on Spark (DECIMAL(p+4, s+4) first)":
        (f"(SELECT round(avg(x), 4) FROM {VALUES})", None, "count_if(..) / count(*), or avg of a DOUBLE"),
    "TIMESTAMP as text: DuckDB's TIMESTAMPTZ adds +00":
        ("CAST(TIMESTAMP '2026-01-01 00:00:00' AS STRING)", None, "date_format(ts, 'yyyy-MM-dd HH:mm:ss')"),
}


def _normal(value):
    # DuckDB returns some exact results as DOUBLE where Spark returns DECIMAL or BIGINT.
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return Decimal(str(value)).normalize()
    return value


def _one_row(warehouse, expressions: dict[str, str]) -> dict[str, object]:
    names = {f"c{i}": name for i, name in enumerate(expressions)}
    sql = "SELECT " + ", ".join(f"{e} AS c{i}" for i, e in enumerate(expressions.values()))
    if warehouse.dialect != "databricks":
        sql = sqlglot.transpile(sql, read="databricks", write=warehouse.dialect)[0]
    row = warehouse.arrow(sql).to_pylist()[0]
    return {names[k]: _normal(v) for k, v in row.items()}


@pytest.fixture(scope="module")
def duck():
    from services.warehouse.duckdb_engine import DuckDBWarehouse

    warehouse = DuckDBWarehouse(":memory:")
    yield warehouse
    warehouse.close()


def test_constructs_we_rely_on_agree(spark_warehouse, duck):
    spark, duckdb = _one_row(spark_warehouse, AGREE), _one_row(duck, AGREE)
    assert {k: (spark[k], duckdb[k]) for k in AGREE if spark[k] != duckdb[k]} == {}


def test_divergent_constructs_still_diverge(spark_warehouse, duck):
    cases = {name: sql for name, (sql, _, _) in DIVERGENT.items()}
    spark = _one_row(spark_warehouse, cases)
    for name, sql in cases.items():
        try:
            value = _one_row(duck, {name: sql})[name]
        except WarehouseError:
            continue  # no DuckDB rendering at all
        assert value != spark[name], f"sqlglot now renders {name!r} faithfully: drop it from DIVERGENT"


def _code(text: str) -> str:
    return re.sub(r"--[^\n]*", "", text)


def _avg_of_decimal_literal(tree: exp.Expression) -> bool:
    return any(lit.is_number and "." in lit.this for avg in tree.find_all(exp.Avg) for lit in avg.find_all(exp.Literal))


def test_no_sql_file_or_compiled_segment_uses_a_divergent_construct(engines, library):
    texts = {str(p.relative_to(sqlfiles.SQL_DIR)): _code(p.read_text(encoding="utf-8"))
             for p in sorted(sqlfiles.SQL_DIR.rglob("*.sql"))}
    trees = {name: sqlglot.parse(text, read="databricks") for name, text in texts.items()}
    for s in sample_campaigns():
        compiled = compile_definition(s.definition, engines.catalog, resolver=lambda i, v: library[i], segment_id=s.segment_id)
        texts[s.segment_id] = _code(compiled.sql("databricks"))
        trees[s.segment_id] = [compiled.members_query(with_split=True)]
    found = [f"{where}: {name} (write {instead})" for where, text in texts.items()
             for name, (_, pattern, instead) in DIVERGENT.items() if pattern and re.search(pattern, text, re.IGNORECASE)]
    found += [f"{where}: avg of a DECIMAL literal (write count_if(..) / count(*))"
              for where, statements in trees.items() if any(t is not None and _avg_of_decimal_literal(t) for t in statements)]
    assert found == []
