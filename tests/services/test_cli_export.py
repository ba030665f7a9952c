"""``cli export``: the same job code headless, a summary on stdout, non-zero exit on failure."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
