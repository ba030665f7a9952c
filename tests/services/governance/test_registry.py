"""The governance catalog of the project's own datasets."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import duckdb
import pandas as pd
import pytest
from sqlglot import exp

from services import sqlfiles
from services.governance.registry import (
    CLASSIFICATIONS,
    DATASET_IDS,
    DATASETS,
    GOLD_DATASETS,
    OWNERS,
    SEED_DATASETS,
    SENSITIVITIES,
    dataset,
    dataset_id,
    registration_rows,
)
from services.naming import fq

REGISTERED_TS = dt.datetime(2026, 10, 31, 23, 0)
CUSTOMER_PII = {
    "first_name": "name",
    "last_name": "name",
    "email": "email",
    "phone": "phone",
    "address_line": "address",
    "postal_code": "address",
    "birth_date": "birth_date",
}


def _ddl_columns(source: str) -> dict[str, set[str]]:
    """Table name -> column names, from ``sql/ddl/<source>.sql``."""
    tables = {}
    for tree in sqlfiles.parse(f"ddl/{source}.sql"):
        if isinstance(tree, exp.Create) and tree.kind == "TABLE":
            tables[tree.this.this.name] = {c.name for c in tree.this.expressions if isinstance(c, exp.ColumnDef)}
    return tables


@pytest.fixture(scope="module")
def rows() -> dict[str, pd.DataFrame]:
    return registration_rows(registered_ts=REGISTERED_TS)


GOLD_TABLES = {"gold_customer_features", "gold_customer_category_spend", "gold_customer_activity", "gold_cluster_runs",
               "gold_cluster_assignments", "gold_cluster_embeddings", "gold_lookalike_models",
               "gold_lookalike_scores", "gold_feature_catalog"}


def test_the_seed_tables_and_the_gold_tables_are_registered():
    assert len(SEED_DATASETS) == 100
    assert Counter(d.source for d in SEED_DATASETS) == {"ingest": 20, "ops": 20, "gov": 20, "cost": 20, "txn": 20}
    assert {d.name for d in GOLD_DATASETS} == GOLD_TABLES
    assert len(DATASETS) == len(DATASET_IDS) == len({d.dataset_id for d in DATASETS}) == 100 + len(GOLD_TABLES)


@pytest.mark.parametrize("source", ["ingest", "ops", "gov", "cost", "txn"])
def test_registered_seed_tables_are_the_ddl_tables(source):
    assert {d.table_name for d in SEED_DATASETS if d.source == source} == set(_ddl_columns(source))


def test_gold_datasets_are_the_gold_ddl_tables():
    assert {d.table_name for d in GOLD_DATASETS} == set(_ddl_columns("gold"))


@pytest.mark.parametrize(
    "source, name, layer",
    [
        pytest.param("ingest", "stg_raw", "bronze", id="stg"),
        pytest.param("cost", "raw_billing", "bronze", id="raw"),
        pytest.param("txn", "fact_transactions", "silver", id="fact"),
        pytest.param("txn", "dim_customer", "silver", id="dim"),
        pytest.param("ops", "ref_runbooks", "silver", id="ref"),
        pytest.param("ingest", "stage_cdc", "silver", id="stage"),
        pytest.param("gov", "audit_policies", "silver", id="audit"),
        pytest.param("gold", "gold_customer_features", "gold", id="gold"),
    ],
)
def test_layer_follows_the_table_prefix(source, name, layer):
    assert dataset(source, name).layer == layer


def test_dataset_id_is_the_schema_qualified_name():
    expected = "customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_customer"
    assert dataset_id("txn", "dim_customer") == expected == fq("txn", "dim_customer")
    assert DATASET_IDS[("gold", "gold_customer_category_spend")] == fq("gold", "gold_customer_category_spend")
    with pytest.raises(KeyError, match="not a registered dataset"):
        dataset_id("txn", "fact_missing")


def test_pii_columns_are_tagged(rows):
    tags = rows[fq("gov", "dim_tag")]
    assert set(tags["tag_name"]) == {"pii"}
    assert not tags["tag_id"].duplicated().any()
    by_dataset = {ds: dict(zip(g["column_name"], g["tag_value"])) for ds, g in tags.groupby("dataset_id")}
    assert by_dataset == {
        dataset_id("txn", "dim_customer"): CUSTOMER_PII,
        dataset_id("ingest", "stage_cdc"): CUSTOMER_PII,
        dataset_id("ingest", "stg_raw"): {"raw_line": "mixed"},
    }


def test_tagged_columns_exist_in_the_ddl():
    for d in DATASETS:
        if d.pii_columns:
            columns = _ddl_columns(d.source)[d.table_name]
            assert {c for c, _ in d.pii_columns} <= columns, d.dataset_id


def test_pii_datasets_are_restricted_and_masked():
    masking = {s[0]: s[3] for s in SENSITIVITIES}
    pii = {d.dataset_id for d in DATASETS if d.contains_pii}
    assert pii == {dataset_id("txn", "dim_customer"), dataset_id("ingest", "stage_cdc"), dataset_id("ingest", "stg_raw")}
    for d in DATASETS:
        if d.contains_pii:
            assert d.classification_id == "restricted" and masking[d.sensitivity_id]
    assert not dataset("gold", "gold_customer_features").contains_pii


def test_dataset_rows(rows):
    frame = rows[fq("gov", "dim_dataset")]
    assert len(frame) == 100 + len(GOLD_TABLES)
    assert set(frame.columns) == _ddl_columns("gov")[dataset("gov", "dim_dataset").table_name]
    assert set(frame["layer"]) == {"bronze", "silver", "gold"}
    assert set(frame["owner_id"]) <= {o[0] for o in OWNERS}
    assert set(frame["classification_id"]) <= {c[0] for c in CLASSIFICATIONS}
    assert set(frame["sensitivity_id"]) <= {s[0] for s in SENSITIVITIES}
    assert frame["grain"].str.startswith("one row per").all()
    assert (frame["registered_ts"] == pd.Timestamp(REGISTERED_TS)).all()
    gold = frame.set_index("dataset_id").loc[dataset_id("gold", "gold_customer_features")]
    assert (gold["schema_name"], gold["grain"]) == (
        "customer_segmentation_for_retail_personalization_gold", "one row per customer who has bought at least once")


def test_an_aware_timestamp_is_stored_as_naive_utc():
    aware = dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    frame = registration_rows(registered_ts=aware)[fq("gov", "dim_dataset")]
    assert frame["registered_ts"].iloc[0] == pd.Timestamp("2026-10-31 23:00")


def test_rows_load_into_the_gov_tables_and_resolve(rows):
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    for statement in sqlfiles.statements("ddl/gov.sql", "duckdb"):
        con.execute(statement)
    lookups = {
        fq("gov", "dim_owner"): pd.DataFrame([o[:4] for o in OWNERS], columns=["owner_id", "owner_name", "email", "team"]),
        fq("gov", "dim_classification"): pd.DataFrame([c[:3] for c in CLASSIFICATIONS], columns=["classification_id", "classification_name", "description"]),
        fq("gov", "dim_sensitivity"): pd.DataFrame([s[:4] for s in SENSITIVITIES], columns=["sensitivity_id", "sensitivity_name", "description", "requires_masking"]),
    }
    for name, frame in [*lookups.items(), *rows.items()]:
        con.register("df", frame)
        con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM df")
        con.unregister("df")
    datasets, tags = fq("gov", "dim_dataset"), fq("gov", "dim_tag")
    assert con.execute(f"select count(*), count(distinct dataset_id) from {datasets}").fetchone() == (100 + len(GOLD_TABLES),) * 2
    (orphans,) = con.execute(f"""
        select count(*) from {datasets} d
        where d.owner_id not in (select owner_id from {fq('gov', 'dim_owner')})
           or d.classification_id not in (select classification_id from {fq('gov', 'dim_classification')})
           or d.sensitivity_id not in (select sensitivity_id from {fq('gov', 'dim_sensitivity')})
    """).fetchone()
    assert orphans == 0
    (pii_tags,) = con.execute(f"select count(*) from {tags} t join {datasets} d using (dataset_id) where d.contains_pii").fetchone()
    assert pii_tags == 15
