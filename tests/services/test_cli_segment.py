"""``cli segment sql|count|members`` against hand-written SQL on the demo warehouse."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlglot

from services.warehouse.duckdb_engine import DuckDBWarehouse

ROOT = Path(__file__).resolve().parents[2]
GOLD = "customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_customer_features"
FACT = "customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_transactions"

SPEC = {
    "schema_version": 1,
    "name": "Beauty lovers who are not lapsed",
    "rule": {"kind": "group", "match": "all", "conditions": [
        {"kind": "behavior", "measure": "spend", "comparator": "at_least", "threshold": 100,
         "categories": ["beauty"], "last_days": 365},
        {"kind": "group", "match": "any", "negate": True, "conditions": [
            {"kind": "trait", "field": "lifecycle_stage", "op": "in", "values": ["lapsed"]}]},
    ]},
}
HAND_WRITTEN = f"""
select count(*) from {GOLD} g
where g.lifecycle_stage <> 'lapsed'
  and g.customer_id in (
    select customer_id from {FACT}
    where category = 'beauty' and posted_date > date '2025-10-31' and posted_date <= date '2026-10-31'
    group by customer_id
    having sum(case when txn_type = 'refund' then -amount_usd else amount_usd end) >= 100)
"""


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def setup(demo_warehouse_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_segment")
    warehouse = folder / "w.duckdb"
    shutil.copy(demo_warehouse_path, warehouse)
    spec = folder / "spec.json"
    spec.write_text(json.dumps(SPEC))
    return warehouse, spec, folder


def test_count_equals_hand_written_sql(setup):
    warehouse, spec, _ = setup
    run = cli("segment", "count", str(spec), "--warehouse", str(warehouse))
    assert run.returncode == 0, run.stderr
    db = DuckDBWarehouse(warehouse)
    expected = db.scalar(HAND_WRITTEN)
    db.close()
    assert expected > 0
    assert int(run.stdout.strip()) == expected


@pytest.mark.parametrize("dialect", ["databricks", "duckdb"])
def test_sql_prints_parseable_sql_in_each_dialect(setup, dialect):
    warehouse, spec, _ = setup
    run = cli("segment", "sql", str(spec), "--dialect", dialect, "--warehouse", str(warehouse))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("-- Segment: Beauty lovers who are not lapsed")
    assert sqlglot.parse_one(run.stdout, read=dialect) is not None
    quote = "`" if dialect == "databricks" else '"'
    assert f"{quote}category{quote} IN ('beauty')" in run.stdout


def test_members_writes_the_member_ids(setup):
    warehouse, spec, folder = setup
    out = folder / "members.parquet"
    run = cli("segment", "members", str(spec), "--out", str(out), "--warehouse", str(warehouse))
    assert run.returncode == 0, run.stderr
    ids = pq.read_table(out).column("customer_id").to_pylist()
    db = DuckDBWarehouse(warehouse)
    expected = sorted(db.df(HAND_WRITTEN.replace("select count(*)", "select g.customer_id"))["customer_id"])
    db.close()
    assert ids == expected
    assert not (folder / "members.parquet.partial").exists()


def test_a_bad_spec_names_the_field(setup, tmp_path):
    warehouse, _, _ = setup
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "rule": {"conditions": [{"kind": "trait", "field": "shoe_size", "op": "eq", "value": 9}]}}))
    run = cli("segment", "count", str(bad), "--warehouse", str(warehouse))
    assert run.returncode == 2
    assert "shoe_size" in run.stderr and "Traceback" not in run.stderr


def _deep(levels: int) -> str:
    return '{"name": "deep", "rule": ' + '{"kind": "group", "conditions": [' * levels + "]}" * levels + "}"


@pytest.mark.parametrize(("content", "expected"), [
    pytest.param(b'{"name": "caf\xe9"}', "is not UTF-8 text (byte 0xe9 at position 13)", id="latin-1-file"),
    pytest.param(_deep(400).encode(), "groups nest more than 20 levels deep; flatten the rule", id="400-levels"),
    pytest.param(_deep(5000).encode(), "groups nest more than 20 levels deep; flatten the rule", id="5000-levels"),
    pytest.param(json.dumps({"segment_id": "a\x00b", "definition": SPEC}).encode(),
                 "segment_id 'a\\x00b' contains control characters", id="nul-in-the-wrapped-id"),
    pytest.param(json.dumps({"segment_id": 7, "definition": SPEC}).encode(), "segment_id must be text, got 7",
                 id="wrapped-id-as-number"),
    pytest.param(json.dumps({"segment_id": "x", "definition": [1]}).encode(),
                 "a segment definition is a JSON object", id="wrapped-definition-as-list"),
    pytest.param(json.dumps({"name": "x", "rule": {"conditions": [{"kind": "behavior", "last_days": 999999}]}}).encode(),
                 "rule.conditions[0]: last_days must be at most 36500 (100 years), got 999999", id="window-too-long"),
    pytest.param(json.dumps({"name": "x", "rule": {"conditions": [{"kind": "membership", "of": "segment",
                                                                   "segment_id": "a\x00b"}]}}).encode(),
                 "rule.conditions[0]: segment_id 'a\\x00b' contains control characters", id="nul-in-a-segment-id"),
])
@pytest.mark.parametrize("command", ["sql", "count"])
def test_an_unreadable_spec_is_one_error_line_never_a_traceback(setup, tmp_path, content, expected, command):
    warehouse, _, _ = setup
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    run = cli("segment", command, str(bad), "--warehouse", str(warehouse))
    assert run.returncode == 2, run.stdout
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], run.stderr
