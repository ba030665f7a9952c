"""Finding 1: a marketer can only write where the app writes exports.

Run as the issue ran it, through the real command line: ``export SEG
--destination table --table <any table>``. Before the fix it ran ``CREATE OR
REPLACE`` over the app's audit log (176 rows of customer_id, split_group), the
segment versions and gold's customer features. Now a table export writes only
into the exports schema, replaces or merges a table there only if an export
created it, and a role change lands with its audit row or not at all (a real
process killed between the two).
"""

from __future__ import annotations

import shutil
import sys

import pytest

from services import naming
from services.errors import SpecError
from services.exports.base import ExportRequest
from services.exports.destinations import DESTINATIONS
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.processes import cli, environment, run_killed_at

SEGMENT = "sample-vip-champions-early-access"
MARKETER = environment(SEGMENT_STUDIO_ROLE="marketer", SEGMENT_STUDIO_USER="mallory@example.com")


@pytest.fixture
def warehouse_path(demo_warehouse_path, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    return path


def rows(path, table: str) -> list[tuple]:
    warehouse = DuckDBWarehouse(path, read_only=True)
    try:
        return sorted((tuple(r.values()) for r in warehouse.arrow(f"SELECT * FROM {table}").to_pylist()), key=repr)
    finally:
        warehouse.close()


def export_to(path, table: str, *, mode: str = "full"):
    return cli("export", SEGMENT, "--destination", "table", "--table", table, "--mode", mode, "--warehouse", path,
               "--quiet", env=MARKETER)


@pytest.mark.parametrize("table", [
    naming.fq("app", "app_audit_log"),
    naming.fq("app", "app_segment_versions"),
    naming.fq("gold", "gold_customer_features"),
    naming.fq("txn", "fact_transactions"),
    f"{naming.schema('ingest')}.anything_new",
])
def test_a_table_export_cannot_write_outside_the_exports_schema(warehouse_path, table):
    before = rows(warehouse_path, table) if not table.endswith("anything_new") else None
    done = export_to(warehouse_path, table)
    assert done.returncode != 0, done.stdout
    assert "exports schema" in done.stderr, done.stderr
    if before is not None:
        assert rows(warehouse_path, table) == before


def test_a_table_in_the_exports_schema_that_no_export_created_is_not_replaced(warehouse_path):
    warehouse = DuckDBWarehouse(warehouse_path)
    schema = naming.schema("exports")
    warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    warehouse.execute(f"CREATE TABLE {schema}.budget AS SELECT 1 AS keep_me")
    warehouse.close()
    done = export_to(warehouse_path, "budget")
    assert done.returncode != 0 and "not created by an export" in done.stderr, done.stderr
    assert rows(warehouse_path, f"{schema}.budget") == [(1,)]


def test_a_table_export_lands_in_the_exports_schema_and_a_repeat_replaces_its_own_table(warehouse_path):
    audit_before = len(rows(warehouse_path, naming.fq("app", "app_audit_log")))
    for mode in ("full", "full", "diff"):
        done = export_to(warehouse_path, "exports.vip_audience", mode=mode)
        assert done.returncode == 0, done.stderr
    exported = rows(warehouse_path, f"{naming.schema('exports')}.vip_audience")
    assert exported and all(r[1] != "control" for r in exported)
    assert len(rows(warehouse_path, naming.fq("app", "app_audit_log"))) == audit_before + 3
    recorded = rows(warehouse_path, naming.fq("app", "app_export_tables"))
    assert [(r[0], r[2]) for r in recorded] == [(f"{naming.schema('exports')}.vip_audience", SEGMENT)]


@pytest.mark.parametrize("name, expected", [
    ("vip", f"{naming.schema('exports')}.vip"),
    ("exports.vip", f"{naming.schema('exports')}.vip"),
    (f"{naming.schema('exports')}.vip", f"{naming.schema('exports')}.vip"),
])
def test_names_inside_the_exports_schema_are_accepted(name, expected):
    request = ExportRequest(segment_id=SEGMENT, version=1, destination="table", table_name=name)
    assert DESTINATIONS["table"].normalise(request).table_name == expected


@pytest.mark.parametrize("name", ["app.app_audit_log", "gold.x", "cat.exports.x", "exports.x; drop", "../x", ""])
def test_other_names_are_refused_before_a_job_exists(name):
    request = ExportRequest(segment_id=SEGMENT, version=1, destination="table", table_name=name or " ")
    with pytest.raises(SpecError, match="exports schema"):
        DESTINATIONS["table"].normalise(request)


ASSIGN = """
import sys
from services import checkpoints
from services.role_assignments import assign_role
from services.warehouse.duckdb_engine import DuckDBWarehouse
checkpoints.arm("role.change")
assign_role(DuckDBWarehouse(sys.argv[1]), "mallory@example.com", "admin", by="admin@example.com", by_role="admin")
"""


def test_a_role_change_and_its_audit_row_land_together_or_not_at_all(warehouse_path):
    assignments, audit = naming.fq("app", "app_role_assignments"), naming.fq("app", "app_audit_log")
    before = rows(warehouse_path, assignments), rows(warehouse_path, audit)
    run_killed_at("role.change", [sys.executable, "-c", ASSIGN, str(warehouse_path)])
    assert (rows(warehouse_path, assignments), rows(warehouse_path, audit)) == before
