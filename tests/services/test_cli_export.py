"""``cli export``: the same job code headless, a summary on stdout, non-zero exit on failure."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services import cli as cli_module, naming
from services.exports.destinations import DESTINATIONS, options_in_use
from services.exports.preflight import compile_saved
from services.warehouse.duckdb_engine import DuckDBWarehouse

ROOT = Path(__file__).resolve().parents[2]
VIP = "sample-vip-champions-early-access"


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


@pytest.fixture
def setup(demo_warehouse_path, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(demo_warehouse_path, warehouse)
    env = {"SEGMENT_STUDIO_ROLE": "marketer", "SEGMENT_STUDIO_USER": "scheduler@example.com",
           "SEGMENT_STUDIO_EXPORT_DIR": str(tmp_path / "out")}
    return warehouse, env, tmp_path


def test_export_writes_the_members_and_prints_the_summary(setup):
    warehouse, env, tmp_path = setup
    run = cli("export", VIP, "--destination", "csv", "--attributes", "rfm_segment", "--include-control",
              "--warehouse", str(warehouse), "--quiet", env=env)
    assert run.returncode == 0, run.stderr
    assert "succeeded" in run.stdout and "checksum sha256:" in run.stdout
    files = list((tmp_path / "out").glob("*.csv"))
    assert len(files) == 1
    with open(files[0], newline="") as handle:
        ids = {r["customer_id"] for r in csv.DictReader(handle)}
    wh = DuckDBWarehouse(warehouse)
    try:
        _, compiled = compile_saved(wh, VIP)
        assert ids == set(wh.arrow(compiled.members_query()).column(0).to_pylist())
    finally:
        wh.close()


def test_export_fails_with_a_non_zero_exit(setup):
    warehouse, env, _ = setup
    run = cli("export", VIP, "--destination", "webhook", "--url", "http://127.0.0.1:9/nothing-listens",
              "--retries", "0", "--timeout", "1", "--warehouse", str(warehouse), "--quiet", env=env)
    assert run.returncode == 1
    assert "failed" in run.stdout and "error:" in run.stderr


def test_viewer_may_not_export(setup):
    warehouse, env, _ = setup
    run = cli("export", VIP, "--destination", "csv", "--warehouse", str(warehouse), env={**env, "SEGMENT_STUDIO_ROLE": "viewer"})
    assert run.returncode == 2 and "may not export" in run.stderr


def test_the_destinations_and_their_options_are_the_registrys():
    parse = cli_module.parser().parse_args
    for name in DESTINATIONS:
        assert parse(["export", VIP, "--destination", name]).destination == name
    with pytest.raises(SystemExit):
        parse(["export", VIP, "--destination", "fax"])
    for option, users in options_in_use().items():
        assert getattr(parse(["export", VIP, "--destination", users[0]]), option.name) == option.default
        given = parse(["export", VIP, "--destination", users[0], option.cli_flag, "7"])
        assert getattr(given, option.name) == option.type("7")
    # The flags scheduled jobs and scripts already pass keep their names.
    assert {o.cli_flag for o in options_in_use()} == {"--folder", "--table", "--url", "--auth-header", "--batch-size",
                                                       "--retries", "--timeout"}


def test_a_secret_option_may_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SEGMENT_STUDIO_WEBHOOK_AUTH", "Authorization: Bearer from-env")
    args = cli_module.parser().parse_args(["export", VIP, "--destination", "webhook", "--url", "https://h.example.com"])
    values = cli_module._option_values(args)
    assert values["auth_header"] == "Authorization: Bearer from-env" and values["url"] == "https://h.example.com"
    assert values["table_name"] is None and values["batch_size"] == 500
    given = cli_module.parser().parse_args(["export", VIP, "--destination", "webhook", "--auth-header", "X-Key: k"])
    assert cli_module._option_values(given)["auth_header"] == "X-Key: k"


def test_run_export_runs_a_queued_job_as_its_owner_and_leaves_a_finished_one(setup):
    from services.exports import jobs
    from services.exports.base import ExportRequest

    warehouse, env, tmp_path = setup
    wh = DuckDBWarehouse(warehouse)
    try:
        # Queued by the Exports page for a manager: the command runs it as them, whoever runs the command.
        job_id = jobs.create_job(wh, ExportRequest(segment_id=VIP, version=1, destination="csv"),
                                 user="mia@example.com", role="manager").job_id
    finally:
        wh.close()
    run = cli("run-export", job_id, "--warehouse", str(warehouse), "--quiet", env={**env, "SEGMENT_STUDIO_ROLE": "viewer"})
    assert run.returncode == 0, run.stderr
    assert f"job {job_id}: succeeded" in run.stdout
    wh = DuckDBWarehouse(warehouse, read_only=True)
    try:
        job = jobs.get(wh, job_id)
        assert (job.status, job.created_by, job.role) == ("succeeded", "mia@example.com", "manager")
        assert Path(job.output_path).parent == tmp_path / "out"
        runs = wh.scalar(f"SELECT COUNT(*) FROM {naming.fq('app', 'app_audit_log')} WHERE object_id = '{job_id}'")
    finally:
        wh.close()
    assert runs == 1  # its export.run; nothing marked it interrupted on the way
    again = cli("run-export", job_id, "--warehouse", str(warehouse), "--quiet", env=env)
    assert again.returncode == 0 and f"job {job_id}: succeeded" in again.stdout
    assert len(list((tmp_path / "out").glob("*.csv"))) == 1
