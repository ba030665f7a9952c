"""Scheduled syncs: periods, idempotent runs as ordinary jobs, owners' rights, no stored secrets."""

from __future__ import annotations

import json
import os
import shutil
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlglot import exp

from services import cli
from services.errors import PermissionDeniedError, SpecError
from services.exports import jobs, schedules
from services.exports.base import ExportRequest
from services.pipeline.models import create_all
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.services.warehouse.fake_connector import fake_databricks

from .conftest import VIP, audit_rows, members

MADE = datetime(2026, 12, 1, 9, 30)  # a Tuesday
OWNER = "ana@example.com"


def request(**kwargs) -> ExportRequest:
    return ExportRequest(**{"segment_id": VIP, "version": 1, "destination": "csv", "mode": "diff", **kwargs})


def made(warehouse, frequency="daily", *, at=MADE, monkeypatch=None, **kwargs) -> schedules.Schedule:
    if monkeypatch is not None:
        monkeypatch.setattr(schedules, "now", lambda: at)
    return schedules.create(warehouse, request(**kwargs), frequency=frequency, user=OWNER, role="marketer",
                            hour_utc=6, weekday=0)


def schedule(frequency: str, hour: int = 6, weekday: int = 0, created: datetime = MADE) -> schedules.Schedule:
    return schedules.Schedule("s", request(), frequency, hour, weekday, "active", OWNER, created)


@pytest.mark.parametrize("frequency, at, latest, following", [
    ("hourly", datetime(2026, 12, 1, 10, 59), datetime(2026, 12, 1, 10), datetime(2026, 12, 1, 11)),
    ("daily", datetime(2026, 12, 1, 5, 59), datetime(2026, 11, 30, 6), datetime(2026, 12, 1, 6)),
    ("daily", datetime(2026, 12, 1, 6, 0), datetime(2026, 12, 1, 6), datetime(2026, 12, 2, 6)),
    # 2026-12-01 is a Tuesday: the latest Monday 06:00 is 30 November, the next 7 December.
    ("weekly", datetime(2026, 12, 1, 12, 0), datetime(2026, 11, 30, 6), datetime(2026, 12, 7, 6)),
    ("weekly", datetime(2026, 11, 30, 5, 0), datetime(2026, 11, 23, 6), datetime(2026, 11, 30, 6)),
])
def test_periods(frequency, at, latest, following):
    s = schedule(frequency)
    assert s.latest_period(at) == latest
    assert s.next_run(at) == following


def test_a_schedule_is_first_due_at_the_first_period_after_it_was_made():
    s = schedule("daily")
    assert not s.is_due(datetime(2026, 12, 1, 23, 0))  # today's 06:00 was before it was made
    assert s.is_due(datetime(2026, 12, 2, 6, 0))


def test_create_stores_the_request_diff_and_latest_version_audited(fresh_warehouse, monkeypatch):
    s = made(fresh_warehouse, monkeypatch=monkeypatch)
    assert s.request.mode == "diff" and s.request.version == 0 and s.owner == OWNER and s.status == "active"
    assert [x.schedule_id for x in schedules.listed(fresh_warehouse, user=OWNER, role="marketer")] == [s.schedule_id]
    assert schedules.listed(fresh_warehouse, user="bo@example.com", role="marketer") == []
    assert [x.schedule_id for x in schedules.listed(fresh_warehouse, user="boss@example.com", role="manager")] == [s.schedule_id]
    assert len(audit_rows(fresh_warehouse, "export.schedule_create", s.schedule_id)) == 1


def test_who_may_export_may_schedule_and_no_one_else(fresh_warehouse):
    with pytest.raises(PermissionDeniedError):
        schedules.create(fresh_warehouse, request(), frequency="daily", user="v@example.com", role="viewer")
    with pytest.raises(PermissionDeniedError):
        schedules.create(fresh_warehouse, request(identifiers="clear"), frequency="daily", user=OWNER, role="marketer")
    with pytest.raises(SpecError, match="frequency"):
        schedules.create(fresh_warehouse, request(), frequency="monthly", user=OWNER, role="marketer")


def test_due_runs_are_ordinary_jobs_created_by_the_owner_once_per_period(fresh_warehouse, monkeypatch, tmp_path):
    s = made(fresh_warehouse, monkeypatch=monkeypatch)
    role_for = {OWNER: "marketer"}.get
    assert schedules.run_due(fresh_warehouse, role_for=role_for, output_dir=tmp_path, at=datetime(2026, 12, 1, 23)) == []

    at = datetime(2026, 12, 2, 6, 5)
    [run] = schedules.run_due(fresh_warehouse, role_for=role_for, output_dir=tmp_path, at=at)
    assert (run.status, run.period) == ("succeeded", datetime(2026, 12, 2, 6))
    job = jobs.get(fresh_warehouse, run.job_id)
    expected = {c for c, g in members(fresh_warehouse, VIP).items() if g != "control"}
    assert (job.created_by, job.mode, job.destination, job.status) == (OWNER, "diff", "csv", "succeeded")
    assert job.rows_added == len(expected) and job.segment_version == 1
    assert len(audit_rows(fresh_warehouse, "export.schedule_run", s.schedule_id)) == 1
    assert schedules.get(fresh_warehouse, s.schedule_id).last_job_id == run.job_id

    # The same period again (a second cron tick, an overlapping sync-due): nothing new.
    assert schedules.run_due(fresh_warehouse, role_for=role_for, output_dir=tmp_path, at=at) == []
    # The next day's run is a diff against the first: nobody joined or left.
    [second] = schedules.run_due(fresh_warehouse, role_for=role_for, output_dir=tmp_path, at=datetime(2026, 12, 3, 7))
    following = jobs.get(fresh_warehouse, second.job_id)
    assert (following.rows_added, following.rows_removed, following.previous_job_id) == (0, 0, run.job_id)


def test_a_period_is_claimed_once_even_by_overlapping_runs(fresh_warehouse, monkeypatch, tmp_path):
    s = made(fresh_warehouse, monkeypatch=monkeypatch)
    period = datetime(2026, 12, 2, 6)
    # This sync-due read the schedules before another one claimed the period (and is creating its job).
    stale = schedules.listed(fresh_warehouse)
    assert schedules.claim(fresh_warehouse, s.schedule_id, period)
    assert not schedules.claim(fresh_warehouse, s.schedule_id, period)
    monkeypatch.setattr(schedules, "listed", lambda warehouse: stale)
    [run] = schedules.run_due(fresh_warehouse, role_for=lambda _: "marketer", output_dir=tmp_path,
                              at=datetime(2026, 12, 2, 6, 1))
    assert run.status == "skipped" and run.job_id is None
    count = fresh_warehouse.scalar(exp.select(exp.func("COUNT", exp.Star())).from_(schedules.RUNS))
    assert count == 1 and jobs.history(fresh_warehouse).empty


def test_paused_schedules_do_not_run_and_only_the_owner_or_a_manager_changes_them(fresh_warehouse, monkeypatch,
                                                                                  tmp_path):
    s = made(fresh_warehouse, monkeypatch=monkeypatch)
    with pytest.raises(PermissionDeniedError):
        schedules.set_status(fresh_warehouse, s.schedule_id, "paused", user="bo@example.com", role="marketer")
    schedules.set_status(fresh_warehouse, s.schedule_id, "paused", user=OWNER, role="marketer")
    assert schedules.run_due(fresh_warehouse, role_for=lambda _: "marketer", output_dir=tmp_path,
                             at=datetime(2026, 12, 5, 7)) == []
    schedules.set_status(fresh_warehouse, s.schedule_id, "active", user="boss@example.com", role="manager")
    assert len(schedules.run_due(fresh_warehouse, role_for=lambda _: "marketer", output_dir=tmp_path,
                                 at=datetime(2026, 12, 5, 7))) == 1
    schedules.delete(fresh_warehouse, s.schedule_id, user=OWNER, role="marketer")
    assert schedules.listed(fresh_warehouse) == []
    assert len(jobs.history(fresh_warehouse)) == 1  # its job stays in the history
    assert len(audit_rows(fresh_warehouse, "export.schedule_pause", s.schedule_id)) == 1
    assert len(audit_rows(fresh_warehouse, "export.schedule_delete", s.schedule_id)) == 1


def test_a_run_takes_the_owners_role_at_run_time(fresh_warehouse, monkeypatch, tmp_path):
    s = made(fresh_warehouse, monkeypatch=monkeypatch)
    [run] = schedules.run_due(fresh_warehouse, role_for=lambda _: "viewer", output_dir=tmp_path,
                              at=datetime(2026, 12, 2, 6, 5))
    assert run.status == "failed" and run.job_id is None and "export" in run.message
    message = fresh_warehouse.scalar(exp.select("message").from_(schedules.RUNS)
                                     .where(exp.column("schedule_id").eq(exp.convert(s.schedule_id))))
    assert message == run.message


class _Receiver(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 - the http.server hook's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Receiver.seen.append({"auth": self.headers.get("Authorization"), "members": len(body["members"])})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_webhook_schedule_takes_its_auth_header_from_configuration_and_stores_none(fresh_warehouse, monkeypatch,
                                                                                     tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        with pytest.raises(SpecError, match="may not carry a token"):
            made(fresh_warehouse, destination="webhook", url=url + "?token=abcdefgh12345")
        s = made(fresh_warehouse, monkeypatch=monkeypatch, destination="webhook", url=url,
                 auth_header="Authorization: Bearer typed-on-the-page-1234")
        stored = fresh_warehouse.scalar(exp.select("request_json").from_(schedules.SCHEDULES))
        assert "typed-on-the-page" not in stored and s.request.auth_header is None
        _Receiver.seen = []
        [run] = schedules.run_due(fresh_warehouse, role_for=lambda _: "marketer", output_dir=tmp_path,
                                  at=datetime(2026, 12, 2, 6, 5),
                                  env={"SEGMENT_STUDIO_WEBHOOK_AUTH": "Authorization: Bearer from-the-secret-5678"})
    finally:
        server.shutdown()
        server.server_close()
    assert run.status == "succeeded", run.message
    assert _Receiver.seen and {r["auth"] for r in _Receiver.seen} == {"Bearer from-the-secret-5678"}


def test_schedules_and_claims_run_on_a_sql_warehouse(tmp_path, monkeypatch):
    """Every statement of the schedules, as Databricks SQL takes it (the executing fake connector)."""
    warehouse, connector = fake_databricks(tmp_path, database=tmp_path / "warehouse.duckdb")
    try:
        create_all(warehouse)
        s = made(warehouse, monkeypatch=monkeypatch)
        period = datetime(2026, 12, 2, 6)
        assert schedules.claim(warehouse, s.schedule_id, period)
        assert not schedules.claim(warehouse, s.schedule_id, period)
        assert schedules.get(warehouse, s.schedule_id).last_period == period
        schedules.set_status(warehouse, s.schedule_id, "paused", user=OWNER, role="marketer")
        schedules.set_status(warehouse, s.schedule_id, "active", user=OWNER, role="marketer")
        # The owner lost the export permission: the next period's run is claimed and says why, no job.
        [run] = schedules.run_due(warehouse, role_for=lambda _: "viewer", output_dir=tmp_path,
                                  at=datetime(2026, 12, 3, 6, 5))
        assert run.status == "failed" and "export" in run.message
        assert [x.last_period for x in schedules.listed(warehouse)] == [datetime(2026, 12, 3, 6)]
        assert any(sql.startswith("MERGE INTO") for sql, _ in connector.sent)
        assert connector.refused == []
    finally:
        warehouse.close()


def test_sync_due_on_a_job_reads_the_webhook_header_from_the_databricks_secret_once_needed(
        demo_warehouse_path, tmp_path, monkeypatch, capsys):
    """The bundle's job cannot set environment variables: it names the secret (scope/key) and
    sync-due reads it, only when a due webhook needs it, with the job's identity."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    read = []
    monkeypatch.setattr(cli, "read_databricks_secret",
                        lambda name: read.append(name) or "Authorization: Bearer from-the-scope-9999")
    try:
        warehouse = DuckDBWarehouse(path)
        made(warehouse, "hourly", at=datetime(2020, 1, 1), monkeypatch=monkeypatch, destination="webhook",
             url=f"http://127.0.0.1:{server.server_address[1]}/hook")
        warehouse.close()
        monkeypatch.undo()  # the clock back to now: the schedule is due
        monkeypatch.setattr(cli, "read_databricks_secret",
                            lambda name: read.append(name) or "Authorization: Bearer from-the-scope-9999")
        _Receiver.seen = []
        env = {"SEGMENT_STUDIO_WAREHOUSE": str(path), "SEGMENT_STUDIO_EXPORT_DIR": str(tmp_path / "out"),
               "SEGMENT_STUDIO_WEBHOOK_AUTH_SECRET": "segment-studio/webhook-auth",
               "SEGMENT_STUDIO_DEMO_END": os.environ["SEGMENT_STUDIO_DEMO_END"]}
        assert cli.main(["sync-due", "--quiet"], env=env) == 0, capsys.readouterr()
    finally:
        server.shutdown()
        server.server_close()
    assert read == ["segment-studio/webhook-auth"]
    assert _Receiver.seen and {r["auth"] for r in _Receiver.seen} == {"Bearer from-the-scope-9999"}
    assert "succeeded" in capsys.readouterr().out
