"""The command line, end to end, as a user runs it (a real subprocess, a real file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=env)


def test_build_then_status_then_rebuild(tmp_path):
    path = tmp_path / "wh.duckdb"
    first = cli("build", "--customers", "1200", "--seed", "3", "--warehouse", str(path))
    assert first.returncode == 0, first.stderr
    assert "demo data generated: yes" in first.stdout
    assert "as-of date: 2026-10-31" in first.stdout
    assert "reconciled" in first.stdout
    assert "generating" in first.stderr          # progress lines go to stderr
    status = cli("status", "--warehouse", str(path))
    assert status.returncode == 0, status.stderr
    assert "reconciled: True" in status.stdout
    for source in ("ingest", "ops", "gov", "cost", "txn"):
        assert f"  {source} " in status.stdout
    assert "in 20 tables" in status.stdout
    again = cli("build", "--warehouse", str(path), "--quiet")
    assert again.returncode == 0, again.stderr
    assert "demo data generated: no" in again.stdout
    assert again.stderr == ""


def test_import_into_an_empty_warehouse_reports_loaded_and_rejected(tmp_path):
    data = tmp_path / "tx.csv"
    data.write_text("who;when;paid\nx;2025-03-01;12.00\ny;2025-03-02;oops\nx;2025-03-04;3.00\n")
    path = tmp_path / "imported.duckdb"
    run = cli("import-transactions", str(data), "--customer-col", "who", "--date-col", "when",
              "--amount-col", "paid", "--sep", ";", "--warehouse", str(path), "--quiet")
    assert run.returncode == 0, run.stderr
    assert "loaded: 2  rejected: 1" in run.stdout
    assert "rejected 1 x cannot parse amount" in run.stdout
    assert "rebuilt gold: 1 customers, as-of 2025-03-04" in run.stdout


def test_errors_are_one_clear_line_and_exit_code_2(tmp_path):
    run = cli("import-transactions", str(tmp_path / "missing.csv"), "--customer-col", "a", "--date-col", "b",
              "--amount-col", "c", "--warehouse", str(tmp_path / "w.duckdb"))
    assert run.returncode == 2
    assert run.stderr.startswith("error: no such file")
    assert "Traceback" not in run.stderr


def test_warehouse_path_from_the_environment(tmp_path):
    import os

    data = tmp_path / "t.csv"
    data.write_text("c,d,a\nk,2025-01-01,1.00\n")
    env = {**os.environ, "SEGMENT_STUDIO_WAREHOUSE": str(tmp_path / "env.duckdb")}
    run = cli("import-transactions", str(data), "--customer-col", "c", "--date-col", "d", "--amount-col", "a",
              "--quiet", env=env)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "env.duckdb").exists()



def test_full_refresh_is_a_flag_or_a_job_parameters_true_or_false():
    from services.cli import parser

    build = lambda *a: parser().parse_args(["build", *a])  # noqa: E731
    assert build().full_refresh is False
    assert build("--full-refresh").full_refresh is True
    assert build("--full-refresh", "--quiet").full_refresh is True  # alone, before another flag
    assert build("--full-refresh", "true").full_refresh is True
    assert build("--full-refresh", "false", "--quiet").full_refresh is False
    refused = cli("build", "--full-refresh", "maybe")
    assert refused.returncode == 2 and "expected true or false, got 'maybe'" in refused.stderr
