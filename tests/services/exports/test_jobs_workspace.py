"""An export click (create_job, then run_job, as the Exports page and the CLI do) compiles the
segment once and reads the feature catalog at most once, through one workspace."""

from __future__ import annotations

from services.exports import jobs
from services.exports.base import ExportRequest
from services.segments.catalog import read_catalog
from services.segments.compiler import compile_definition
from services.segments.workspace import Workspace

from .conftest import VIP, members


def test_an_export_click_compiles_once_and_reads_the_catalog_once(warehouse, tmp_path, count_calls):
    expected = {c for c, group in members(warehouse, VIP).items() if group != "control"}
    catalogs, compiles = count_calls(read_catalog), count_calls(compile_definition)
    ws = Workspace(warehouse)
    request = ExportRequest(segment_id=VIP, version=1, destination="csv", attributes=("rfm_segment",))
    queued = jobs.create_job(warehouse, request, user="tester", role="admin", workspace=ws)
    job = jobs.run_job(warehouse, queued, output_dir=tmp_path)
    assert job.status == "succeeded" and job.rows_exported == len(expected)
    assert len(compiles) == 1 and len(catalogs) == 1


def test_a_job_run_on_its_own_compiles_for_itself(warehouse, tmp_path, count_calls):
    """A job run later from its id (a Databricks job, a retry) has no compiled segment: it compiles once."""
    job_id = jobs.create_job(warehouse, ExportRequest(segment_id=VIP, version=1, destination="csv"), user="tester",
                             role="admin").job_id
    catalogs, compiles = count_calls(read_catalog), count_calls(compile_definition)
    assert jobs.run_job(warehouse, job_id, output_dir=tmp_path).status == "succeeded"
    assert len(compiles) == 1 and len(catalogs) == 1
