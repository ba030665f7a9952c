"""Finding 6: a process killed half-way leaves the old state or the new one, never a mix.

Each test runs the real command line in a subprocess, stops it at a named
step (services/checkpoints.py), kills it with SIGKILL, recovers as a user
would (run the command again, or the next command), and compares the
warehouse with a clean run's, table by table. On a tiny warehouse (150
customers) so each kill costs seconds.

Before the fix: a kill during an import left landed lines with no batch or
audit row (a re-import doubled them); a kill while the demo data loaded left a
warehouse that could never be rebuilt; ``status`` said succeeded before the
quality checks ran; after a kill in the silver phase, reconciliation compared 0
with 0; a killed export stayed "running" with its ``.partial`` file forever.
"""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pandas as pd
import pytest

from services import naming
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.processes import cli, cli_killed_at, environment, snapshot

CUSTOMERS, SEED = "150", "5"
#: columns that differ between two clean runs of the same command: ids, clocks, durations, messages
VOLATILE = frozenset({"audit_id", "event_ts", "run_id", "started_ts", "finished_ts", "message", "computed_ts",
                      "processed_ts", "created_ts", "updated_ts", "registered_ts", "dq_id", "checked_ts", "recon_id",
                      "duration_ms", "logged_ts", "landed_ts", "details", "observed_value", "batch_id", "error_id",
                      "build_id", "built_ts", "failing_checks_json"})
IMPORT = ["--customer-col", "customer", "--date-col", "date", "--amount-col", "amount", "--quiet"]


def build(path: Path) -> None:
    done = cli("build", "--customers", CUSTOMERS, "--seed", SEED, "--warehouse", path, "--quiet")
    assert done.returncode == 0, done.stderr


def assert_same(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame], *, tables=None) -> None:
    assert got.keys() == want.keys()
    for table in tables or want:
        pd.testing.assert_frame_equal(got[table], want[table], obj=table)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A tiny built warehouse and a file of new transactions for it."""
    folder = tmp_path_factory.mktemp("kill")
    path = folder / "base.duckdb"
    build(path)
    warehouse = DuckDBWarehouse(path, read_only=True)
    customers = warehouse.arrow(f"SELECT customer_id FROM {naming.fq('gold', 'gold_customer_features')} "
                                "ORDER BY customer_id LIMIT 40").column(0).to_pylist()
    warehouse.close()
    lines = [f"{c},2026-10-{1 + i % 28:02d},{10 + i}.50" for i, c in enumerate(customers)]
    (folder / "new.csv").write_text("customer,date,amount\n" + "\n".join(lines) + "\nnobody,2099-01-01,1\n")
    return path


@pytest.fixture(scope="module")
def clean_import(base, tmp_path_factory) -> dict[str, pd.DataFrame]:
    path = tmp_path_factory.mktemp("clean") / "w.duckdb"
    shutil.copy(base, path)
    done = cli("import-transactions", base.parent / "new.csv", "--warehouse", path, *IMPORT)
    assert done.returncode == 0, done.stderr
    return snapshot(path, skip_columns=VOLATILE)


def copy_of(base: Path, tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    shutil.copy(base, path)
    return path


@pytest.mark.parametrize("step", ["import.parsed", "import.landing"])
def test_an_import_killed_before_it_lands_leaves_the_old_state_and_imports_cleanly_again(
        base, clean_import, tmp_path, step):
    path = copy_of(base, tmp_path)
    cli_killed_at(step, "import-transactions", base.parent / "new.csv", "--warehouse", path, *IMPORT)
    assert_same(snapshot(path, skip_columns=VOLATILE), snapshot(base, skip_columns=VOLATILE))
    again = cli("import-transactions", base.parent / "new.csv", "--warehouse", path, *IMPORT)
    assert again.returncode == 0, again.stderr
    assert_same(snapshot(path, skip_columns=VOLATILE), clean_import)


def test_an_import_killed_after_it_landed_is_whole_and_the_next_build_finishes_it(base, clean_import, tmp_path):
    path = copy_of(base, tmp_path)
    cli_killed_at("import.landed", "import-transactions", base.parent / "new.csv", "--warehouse", path, *IMPORT)
    landing = [naming.fq("ingest", t) for t in ("stg_raw", "ref_parsing_errors", "audit_ingest")] + \
              [naming.fq("txn", "stg_transactions")]
    assert_same(snapshot(path, skip_columns=VOLATILE), clean_import, tables=landing)
    again = cli("build", "--warehouse", path, "--quiet")
    assert again.returncode == 0, again.stderr
    got = snapshot(path, skip_columns=VOLATILE)
    derived = [t for t in clean_import if t.startswith((naming.schema("txn"), naming.schema("gold")))]
    assert_same(got, clean_import, tables=derived)


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory) -> dict[str, pd.DataFrame]:
    path = tmp_path_factory.mktemp("clean-build") / "w.duckdb"
    build(path)
    return snapshot(path, skip_columns=VOLATILE)


@pytest.mark.parametrize("step", ["demo.loading", "build.silver", "build.finished"])
def test_a_first_build_killed_anywhere_leaves_no_warehouse_and_the_next_build_equals_a_clean_one(
        clean_build, tmp_path, step):
    path = tmp_path / "w.duckdb"
    cli_killed_at(step, "build", "--customers", CUSTOMERS, "--seed", SEED, "--warehouse", path)
    assert not path.exists()                              # built aside, never moved into place
    status = cli("status", "--warehouse", path)
    assert "(succeeded)" not in status.stdout
    build(path)
    assert_same(snapshot(path, skip_columns=VOLATILE), clean_build)
    assert not list(tmp_path.glob("*.building*"))


def test_status_says_succeeded_only_after_every_step(base, tmp_path):
    path = copy_of(base, tmp_path)
    cli_killed_at("build.checks", "build", "--full-refresh", "--warehouse", path)
    status = cli("status", "--warehouse", path)
    assert status.returncode == 0 and "(succeeded)" not in status.stdout, status.stdout


def test_after_a_kill_in_the_silver_phase_reconciliation_compares_the_real_batches(base, clean_import, tmp_path):
    path = copy_of(base, tmp_path)
    cli_killed_at("build.silver", "import-transactions", base.parent / "new.csv", "--warehouse", path, *IMPORT)
    again = cli("build", "--warehouse", path, "--quiet")
    assert again.returncode == 0, again.stderr
    recon = naming.fq("txn", "audit_recon")
    warehouse = DuckDBWarehouse(path, read_only=True)
    last = warehouse.arrow(f"SELECT source_rows, target_rows, status FROM {recon} ORDER BY checked_ts DESC LIMIT 1").to_pylist()
    warehouse.close()
    assert last == [{"source_rows": 40, "target_rows": 40, "status": "matched"}]   # the 40 imported transactions
    derived = [t for t in clean_import if t.startswith((naming.schema("txn"), naming.schema("gold")))]
    assert_same(snapshot(path, skip_columns=VOLATILE), clean_import, tables=derived)


def job_rows(path: Path) -> list[dict]:
    warehouse = DuckDBWarehouse(path, read_only=True)
    try:
        return warehouse.arrow(f"SELECT job_id, status, message FROM {naming.fq('app', 'app_export_jobs')}").to_pylist()
    finally:
        warehouse.close()


@pytest.mark.parametrize("next_start", ["cli", "app"])
def test_an_export_killed_mid_write_is_failed_at_the_next_start_with_its_partial_file_removed(
        base, tmp_path, next_start, monkeypatch):
    path = copy_of(base, tmp_path)
    out = tmp_path / "exports"
    env = environment(SEGMENT_STUDIO_ROLE="marketer", SEGMENT_STUDIO_EXPORT_DIR=str(out))
    cli_killed_at("export.file_written", "export", "sample-vip-champions-early-access", "--destination", "csv",
                  "--warehouse", path, env=env)
    [job] = job_rows(path)
    assert job["status"] == "running" and len(list(out.glob("*.partial"))) == 1
    if next_start == "cli":
        assert cli("status", "--warehouse", path, env=env).returncode == 0
    else:
        from streamlit.testing.v1 import AppTest

        for name, value in env.items():
            if name.startswith("SEGMENT_STUDIO_"):
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("SEGMENT_STUDIO_WAREHOUSE", str(path))
        at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=120)
        at.run()
        assert not at.exception
        from components.warehouse import get_warehouse

        get_warehouse(str(path)).close()  # the app's process lets go of the file, as a stopped app would
        get_warehouse.clear()
        gc.collect()
    [job] = job_rows(path)
    assert job["status"] == "failed" and "interrupted" in job["message"]
    assert list(out.glob("*.partial")) == []
    again = cli("rerun", job["job_id"], "--warehouse", path, "--quiet", env=env)
    assert again.returncode == 0, again.stderr
    assert [j["status"] for j in job_rows(path)] == ["succeeded"] and len(list(out.glob("*.csv"))) == 1


def test_the_apps_first_start_builds_aside_too(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    path = tmp_path / "w.duckdb"
    for name, value in {"SEGMENT_STUDIO_WAREHOUSE": str(path), "SEGMENT_STUDIO_CUSTOMERS": CUSTOMERS,
                        "SEGMENT_STUDIO_SEED": SEED, "SEGMENT_STUDIO_ROLE": "marketer"}.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert path.exists() and not list(tmp_path.glob("*.building*"))
    assert any("building the demo retail warehouse" in i.value for i in at.info)
    from components.warehouse import get_warehouse

    get_warehouse.clear()
    gc.collect()  # the DuckDB connection closes with its last reference
