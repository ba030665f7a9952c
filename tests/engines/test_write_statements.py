"""The statements the app writes on a SQL warehouse, run on Spark where OSS Spark has them.

Spark here keeps plain parquet tables (no Delta), so of the new statement
forms it runs:

* ``INSERT OVERWRITE`` of a full model (how every model is rebuilt where
  statements commit on their own), run twice: the same rows, never doubled;
* a list bound as one ARRAY parameter (``ARRAY_CONTAINS(:ids, col)``), the
  form a long IN list takes on Databricks;
* the staged Parquet file of a bulk load, read back with the COPY INTO's own
  casts (the SELECT of the COPY, over Spark's parquet reader);
* the SELECT a remote snapshot copies (the members an export keeps).

It cannot run, and says so: ``MERGE`` and ``INSERT ... REPLACE WHERE`` (row
changes of a Delta table), ``COPY INTO`` and ``read_files`` (Databricks SQL
only). Those run on the fake warehouse (tests/services/warehouse/fake_sql.py)
and in tests/services/pipeline/test_databricks_writes.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
from sqlglot import exp

from services.build import GOLD
from services.errors import WarehouseError
from services.exports import selection
from services.exports.audience import source_query
from services.exports.base import ExportRequest
from services.exports.meta import MetaDestination
from services.pipeline import statements
from services.pipeline.models import MODELS, materialise
from services.segments.campaigns import sample_campaigns
from services.segments.compiler import compile_definition
from services.sqlterms import column
from services.warehouse import staging
from services.warehouse.parameters import lists_as_arrays

pytestmark = pytest.mark.spark


class Recording:
    """The Spark warehouse, keeping what it was asked to execute."""

    def __init__(self, inner):
        self.inner = inner
        self.executed: list[exp.Expression] = []

    def execute(self, query, params=None):
        self.executed.append(query)
        return self.inner.execute(query, params)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_full_model_is_one_insert_overwrite_and_running_it_again_changes_nothing(engines):
    model = next(m for m in GOLD if m.name == "gold_customer_category_spend")
    spark = Recording(engines.spark)
    ordered = exp.select("*").from_(model.target_fq).order_by("customer_id", "category")
    for _ in range(2):
        done = materialise(spark, model, {"as_of_date": None})
        assert done.how == "full" and done.rows == engines.duckdb.scalar(
            exp.select(exp.func("COUNT", exp.Star())).from_(model.target_fq))
    assert [type(s).__name__ for s in spark.executed] == ["Insert", "Insert"]
    assert all(s.args.get("overwrite") for s in spark.executed)
    assert engines.spark.arrow(ordered).to_pylist() == engines.duckdb.arrow(ordered).to_pylist()


def test_a_list_is_one_array_parameter(engines):
    features = next(m for m in GOLD if m.name == "gold_customer_features").target_fq
    ids = sorted(engines.gold["customer_id"])[:300]
    query = (exp.select(column("customer_id")).from_(features)
             .where(column("customer_id").isin(exp.Placeholder(this="ids"))).order_by(column("customer_id")))
    tree, params = lists_as_arrays(query, {"ids": ids})
    assert list(params) == ["ids"] and "ARRAY_CONTAINS(:ids" in tree.sql(dialect="databricks")
    assert engines.spark.arrow(tree, params).column(0).to_pylist() == ids


def test_a_staged_file_reads_back_through_the_copys_casts(spark_warehouse, tmp_path):
    rows = pa.table({
        "job": pa.DictionaryArray.from_arrays(pa.array([0, 0, 0], pa.int32()), pa.array(["j1"])),
        "n": pa.array([1, None, 3], pa.int64()),
        "amount": [Decimal("1.50"), Decimal("2.25"), None],
        "seen_ts": pa.array([datetime(2026, 1, 2, 3, 4, 5), None, datetime(2026, 6, 30, 23, 59)], pa.timestamp("ns")),
        "day": [date(2026, 1, 2), None, date(2026, 6, 30)],
        "nothing": pa.nulls(3),
    })
    columns = [("job", "string"), ("n", "int"), ("amount", "decimal(18,2)"), ("seen_ts", "timestamp"),
               ("day", "date"), ("nothing", "string"), ("absent", "bigint")]
    payload, present = staging.parquet(rows)
    assert "nothing" not in present  # an untyped column stays out of the file; the cast gives it NULL
    path = tmp_path / "part-0.parquet"
    path.write_bytes(payload)
    copy = staging.copy_into("x.target", str(tmp_path), columns, present)
    select = copy.args["files"][0].this.copy()
    select.set("from_", exp.From(this=exp.Table(this=exp.to_identifier(str(path), quoted=True),
                                                db=exp.to_identifier("parquet"))))
    back = spark_warehouse.arrow(select.order_by(column("seen_ts"))).to_pylist()
    assert back == [
        {"job": "j1", "n": None, "amount": Decimal("2.25"), "seen_ts": None, "day": None, "nothing": None, "absent": None},
        {"job": "j1", "n": 1, "amount": Decimal("1.50"), "seen_ts": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
         "day": date(2026, 1, 2), "nothing": None, "absent": None},
        {"job": "j1", "n": 3, "amount": None, "seen_ts": datetime(2026, 6, 30, 23, 59, tzinfo=UTC),
         "day": date(2026, 6, 30), "nothing": None, "absent": None},
    ]


def test_the_members_a_snapshot_copies_are_the_members_the_job_keeps(engines):
    definition = next(s.definition for s in sample_campaigns() if s.segment_id == "sample-beauty-enthusiasts")
    compiled = compile_definition(definition, engines.catalog)
    dest = MetaDestination()
    request = dest.normalise(ExportRequest(segment_id="sample-beauty-enthusiasts", version=1, destination=dest.name))
    audience = source_query(compiled, ())
    kept, _ = selection.exclusions(selection.fetch_members(engines.duckdb, dest, request, audience), request)
    expected = sorted(selection.member_ids(kept).to_pylist())
    query = selection.kept_ids(dest, request, audience).order_by(column("customer_id"))
    assert len(expected) > 10
    assert engines.spark.arrow(query).column(0).to_pylist() == expected
    assert engines.duckdb.arrow(query).column(0).to_pylist() == expected


@pytest.mark.parametrize("statement", [
    pytest.param(lambda model: statements.merge_statement(model, ["transaction_id"], ["b1"]), id="merge"),
    pytest.param(lambda model: statements.replace_record(model, ["b1"], "run-1", whole=False), id="replace-where"),
])
def test_merge_and_replace_where_need_delta_and_say_so(spark_warehouse, statement):
    model = next(m for m in MODELS if m.materialisation == "merge")
    with pytest.raises(WarehouseError, match="Delta"):
        spark_warehouse.execute(statement(model))

