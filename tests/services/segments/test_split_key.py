"""A segment's split key is fixed when it is first saved: its id, the same in every version's stored SQL,
in exports and in ``segment members --with-split`` (issue 13, finding 3)."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest
import sqlglot

from services import cli
from services.exports import jobs
from services.exports.base import ExportRequest
from services.segments.compiler.split import python_group
from services.segments.workspace import Workspace, save_segment
from services.warehouse.duckdb_engine import DuckDBWarehouse

DRAFT = {
    "name": "Loyal holdout test",
    "rule": {"kind": "group", "match": "all", "conditions": [
        {"kind": "trait", "field": "rfm_segment", "op": "in", "values": ["Loyal", "Champions"]}]},
    "split": {"control_pct": 20, "arms": [{"name": "treatment", "share_pct": 80}]},
}


@pytest.fixture
def warehouse_path(demo_warehouse_path, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    return path


def groups_of(rows) -> dict[str, str]:
    return {r["customer_id"]: r["split_group"] for r in rows}


def test_every_version_every_export_and_the_cli_split_on_the_segment_id(warehouse_path, tmp_path):
    warehouse = DuckDBWarehouse(warehouse_path)
    ws = Workspace(warehouse)
    draft = ws.compile_draft(DRAFT)
    assert draft.compiled.segment_key.startswith("draft:")  # an unsaved draft has no id yet: a placeholder
    v1 = save_segment(ws, draft.definition, author="ann@example.com", role="marketer")
    segment_id = v1.segment_id
    # A later version from a later rerun, through the Builder's own compile of the edited draft.
    edited = {**DRAFT, "name": "Loyal holdout test, renamed"}
    later = Workspace(warehouse)
    v2 = save_segment(later, later.compile_draft(edited, segment_id=segment_id).definition,
                      author="ann@example.com", role="marketer", segment_id=segment_id)
    assert v2.version == 2

    split = v1.definition.split
    for saved in (v1, v2):
        assert f"'{segment_id}:'" in saved.sql_databricks and "draft:" not in saved.sql_databricks
        stored = sqlglot.transpile(saved.sql_databricks, read="databricks", write="duckdb")[0]
        rows = warehouse.arrow(stored).to_pylist()
        assert rows and {r["split_group"] for r in rows} == {"control", "treatment"}
        assert groups_of(rows) == {r["customer_id"]: python_group(split, segment_id, r["customer_id"]) for r in rows}
    expected = groups_of(warehouse.arrow(sqlglot.transpile(v1.sql_databricks, read="databricks",
                                                           write="duckdb")[0]).to_pylist())

    request = ExportRequest(segment_id=segment_id, version=1, destination="parquet", include_control=True)
    job = jobs.run_job(warehouse, jobs.create_job(warehouse, request, user="ann@example.com", role="marketer"),
                       output_dir=tmp_path / "exports")
    exported = pq.read_table(job.output_path).to_pylist()
    assert groups_of(exported) == expected

    out = tmp_path / "members.parquet"
    code = cli.main(["segment", "members", "--segment", segment_id, "--version", "1", "--with-split",
                     "--out", str(out), "--warehouse", str(warehouse_path), "--quiet"], env={})
    assert code == 0
    assert groups_of(pq.read_table(out).to_pylist()) == expected
    warehouse.close()
