"""The Exports page and Home with exports and rebuilds running as Databricks Job runs: the runner the
pages use is the Jobs runner over a fake Jobs API (tests/services/fake_jobs.py) whose runs execute
the bundle's commands here, against the page's own warehouse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from databricks.sdk.service.jobs import TerminationCodeCode

import components.runs
from components.text import plain
from services import naming
from services.runs import DatabricksJobsRunner
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.services.fake_jobs import JOB_IDS, FakeJobs

VIP = "sample-vip-champions-early-access"
#: how the pages write the user (components/text.plain: markdown characters escaped)
ROOT_USER = plain("root@example.com")


@pytest.fixture
def fake_jobs(app, tmp_path, monkeypatch):
    """The Jobs API the pages' runner starts runs with (the app fixture has set the warehouse)."""
    monkeypatch.setenv("SEGMENT_STUDIO_EXPORT_DIR", str(tmp_path / "exports"))
    fake = FakeJobs(Path(os.environ["SEGMENT_STUDIO_WAREHOUSE"]), tmp_path / "exports")
    runner = DatabricksJobsRunner(fake, JOB_IDS["export_run"], JOB_IDS["gold_build"], check_every_s=0)
    monkeypatch.setattr(components.runs, "runner", lambda settings: runner)
    return fake


def history_status(at, job_id: str) -> str:
    table = at.dataframe[-1].value
    return table.set_index("job").loc[job_id, "status"]


def test_an_export_runs_as_a_job_run_and_the_page_follows_its_row_to_success(app, fake_jobs):
    at = app(page="pages/exports.py", role="marketer", user="maria@example.com", query={"segment": VIP})
    at.button(key="exports_run").click().run()
    assert not at.exception, at.exception
    job_id = at.session_state["exports_job"]
    assert fake_jobs.calls == [(JOB_IDS["export_run"], {"export_job": job_id}, job_id)]
    assert history_status(at, job_id) == "queued"
    assert not at.success  # nothing ran in the app's process

    [run_id] = fake_jobs.runs
    assert fake_jobs.execute(run_id) == 0  # the job's process: run-export JOB_ID
    at.run()
    assert not at.exception, at.exception
    assert any(s.value.startswith(f"Export {job_id} succeeded:") for s in at.success)
    assert history_status(at, job_id) == "succeeded"
    assert list((fake_jobs.export_dir).glob(f"{VIP}-v1-csv-full-{job_id}.csv"))


def test_a_run_that_ended_badly_shows_the_job_failed_with_the_runs_message(app, fake_jobs):
    at = app(page="pages/exports.py", role="marketer", user="maria@example.com", query={"segment": VIP})
    at.button(key="exports_run").click().run()
    job_id = at.session_state["exports_job"]
    [run_id] = fake_jobs.runs
    fake_jobs.terminate(run_id, TerminationCodeCode.CANCELED, "Run timed out after 7200 seconds")
    at.run()
    assert not at.exception, at.exception
    # As the page shows any message (components/text.plain: no markdown in it).
    assert [e.value for e in at.error] == [f"Export {job_id} failed: " + plain(
        f"the Databricks run {run_id} was cancelled (CANCELED): Run timed out after 7200 seconds")]
    at.run()  # the history, read beside the pre-flight check, says so from the next run on
    assert history_status(at, job_id) == "failed"


def test_home_starts_a_rebuild_run_follows_it_refuses_a_second_and_says_when_it_succeeded(app, fake_jobs):
    at = app(role="admin", user="root@example.com")
    at.button(key="home_rebuild").click().run()
    at.button(key="home_rebuild_confirm").click().run()
    assert not at.exception, at.exception
    [run_id] = fake_jobs.runs
    assert fake_jobs.calls == [(JOB_IDS["gold_build"], {"full_refresh": "true"},
                                f"rebuild-{JOB_IDS['gold_build']}-after-0")]
    running = [i.value for i in at.info if "Databricks run" in i.value]
    assert running and running[0].startswith(f"The rebuild started by {ROOT_USER} at ")
    assert f"(Databricks run {run_id}) is queued" in running[0] and f"/runs/{run_id})" in running[0]
    assert not any(s.value.startswith("Rebuilt in") for s in at.success)  # not in the page's own run

    fake_jobs.start(run_id)
    at.button(key="home_rebuild").click().run()
    at.button(key="home_rebuild_confirm").click().run()
    assert not at.exception, at.exception
    assert any(e.value.startswith("The rebuild was not started: " + plain(
        f"a rebuild is already running (run {run_id}, started by root@example.com")) for e in at.error)
    assert len(fake_jobs.calls) == 1
    assert any(f"(Databricks run {run_id}) is running" in i.value for i in at.info)

    warehouse = DuckDBWarehouse(fake_jobs.warehouse)
    builds = warehouse.scalar(f"SELECT COUNT(*) FROM {naming.fq('app', 'app_build_runs')}")
    assert fake_jobs.execute(run_id) == 0  # the build job's process: build --full-refresh true
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {naming.fq('app', 'app_build_runs')}") == builds + 1
    warehouse.close()
    at.run()
    assert not at.exception, at.exception
    assert any(s.value.startswith(f"The rebuild started by {ROOT_USER}") and "succeeded: every page now "
               "shows the rebuilt figures" in s.value for s in at.success)
