"""Exports and rebuilds as runs of the bundle's Databricks Jobs (services/runs.py), through a Jobs API
that runs the bundle's commands here against a copy of the demo warehouse (tests/services/fake_jobs.py)."""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import pytest
from databricks.sdk.errors import PermissionDenied
from databricks.sdk.service.jobs import (
    Run,
    RunLifeCycleState,
    RunResultState,
    RunState,
    TerminationCodeCode,
    TerminationTypeType,
)
from sqlglot import exp

from services import naming, runs
from services.errors import ConfigError, ExportError, JobRunError, SpecError
from services.exports import jobs
from services.exports.base import ExportRequest
from services.exports.preflight import compile_saved
from services.runs import DatabricksJobsRunner, ThreadRunner
from services.settings import Settings
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.services.exports.conftest import audit_rows
from tests.services.fake_jobs import JOB_IDS, FakeJobs

VIP = "sample-vip-champions-early-access"


@pytest.fixture
def setting(demo_warehouse_path, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    warehouse = DuckDBWarehouse(path)
    fake = FakeJobs(path, tmp_path / "exports")
    runner = DatabricksJobsRunner(fake, JOB_IDS["export_run"], JOB_IDS["gold_build"], check_every_s=0)
    yield warehouse, fake, runner
    warehouse.close()


def csv_request(**changes) -> ExportRequest:
    return ExportRequest(segment_id=VIP, version=1, destination="csv", **changes)


def start(warehouse, runner, request=None) -> str:
    return runs.start_export(warehouse, request or csv_request(), runner=runner, user="ana@example.com",
                             role="marketer")


def recorded_runs(warehouse) -> list[dict]:
    return warehouse.arrow(exp.select("*").from_(runs.RUNS)).to_pylist()


# -- exports ----------------------------------------------------------------------------------
def test_an_export_runs_as_a_run_of_the_export_job_and_its_row_goes_queued_to_succeeded(setting):
    warehouse, fake, runner = setting
    job_id = start(warehouse, runner, csv_request(include_control=True))
    # One run of the export job, given the job's id, under the job's id as its token.
    assert fake.calls == [(JOB_IDS["export_run"], {"export_job": job_id}, job_id)]
    [run] = fake.runs.values()
    [record] = recorded_runs(warehouse)
    assert (record["run_id"], record["kind"], record["subject"], record["databricks_job_id"], record["started_by"],
            record["role"]) == (run.run_id, "export", job_id, JOB_IDS["export_run"], "ana@example.com", "marketer")
    assert record["run_page_url"].endswith(f"/runs/{run.run_id}")
    assert runner.export_job(warehouse, job_id).status == "queued"  # the run has not started

    assert fake.execute(run.run_id) == 0  # what the bundle's export_run task runs: run-export JOB_ID
    done = runner.export_job(warehouse, job_id)
    assert (done.status, done.created_by, done.role) == ("succeeded", "ana@example.com", "marketer")
    with open(done.output_path, newline="") as handle:
        exported = {row["customer_id"] for row in csv.DictReader(handle)}
    _, compiled = compile_saved(warehouse, VIP, 1)
    assert exported == set(warehouse.arrow(compiled.members_query()).column(0).to_pylist())
    assert Path(done.output_path).parent == fake.export_dir
    assert len(audit_rows(warehouse, "export.run", job_id)) == 1


def test_starting_the_same_job_twice_starts_one_run(setting):
    warehouse, fake, runner = setting
    queued = jobs.create_job(warehouse, csv_request(), user="ana@example.com", role="marketer")
    runner.start_export(warehouse, queued, user="ana@example.com", role="marketer")
    runner.start_export(warehouse, queued, user="ana@example.com", role="marketer")
    assert [call[2] for call in fake.calls] == [queued.job_id, queued.job_id]
    assert len(fake.runs) == 1 and len(recorded_runs(warehouse)) == 1


def test_a_run_that_failed_without_touching_the_row_fails_the_job_with_its_message(setting):
    warehouse, fake, runner = setting
    job_id = start(warehouse, runner)
    [run_id] = fake.runs
    fake.terminate(run_id, TerminationCodeCode.LIBRARY_INSTALLATION_ERROR,
                   "Library installation failed for library due to user error: numba")
    job = runner.export_job(warehouse, job_id)
    assert job.status == "failed" and job.finished_ts is not None
    assert job.message == (f"the Databricks run {run_id} failed (LIBRARY_INSTALLATION_ERROR): Library installation "
                           "failed for library due to user error: numba")
    [audit] = audit_rows(warehouse, "export.failed", job_id)
    assert (audit["actor"], audit["role"]) == ("ana@example.com", "marketer")
    assert "LIBRARY_INSTALLATION_ERROR" in audit["details"]
    # Seen once: the next look finds the job finished and asks the Jobs API nothing.
    assert runner.export_job(warehouse, job_id).status == "failed"
    assert len(audit_rows(warehouse, "export.failed", job_id)) == 1


def test_a_cancelled_run_fails_the_job_it_left_running(setting):
    warehouse, fake, runner = setting
    job_id = start(warehouse, runner)
    [run_id] = fake.runs
    fake.start(run_id)
    warehouse.execute(exp.update(jobs.JOBS, {"status": exp.Literal.string("running")},
                                 where=exp.column("job_id").eq(exp.Literal.string(job_id))))
    assert runner.export_job(warehouse, job_id).status == "running"  # running, and so is its run
    fake.terminate(run_id, TerminationCodeCode.USER_CANCELED, "Run cancelled by ana@example.com")
    job = runner.export_job(warehouse, job_id)
    assert job.status == "failed"
    assert job.message == f"the Databricks run {run_id} was cancelled (USER_CANCELED): Run cancelled by ana@example.com"


def test_a_run_the_command_failed_in_leaves_the_jobs_own_reason(setting, monkeypatch):
    warehouse, fake, runner = setting
    # A webhook nobody listens to: the job itself records why it failed; the run's end changes nothing.
    request = ExportRequest(segment_id=VIP, version=1, destination="webhook", url="http://127.0.0.1:9/hook",
                            max_retries=0, timeout_s=1.0)
    job_id = start(warehouse, runner, request)
    [run_id] = fake.runs
    # The header as the secret would give it (the CLI reads the process environment first).
    monkeypatch.setenv("SEGMENT_STUDIO_WEBHOOK_AUTH", "Authorization: Bearer from-the-secret")
    assert fake.execute(run_id) == 1
    job = runner.export_job(warehouse, job_id)
    assert job.status == "failed" and job.message.startswith("the webhook failed 1 times in a row (last: connection failed")
    assert len(audit_rows(warehouse, "export.failed", job_id)) == 1


def test_a_webhook_auth_secret_the_job_cannot_read_fails_the_job_saying_so(setting, monkeypatch):
    warehouse, fake, runner = setting
    request = ExportRequest(segment_id=VIP, version=1, destination="webhook", url="https://hooks.example.com/in")
    job_id = start(warehouse, runner, request)
    [run_id] = fake.runs
    # Here, as in a job whose identity has no READ on the scope, the secret cannot be read.
    monkeypatch.delenv("SEGMENT_STUDIO_WEBHOOK_AUTH", raising=False)
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    assert fake.execute(run_id) == 1
    job = runner.export_job(warehouse, job_id)
    assert job.status == "failed"
    assert job.message.startswith("could not read the Databricks secret segment-studio/webhook-auth (the webhook "
                                  "auth header)")
    assert len(audit_rows(warehouse, "export.failed", job_id)) == 1


def test_the_jobs_api_is_asked_about_a_run_at_most_so_often(setting):
    warehouse, fake, _ = setting
    runner = DatabricksJobsRunner(fake, JOB_IDS["export_run"], JOB_IDS["gold_build"], check_every_s=3600)
    job_id = start(warehouse, runner)
    [run_id] = fake.runs
    fake.terminate(run_id, TerminationCodeCode.CANCELED, "Run timed out")
    assert runner.export_job(warehouse, job_id).status == "failed"  # the first look asks
    job_id = start(warehouse, runner)
    [later] = [r for r in fake.runs if r != run_id]
    assert runner.export_job(warehouse, job_id).status == "queued"
    fake.terminate(later, TerminationCodeCode.CANCELED, "Run timed out")
    assert runner.export_job(warehouse, job_id).status == "queued"  # asked a moment ago: not again yet


def test_a_url_with_a_token_is_refused_before_anything_is_queued(setting):
    warehouse, fake, runner = setting
    request = ExportRequest(segment_id=VIP, version=1, destination="webhook",
                            url="https://hooks.example.com/in?token=s3cr3t-t0ken-value")
    with pytest.raises(SpecError, match="a webhook export run as a Databricks Job's URL may not carry a token"):
        start(warehouse, runner, request)
    typed = ExportRequest(segment_id=VIP, version=1, destination="webhook", url="https://hooks.example.com/in",
                          auth_header="Authorization: Bearer typed")
    with pytest.raises(SpecError, match="auth header typed here cannot be handed to a Databricks Job"):
        start(warehouse, runner, typed)
    assert jobs.history(warehouse).empty and fake.calls == []


def test_a_refused_start_fails_the_job_and_says_why(setting):
    warehouse, fake, runner = setting
    fake.refuse = PermissionDenied("User does not have CAN_MANAGE_RUN on job 101")
    with pytest.raises(ExportError, match="did not start: User does not have CAN_MANAGE_RUN on job 101"):
        start(warehouse, runner)
    [job] = jobs.history(warehouse).to_dict("records")
    assert job["status"] == "failed" and "CAN_MANAGE_RUN" in job["message"]
    assert len(audit_rows(warehouse, "export.failed", job["job_id"])) == 1
    assert recorded_runs(warehouse) == []


def test_the_thread_runner_runs_the_export_here(setting, tmp_path):
    warehouse, _, _ = setting
    runner = ThreadRunner(output_dir=tmp_path / "local")
    job_id = start(warehouse, runner)
    for thread in __import__("threading").enumerate():
        if thread.name == f"export-{job_id}":
            thread.join(120)
    job = runner.export_job(warehouse, job_id)
    assert job.status == "succeeded" and Path(job.output_path).parent == tmp_path / "local"
    assert recorded_runs(warehouse) == []


# -- rebuilds ---------------------------------------------------------------------------------
def test_a_rebuild_runs_as_the_build_job_with_a_full_refresh_and_a_second_is_refused_while_it_runs(setting):
    warehouse, fake, runner = setting
    assert runner.rebuild_status(warehouse) is None
    started = runner.start_rebuild(warehouse, user="root@example.com", role="admin")
    assert fake.calls == [(JOB_IDS["gold_build"], {"full_refresh": "true"}, f"rebuild-{JOB_IDS['gold_build']}-after-0")]
    assert (started.run.kind, started.run.subject, started.run.started_by) == ("rebuild", "warehouse", "root@example.com")
    assert not started.state.finished and started.state.state == "QUEUED"
    fake.start(started.run.run_id)
    with pytest.raises(JobRunError, match=f"a rebuild is already running \\(run {started.run.run_id}, started by "
                                          "root@example.com"):
        runner.start_rebuild(warehouse, user="other@example.com", role="admin")
    assert len(fake.calls) == 1

    before = warehouse.scalar(f"SELECT COUNT(*) FROM {naming.fq('app', 'app_build_runs')}")
    assert fake.execute(started.run.run_id) == 0  # build --full-refresh true, for real
    status = runner.rebuild_status(warehouse)
    assert status.state.finished and status.state.succeeded and status.state.outcome() == "succeeded"
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {naming.fq('app', 'app_build_runs')}") == before + 1
    # Finished: the next click starts a new run (a new token: it follows the last one).
    again = runner.start_rebuild(warehouse, user="root@example.com", role="admin")
    assert again.run.run_id != started.run.run_id
    assert fake.calls[-1][2] == f"rebuild-{JOB_IDS['gold_build']}-after-{started.run.run_id}"


def test_only_a_role_that_may_rebuild_starts_one(setting):
    warehouse, fake, runner = setting
    with pytest.raises(Exception, match="rebuild"):
        runner.start_rebuild(warehouse, user="m@example.com", role="marketer")
    assert fake.calls == []


def test_a_skipped_rebuild_says_another_run_was_going(setting):
    warehouse, fake, runner = setting
    started = runner.start_rebuild(warehouse, user="root@example.com", role="admin")
    fake.terminate(started.run.run_id, TerminationCodeCode.MAX_CONCURRENT_RUNS_EXCEEDED, "Run skipped")
    assert runner.rebuild_status(warehouse).state.outcome() == (
        "was skipped: another run of the job was going (MAX_CONCURRENT_RUNS_EXCEEDED): Run skipped")


def test_a_rebuild_is_refused_while_the_scheduled_build_runs(setting):
    """The build job's own schedule starts runs the app did not record: the Jobs API's active runs say so."""
    warehouse, fake, runner = setting
    scheduled = fake.run_now(job_id=JOB_IDS["gold_build"]).run_id  # the 05:00 run, started by its schedule
    fake.start(scheduled)
    fake.calls.clear()
    with pytest.raises(JobRunError, match=f"the build job is already running \\(run {scheduled}"):
        runner.start_rebuild(warehouse, user="root@example.com", role="admin")
    assert fake.calls == []
    fake.terminate(scheduled, TerminationCodeCode.SUCCESS, "", TerminationTypeType.SUCCESS)
    assert runner.start_rebuild(warehouse, user="root@example.com", role="admin").run.run_id != scheduled


def test_a_run_without_status_is_read_from_its_legacy_state():
    class Legacy:
        def get_run(self, run_id):
            return Run(run_id=run_id, run_page_url="u", state=RunState(
                life_cycle_state=RunLifeCycleState.INTERNAL_ERROR, result_state=RunResultState.FAILED,
                state_message="Cluster lost"))

    state = runs.run_state(Legacy(), 5)
    assert (state.finished, state.succeeded, state.code, state.message) == (True, False, "FAILED", "Cluster lost")


# -- which runner ---------------------------------------------------------------------------------
@pytest.mark.parametrize("env, expected", [
    ({}, False),
    ({"SEGMENT_STUDIO_ENGINE": "databricks", "DATABRICKS_APP_NAME": "s"}, False),  # no job bound
    ({"SEGMENT_STUDIO_EXPORT_JOB_ID": "1", "SEGMENT_STUDIO_BUILD_JOB_ID": "2", "DATABRICKS_APP_NAME": "s"}, False),
    ({"SEGMENT_STUDIO_ENGINE": "databricks", "SEGMENT_STUDIO_EXPORT_JOB_ID": "1", "SEGMENT_STUDIO_BUILD_JOB_ID": "2"},
     False),  # a command line or a job: not the app
    ({"SEGMENT_STUDIO_ENGINE": "databricks", "DATABRICKS_APP_NAME": "s", "SEGMENT_STUDIO_EXPORT_JOB_ID": "1",
      "SEGMENT_STUDIO_BUILD_JOB_ID": "2"}, True),
])
def test_jobs_run_work_only_in_a_databricks_app_on_databricks_with_the_jobs_bound(env, expected):
    assert runs.uses_jobs(Settings.from_env(env)) is expected


@pytest.mark.parametrize("env, message", [
    ({"SEGMENT_STUDIO_EXPORT_JOB_ID": "abc", "SEGMENT_STUDIO_BUILD_JOB_ID": "2"},
     "SEGMENT_STUDIO_EXPORT_JOB_ID must be a Databricks job id"),
    ({"SEGMENT_STUDIO_EXPORT_JOB_ID": "1", "SEGMENT_STUDIO_BUILD_JOB_ID": "-2"},
     "SEGMENT_STUDIO_BUILD_JOB_ID must be a Databricks job id"),
    ({"SEGMENT_STUDIO_EXPORT_JOB_ID": "1"}, "go together"),
])
def test_job_ids_are_whole_numbers_and_come_in_pairs(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_on_behalf_of_the_user_exports_run_here_and_rebuilds_as_jobs(setting, tmp_path):
    """A job runs as the service principal, whom the user's row filters do not limit: on behalf of the
    user, an export stays in the app (reading as the user); a rebuild is the app's work and still a job."""
    warehouse, fake, _ = setting
    here = ThreadRunner(output_dir=tmp_path / "here")
    runner = DatabricksJobsRunner(fake, JOB_IDS["export_run"], JOB_IDS["gold_build"], check_every_s=0,
                                  exports_here=here)
    assert (runner.remote, runner.exports_remote) == (True, False)
    # A typed auth header is fine here: the thread holds it; a job could not have it.
    runner.admit(csv_request(auth_header="X-Key: 1"))
    job_id = start(warehouse, runner)
    for _ in range(600):
        done = runner.export_job(warehouse, job_id)
        if done.finished:
            break
        time.sleep(0.05)
    assert done.status == "succeeded" and Path(done.output_path).parent == tmp_path / "here"
    assert fake.calls == [] and recorded_runs(warehouse) == []
    runner.start_rebuild(warehouse, user="root@example.com", role="admin")
    assert [call[0] for call in fake.calls] == [JOB_IDS["gold_build"]]
