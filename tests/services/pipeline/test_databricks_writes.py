"""On Databricks each model is written by one atomic statement, and an interrupted build is repaired.

The same hand-made data goes through the DuckDB engine (one transaction per
model) and through the Databricks engine on the fake warehouse (one atomic,
idempotent statement per model, then its batch record); every silver and gold
table must come out identical, including after a build interrupted between a
model's data and its batch record.
"""

from __future__ import annotations

import shutil

import pytest
import sqlglot
from databricks.sql import exc as dbx
from sqlglot import exp

from services import naming
from services.build import run_pipeline
from services.errors import SegmentStudioError
from services.pipeline import statements
from services.pipeline.models import MODELS, Model, create_all
from services.pipeline.statements import BATCHES_TABLE
from services.sqlterms import column
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.services.pipeline import handmade
from tests.services.pipeline.test_incremental import land
from tests.services.warehouse.fake_connector import fake_databricks

RAW = naming.fq("txn", "raw_transactions")
FACT = naming.fq("txn", "fact_transactions")
TARGETS = {m.name: m.target_fq for m in MODELS}


def rows(warehouse, table: str) -> list[dict]:
    names = [c for c, _ in warehouse.columns(*table.split("."))]
    query = exp.select(*[column(c) for c in names]).from_(table).order_by(*[column(c) for c in names])
    return warehouse.arrow(query).to_pylist()


def batch_record(warehouse) -> list[tuple[str, str]]:
    return sorted((r["model_name"], r["batch_id"]) for r in
                  warehouse.arrow(exp.select("model_name", "batch_id").from_(BATCHES_TABLE)).to_pylist())


def assert_same(duck, dbx_warehouse) -> None:
    for name, table in TARGETS.items():
        assert rows(dbx_warehouse, table) == rows(duck, table), name
    assert batch_record(dbx_warehouse) == batch_record(duck)


@pytest.fixture(scope="module")
def empty_tables(tmp_path_factory):
    """A DuckDB file holding the fake warehouse's tables, created once through the engine, copied per test."""
    root = tmp_path_factory.mktemp("databricks-tables")
    warehouse, connector = fake_databricks(root, database=root / "tables.duckdb")
    create_all(warehouse)
    warehouse.close()
    connector.database.close()
    return root / "tables.duckdb"


@pytest.fixture
def databricks(tmp_path, empty_tables):
    shutil.copy(empty_tables, tmp_path / "warehouse.duckdb")
    warehouse, connector = fake_databricks(tmp_path, database=tmp_path / "warehouse.duckdb")
    handmade.load(warehouse)
    yield warehouse, connector
    assert connector.refused == []
    assert connector.most_parameters() <= 255
    assert connector.volumes.leftovers() == []
    warehouse.close()
    connector.database.close()


@pytest.fixture
def duck(empty_warehouse):
    handmade.load(empty_warehouse)
    return empty_warehouse


#: b4 lands a new customer (so dim_customer rebuilds too) and redelivers T1 (100 -> 90)
B4 = [("T40", "Q", "purchase", 12.00, "USD", "2026-06-29 10:00", "P-HOM", "web"),
      ("T1", "A", "purchase", 90.00, "USD", "2026-01-10 12:00", "P-APP", "web")]


@pytest.fixture(scope="module")
def after_b4():
    """What DuckDB holds after a build, b4 landing, and another build: every model target and the record."""
    duck = DuckDBWarehouse(":memory:")
    create_all(duck)
    handmade.load(duck)
    run_pipeline(duck)
    land(duck, B4, "b4", "2026-07-03 02:00")
    run_pipeline(duck)
    state = {name: rows(duck, table) for name, table in TARGETS.items()} | {"record": batch_record(duck)}
    duck.close()
    return state


def writes_to(connector, table: str, since: int = 0) -> list[str]:
    """What the statements sent since ``since`` did to ``table`` (placed in catalog retail), in order."""
    verbs = []
    for sql, _ in connector.sent[since:]:
        tree = sqlglot.parse_one(sql, read="databricks")
        if isinstance(tree, exp.Insert):
            target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            verb = ("INSERT OVERWRITE" if tree.args.get("overwrite") else
                    "INSERT REPLACE WHERE" if tree.args.get("where") is not None else "INSERT")
        elif isinstance(tree, (exp.Merge, exp.Delete, exp.Update, exp.Copy)):
            target, verb = tree.this, type(tree).__name__.upper()
        elif isinstance(tree, exp.TruncateTable):
            target, verb = tree.expressions[0], "TRUNCATE"
        else:
            continue
        if ".".join(p.name for p in target.parts) == f"retail.{table}":
            verbs.append(verb)
    return verbs


def test_a_first_build_writes_each_model_with_one_overwrite_and_matches_duckdb(duck, databricks):
    warehouse, connector = databricks
    since = len(connector.sent)
    run_pipeline(duck)
    run_pipeline(warehouse)
    assert_same(duck, warehouse)
    for name, table in TARGETS.items():
        # Readers see the old table or the new one: no TRUNCATE or DELETE before an INSERT.
        assert writes_to(connector, table, since) == ["INSERT OVERWRITE"], name
    # Each incremental model replaced its whole batch record with one statement (dim_customer's
    # input, the CDC feed, has no batch ids here: its record is emptied).
    assert writes_to(connector, BATCHES_TABLE, since) == ["INSERT REPLACE WHERE"] * 3 + ["DELETE"]


def test_new_batches_are_replaced_by_batch_and_merged_by_key(databricks, after_b4):
    warehouse, connector = databricks
    run_pipeline(warehouse)
    land(warehouse, B4, "b4", "2026-07-03 02:00")
    since = len(connector.sent)
    run_pipeline(warehouse)
    for name, table in TARGETS.items():
        assert rows(warehouse, table) == after_b4[name], name
    assert batch_record(warehouse) == after_b4["record"]
    assert writes_to(connector, RAW, since) == ["INSERT REPLACE WHERE"]
    [replace] = [sql for sql, _ in connector.sent[since:] if f"INSERT INTO retail.{RAW} REPLACE WHERE" in sql]
    assert "REPLACE WHERE `batch_id` IN ('b4')" in replace
    assert writes_to(connector, FACT, since) == ["MERGE"]
    assert writes_to(connector, TARGETS["gold_customer_activity"], since) == ["MERGE"]
    assert float(warehouse.scalar(exp.select("amount_usd").from_(FACT).where(column("transaction_id").eq("T1")))) == 90.0


INTERRUPTIONS = [
    pytest.param("silver_raw_transactions", "record", id="append-before-its-record"),
    pytest.param("silver_fact_transactions", "record", id="merge-before-its-record"),
    pytest.param("gold_customer_activity", "record", id="activity-merge-before-its-record"),
    pytest.param("silver_dim_customer", "record", id="rebuild-before-its-record"),
    pytest.param("silver_raw_transactions", "lost", id="append-answer-lost"),
    pytest.param("silver_fact_transactions", "lost", id="merge-answer-lost"),
]


@pytest.mark.parametrize("model, where", INTERRUPTIONS)
def test_a_build_interrupted_after_a_models_data_is_repaired_by_the_next_without_double_counting(
        databricks, after_b4, model, where):
    warehouse, connector = databricks
    run_pipeline(warehouse)
    land(warehouse, B4, "b4", "2026-07-03 02:00")
    if where == "record":
        # The data statement committed; the batch record's statement never ran. (dim_customer's
        # input has no batch ids here, so its record statement empties its rows.)
        record = (f"DELETE FROM retail.{BATCHES_TABLE} WHERE" if model == "silver_dim_customer"
                  else f"INSERT INTO retail.{BATCHES_TABLE} REPLACE WHERE")
        connector.fail_on(f"{record} `model_name` = '{model}'", dbx.RequestError("connection reset"))
    else:
        # The data statement committed, and its answer never came back.
        connector.fail_on(f"retail.{TARGETS[model]} ", dbx.RequestError("connection reset"), after=True)
    with pytest.raises(SegmentStudioError):
        run_pipeline(warehouse)
    if model != "silver_dim_customer":
        # The data is ahead of the record: b4's rows are in, the record does not say so.
        assert (model, "b4") not in batch_record(warehouse)
    b4_rows = exp.select(exp.func("COUNT", exp.Star())).from_(RAW).where(column("batch_id").eq("b4"))
    assert warehouse.scalar(b4_rows) == 2  # raw goes first: its data is in whichever statement failed
    run_pipeline(warehouse)
    for name, table in TARGETS.items():
        assert rows(warehouse, table) == after_b4[name], name
    assert batch_record(warehouse) == after_b4["record"]
    assert warehouse.scalar(b4_rows) == 2  # taken in again by the repair, and replaced, not added


def test_duckdb_keeps_one_transaction_per_model(duck):
    statements = []
    original = duck.transaction

    def recording(batch):
        statements.append([type(s[0] if isinstance(s, tuple) else s).__name__ for s in batch])
        return original(batch)

    duck.transaction = recording
    run_pipeline(duck)
    assert ["Delete", "TruncateTable", "Insert", "Insert"] in statements  # forget, replace, record: together


def test_a_merge_updates_inserts_and_deletes_the_touched_keys_the_model_no_longer_derives(
        tmp_path, empty_warehouse, monkeypatch):
    source, target = naming.fq("app", "toy_source"), naming.fq("app", "toy_target")
    # A toy model of the facts' shape: the latest landing of each key, kept only when ``keep``.
    body = (f"with src as (select * from {source}), latest as (select k, v, keep, row_number() over "
            "(partition by k order by batch_id desc) as r from src) select k, v from latest where r = 1 and keep")
    read = statements.sqlfiles.query
    monkeypatch.setattr(statements.sqlfiles, "query",
                        lambda path: sqlglot.parse_one(body, read="databricks") if path == "toy.sql" else read(path))
    model = Model("toy", "toy.sql", "app", "toy_target", "merge", batch_source=source, input_cte="src", key="k")
    warehouse, connector = fake_databricks(tmp_path)
    for w in (empty_warehouse, warehouse):
        for ddl in (f"CREATE SCHEMA IF NOT EXISTS {naming.schema('app')}",
                    f"CREATE TABLE {source} (k STRING, v INT, keep BOOLEAN, batch_id STRING)",
                    f"CREATE TABLE {target} (k STRING, v INT)",
                    f"INSERT INTO {source} VALUES ('k1', 1, TRUE, 'b1'), ('k2', 2, TRUE, 'b1'), ('k9', 9, TRUE, 'b1'), "
                    "('k1', 10, TRUE, 'b2'), ('k2', 20, FALSE, 'b2'), ('k3', 3, TRUE, 'b2')",
                    f"INSERT INTO {target} VALUES ('k1', 1), ('k2', 2), ('k9', 9)"):
            w.execute(ddl if w is warehouse else sqlglot.transpile(ddl, read="databricks", write="duckdb")[0])
        # b2 redelivers k1 (10), takes k2 out of the model (keep is false) and adds k3; k9 is untouched.
        merge = statements.merge_statement(model, ["k", "v"], ["b2"])
        for _ in range(2):  # and running it twice changes nothing more
            w.execute(merge)
        assert w.arrow(exp.select("k", "v").from_(target).order_by("k")).to_pylist() == [
            {"k": "k1", "v": 10}, {"k": "k3", "v": 3}, {"k": "k9", "v": 9}]
    assert connector.refused == []
