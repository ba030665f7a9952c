"""Every job of the bundle (databricks.yml) runs: its entry point, its settings and its command with
their default values, in a real subprocess, against a copy of the small demo warehouse.

The jobs' own settings stay (the settings file, warehouse id, volume); only the engine is switched
to DuckDB by an environment variable (which wins over the settings file), so the command runs here
as it would on the SQL warehouse. The scheduled-sync job finds a schedule due and exports it; the
export job runs an export the Exports page queued; the build takes its full_refresh parameter's default.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlglot import exp

from services.exports import jobs, schedules
from services.exports.base import ExportRequest
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.processes import environment

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = yaml.safe_load((ROOT / "databricks.yml").read_text(encoding="utf-8"))
TASKS = [(job, task) for job, spec in BUNDLE["resources"]["jobs"].items() for task in spec["tasks"]]


def _defaults(value: str, parameters: dict[str, str]) -> str:
    value = value.replace("${workspace.file_path}", str(ROOT))
    # A job parameter's reference, as the job passes it (docs.databricks.com/aws/en/jobs/dynamic-value-references).
    value = re.sub(r"\{\{job\.parameters\.([a-z_]+)\}\}", lambda m: parameters[m.group(1)], value)
    # warehouse_id has no default (every deploy names its own); any id does here, DuckDB ignores it.
    return re.sub(r"\$\{var\.([a-z_]+)\}", lambda m: str(BUNDLE["variables"][m.group(1)].get("default", "w-123")),
                  value)


def _make_due(path: Path) -> str:
    """A daily schedule made two days ago by a marketer in the role map's default role."""
    warehouse = DuckDBWarehouse(path)
    try:
        made = schedules.create(warehouse, ExportRequest(segment_id="sample-vip-champions-early-access", version=1,
                                                         destination="csv", mode="diff"),
                                frequency="hourly", user="ana@example.com", role="marketer")
        warehouse.execute(exp.update(schedules.SCHEDULES, {"created_ts": exp.cast(
            exp.Literal.string(str(made.created_ts - timedelta(days=2))), "TIMESTAMP")}))
        return made.schedule_id
    finally:
        warehouse.close()


def _queue_export(path: Path) -> str:
    """An export job the Exports page queued (its gates passed) for the export_run job to run."""
    warehouse = DuckDBWarehouse(path)
    try:
        return jobs.create_job(warehouse, ExportRequest(segment_id="sample-vip-champions-early-access", version=1,
                                                        destination="csv"), user="ana@example.com",
                               role="marketer").job_id
    finally:
        warehouse.close()


@pytest.mark.parametrize("job, task", TASKS, ids=[f"{j}.{t['task_key']}" for j, t in TASKS])
def test_each_bundle_job_runs_with_its_default_arguments(demo_warehouse_path, tmp_path, job, task):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    schedule_id = _make_due(path) if job == "sync_due" else None
    # The app starts export_run with the job it queued; the others run with their parameters' defaults.
    given = {p["name"]: p["default"] for p in BUNDLE["resources"]["jobs"][job].get("parameters", [])}
    export_job = given["export_job"] = _queue_export(path) if job == "export_run" else None
    script = task["spark_python_task"]["python_file"]
    parameters = [_defaults(str(p), given) for p in task["spark_python_task"]["parameters"]]
    cut = parameters.index("--")
    settings = parameters[:cut] + ["SEGMENT_STUDIO_ENGINE=duckdb", f"SEGMENT_STUDIO_WAREHOUSE={path}",
                                   f"SEGMENT_STUDIO_EXPORT_DIR={tmp_path / 'exports'}"]
    done = subprocess.run([sys.executable, str(ROOT / script), *settings, *parameters[cut:]], cwd=tmp_path,
                          env=environment(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    if export_job:
        warehouse = DuckDBWarehouse(path, read_only=True)
        try:
            job_row = jobs.get(warehouse, export_job)
        finally:
            warehouse.close()
        assert (job_row.status, job_row.created_by, job_row.role) == ("succeeded", "ana@example.com", "marketer")
        assert job_row.rows_exported > 0 and Path(job_row.output_path).is_file()
    if schedule_id:
        warehouse = DuckDBWarehouse(path, read_only=True)
        try:
            schedule = schedules.get(warehouse, schedule_id)
            job_row = jobs.get(warehouse, schedule.last_job_id)
        finally:
            warehouse.close()
        assert (job_row.status, job_row.created_by, job_row.mode) == ("succeeded", "ana@example.com", "diff")
        assert job_row.rows_exported > 0 and Path(job_row.output_path).is_file()
        assert f"{schedule_id}" in done.stdout and "succeeded" in done.stdout
