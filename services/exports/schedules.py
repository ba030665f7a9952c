"""Scheduled syncs: a saved export request run every hour, day or week, each run an ordinary export job.

What Hightouch and Census users rely on: set an export up once and the
destination stays in step with the segment. A schedule is a row in
``app_export_schedules`` holding the request (diff by default, so each run
sends only who joined and left), how often, and its owner. Whoever may
export may schedule, with the owner's own rights: each run is created by
``jobs.create_job`` as the owner, in the role the owner holds *at run time*
(a marketer who lost the export permission stops syncing), so it has the
same gates, history row, snapshot and audit as a click on the page.

No secret is stored. A webhook's auth header is read at run time from the
option's environment variable (``SEGMENT_STUDIO_WEBHOOK_AUTH``, bound from a
Databricks App secret resource with ``valueFrom`` in app.yaml, or set for
the cron job), and a URL that carries a token itself cannot be scheduled.

``run_due`` (``python -m services.cli sync-due``, from cron locally and the
bundle's job on Databricks) runs the schedules whose latest period has not
run. Runs are idempotent per period: ``app_export_schedule_runs`` is keyed
by (schedule, period) and a run is *claimed* before its job is created, by
one MERGE that inserts the claim only when none exists, with a random token;
only the caller whose token is read back creates the job. On DuckDB the
table's primary key and DuckDB's single writer make a second claim fail or
match; on Databricks, Delta's optimistic concurrency fails the later of two
concurrent MERGEs into the same table (ConcurrentAppendException, "Isolation
levels and write conflicts", docs.databricks.com/en/delta/concurrency-control.html),
and a MERGE that runs after the first one matches its row and inserts
nothing. A sync-due that missed periods (the machine was off) runs the
latest period once, not every one it missed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlglot import exp

from services import audit_log, naming, rbac
from services.clock import new_id, now
from services.errors import PermissionDeniedError, SegmentStudioError, SpecError
from services.exports import jobs
from services.exports.base import ExportRequest, url_secrets
from services.exports.destinations import destination, options_in_use
from services.sqlterms import column, equals, literal
from services.warehouse import Rows, Warehouse

SCHEDULES = naming.fq("app", "app_export_schedules")
RUNS = naming.fq("app", "app_export_schedule_runs")
FREQUENCIES = ("hourly", "daily", "weekly")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
STATUSES = ("active", "paused")


@dataclass(frozen=True)
class Schedule:
    schedule_id: str
    request: ExportRequest
    frequency: str
    hour_utc: int
    weekday: int
    status: str
    owner: str
    created_ts: datetime
    last_job_id: str | None = None
    last_period: datetime | None = None

    @property
    def segment_id(self) -> str:
        return self.request.segment_id

    def describe(self) -> str:
        at = f"{self.hour_utc:02d}:00 UTC"
        return {"hourly": "every hour, on the hour", "daily": f"every day at {at}",
                "weekly": f"every {WEEKDAYS[self.weekday]} at {at}"}[self.frequency]

    def latest_period(self, at: datetime) -> datetime:
        """The start of the latest period at or before ``at`` (naive UTC)."""
        hour = at.replace(minute=0, second=0, microsecond=0)
        if self.frequency == "hourly":
            return hour
        day = hour.replace(hour=self.hour_utc)
        if self.frequency == "daily":
            return day if day <= at else day - timedelta(days=1)
        week = day - timedelta(days=(day.weekday() - self.weekday) % 7)
        return week if week <= at else week - timedelta(days=7)

    def next_run(self, after: datetime) -> datetime:
        """The first period that starts after ``after``."""
        step = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(days=7)}[self.frequency]
        return self.latest_period(after) + step

    def is_due(self, at: datetime) -> bool:
        """Active, and its latest period started after it was made and has not run."""
        period = self.latest_period(at)
        return self.status == "active" and period > self.created_ts and (
            self.last_period is None or period > self.last_period)


def refuse_url_token(request: ExportRequest, *, runs_as: str = "a scheduled webhook",
                     header_from: str | None = None) -> None:
    """Raise SpecError when the request's URL carries a token: rows keep URLs redacted, so a run made
    later from the row (a schedule's, a Databricks Job's) would not have it. ``runs_as`` names that run,
    ``header_from`` where it reads the auth header instead."""
    if url_secrets(request.url):
        raise SpecError(f"{runs_as}'s URL may not carry a token (it is not stored, so a later run would "
                        "not have it): send the token as the auth header, which "
                        f"{'scheduled runs read' if header_from is None else 'the run reads'} from "
                        f"{header_from or _secret_env_names() or 'the environment'}")


def _check_schedulable(request: ExportRequest) -> None:
    dest = destination(request.destination)
    refuse_url_token(request)
    missing = dest.missing(request)
    if missing:
        raise SpecError(f"{dest.label} needs {' and '.join(m.lower() for m in missing)} before an export can be scheduled")


def _secret_env_names() -> str:
    return ", ".join(sorted(o.env for o in options_in_use() if o.env and o.secret))


def create(warehouse: Warehouse, request: ExportRequest, *, frequency: str, user: str, role: str,
           hour_utc: int = 6, weekday: int = 0) -> Schedule:
    """Schedule ``request`` (its secrets dropped: runs read them from configuration); audited.

    Raises PermissionDeniedError when the role may not export (or not in clear), SpecError for an
    unknown frequency, hour or weekday, or a request a run could not repeat (a URL with a token).
    """
    rbac.require(role, "export")
    if request.identifiers == "clear":
        rbac.require(role, "export_unmasked")
    if frequency not in FREQUENCIES:
        raise SpecError(f"frequency {frequency!r} must be one of {', '.join(FREQUENCIES)}")
    if not 0 <= int(hour_utc) <= 23 or not 0 <= int(weekday) <= 6:
        raise SpecError("the hour must be 0-23 and the weekday 0 (Monday) to 6 (Sunday)")
    request = destination(request.destination).normalise(request)
    _check_schedulable(request)
    # Stored without secrets (to_json drops them) and following the segment's latest version.
    stored = replace(request, version=0, rerun_of=None, **dict.fromkeys(ExportRequest.secret_fields()))
    schedule_id = new_id("sch")
    created = now()
    warehouse.transaction([
        Rows(SCHEDULES, pd.DataFrame([{
            "schedule_id": schedule_id, "segment_id": stored.segment_id, "destination": stored.destination,
            "request_json": stored.to_json(), "frequency": frequency, "hour_utc": int(hour_utc),
            "weekday": int(weekday), "status": "active", "owner": user, "created_ts": created, "updated_ts": created,
        }])),
        audit_log.entry(actor=user, role=role, action="export.schedule_create", object_type="export_schedule",
                        object_id=schedule_id, details={"segment_id": stored.segment_id, "destination":
                                                        stored.destination, "frequency": frequency, "mode": stored.mode}),
    ])
    return get(warehouse, schedule_id)


def _utc(value) -> datetime | None:
    """A timestamp read back as naive UTC (an engine may return it zone-aware)."""
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp).to_pydatetime()


def _schedule(row: Mapping) -> Schedule:
    return Schedule(
        schedule_id=row["schedule_id"], request=ExportRequest.from_json(row["request_json"]),
        frequency=row["frequency"], hour_utc=int(row["hour_utc"]), weekday=int(row["weekday"]), status=row["status"],
        owner=row["owner"], created_ts=_utc(row["created_ts"]),
        last_job_id=row.get("last_job_id") if isinstance(row.get("last_job_id"), str) else None,
        last_period=_utc(row.get("last_period")))


def _with_last_run() -> exp.Select:
    """Every schedule with its latest claimed period and that run's job."""
    latest = (exp.select(column("schedule_id"), column("period_ts"), column("job_id"),
                         exp.Window(this=exp.RowNumber(), partition_by=[column("schedule_id")],
                                    order=exp.Order(expressions=[exp.Ordered(this=column("period_ts"), desc=True)]))
                         .as_("rn"))
              .from_(RUNS))
    r = lambda name: exp.column(name, table="r", quoted=True)  # noqa: E731
    return (exp.select(exp.column(exp.Star(), table="s"), r("period_ts").as_("last_period"),
                       r("job_id").as_("last_job_id"))
            .from_(exp.to_table(SCHEDULES).as_("s"))
            .join(latest.subquery("r"), on=exp.and_(exp.EQ(this=r("schedule_id"),
                                                           expression=exp.column("schedule_id", table="s", quoted=True)),
                                                    exp.EQ(this=r("rn"), expression=exp.Literal.number(1))),
                  join_type="left"))


def get(warehouse: Warehouse, schedule_id: str) -> Schedule:
    rows = warehouse.arrow(exp.select("*").from_(_with_last_run().subquery("q"))
                           .where(equals("schedule_id", schedule_id))).to_pylist()
    if not rows:
        raise SpecError(f"export schedule {schedule_id!r} does not exist")
    return _schedule(rows[0])


def listed(warehouse: Warehouse, *, user: str | None = None, role: str | None = None) -> list[Schedule]:
    """Schedules oldest first: all of them (``user`` None, for sync-due), else those ``user`` may see:
    their own, everyone's for roles that see every export."""
    query = exp.select("*").from_(_with_last_run().subquery("q")).order_by(column("created_ts"), column("schedule_id"))
    if user is not None and not rbac.can(role or "", "view_all_exports"):
        query = query.where(equals("owner", user))
    return [_schedule(row) for row in warehouse.arrow(query).to_pylist()]


def _may_change(schedule: Schedule, user: str, role: str) -> None:
    if schedule.owner != user and not rbac.can(role, "view_all_exports"):
        raise PermissionDeniedError(f"only {schedule.owner} (or a manager) may change this schedule")


def set_status(warehouse: Warehouse, schedule_id: str, status: str, *, user: str, role: str) -> Schedule:
    """Pause or resume a schedule (its owner, or a role that sees every export); audited."""
    if status not in STATUSES:
        raise SpecError(f"status {status!r} must be one of {', '.join(STATUSES)}")
    schedule = get(warehouse, schedule_id)
    _may_change(schedule, user, role)
    warehouse.transaction([
        (exp.update(SCHEDULES, {"status": literal(status), "updated_ts": literal(now())},
                    where=equals("schedule_id", schedule_id)), None),
        audit_log.entry(actor=user, role=role, action=f"export.schedule_{'pause' if status == 'paused' else 'resume'}",
                        object_type="export_schedule", object_id=schedule_id),
    ])
    return get(warehouse, schedule_id)


def delete(warehouse: Warehouse, schedule_id: str, *, user: str, role: str) -> None:
    """Delete a schedule (its past jobs stay in the export history); audited."""
    schedule = get(warehouse, schedule_id)
    _may_change(schedule, user, role)
    warehouse.transaction([
        (exp.delete(SCHEDULES).where(equals("schedule_id", schedule_id)), None),
        audit_log.entry(actor=user, role=role, action="export.schedule_delete", object_type="export_schedule",
                        object_id=schedule_id, details={"segment_id": schedule.segment_id}),
    ])


# -- running what is due ------------------------------------------------------------------
@dataclass(frozen=True)
class SyncRun:
    schedule_id: str
    period: datetime
    job_id: str | None
    status: str  # succeeded, failed, skipped (another sync-due claimed it)
    message: str = ""


def _claim_statement(schedule_id: str, period: datetime, token: str, claimed: datetime) -> exp.Merge:
    t = lambda name: exp.column(name, table="tgt", quoted=True)  # noqa: E731
    s = lambda name: exp.column(name, table="s", quoted=True)  # noqa: E731
    names = ("schedule_id", "period_ts", "claim_token", "claimed_ts")
    source = exp.select(*[literal(v).as_(n, quoted=True) for n, v in zip(names, (schedule_id, period, token, claimed))])
    insert = exp.When(matched=False, source=False, then=exp.Insert(
        this=exp.Tuple(expressions=[exp.column(n, quoted=True) for n in names]),
        expression=exp.Tuple(expressions=[s(n) for n in names])))
    return exp.Merge(this=exp.to_table(RUNS).as_("tgt"), using=source.subquery("s"),
                     on=exp.and_(exp.EQ(this=t("schedule_id"), expression=s("schedule_id")),
                                 exp.EQ(this=t("period_ts"), expression=s("period_ts"))),
                     whens=exp.Whens(expressions=[insert]))


def claim(warehouse: Warehouse, schedule_id: str, period: datetime) -> bool:
    """Whether this caller won the run of ``schedule_id`` for ``period`` (see the module's note)."""
    token = uuid.uuid4().hex
    try:
        warehouse.execute(_claim_statement(schedule_id, period, token, now()))
    except SegmentStudioError:
        pass  # a concurrent claim won the write; the read below says whose the run is
    holder = warehouse.scalar(exp.select(column("claim_token")).from_(RUNS).where(exp.and_(
        equals("schedule_id", schedule_id), exp.EQ(this=column("period_ts"), expression=literal(period)))))
    return holder == token


def _record(warehouse: Warehouse, schedule_id: str, period: datetime, **values) -> None:
    warehouse.execute(exp.update(RUNS, {k: literal(v) for k, v in values.items()}, where=exp.and_(
        equals("schedule_id", schedule_id), exp.EQ(this=column("period_ts"), expression=literal(period)))))


def configured_secrets(env: Mapping[str, str], destination_name: str) -> dict[str, str]:
    """The destination's secret options, from their environment variables (cron's environment, or a
    Databricks secret the sync job reads on first use); only the ones set."""
    found = {option.name: env.get(option.env) for option in destination(destination_name).options
             if option.secret and option.env}
    return {name: value for name, value in found.items() if value}


def run_due(warehouse: Warehouse, *, role_for: Callable[[str], str], output_dir: Path,
            env: Mapping[str, str] | None = None, at: datetime | None = None,
            private_networks: tuple[str, ...] | None = None) -> list[SyncRun]:
    """Run every active schedule whose latest period has not run; one SyncRun each (skipped ones too).

    ``role_for`` gives an owner's current role. A run that fails (a gate, a destination error) is
    recorded on its job and its claim; the other schedules still run.
    """
    at = at or now()
    env = env or {}
    results = []
    for schedule in listed(warehouse):
        if not schedule.is_due(at):
            continue
        period = schedule.latest_period(at)
        if not claim(warehouse, schedule.schedule_id, period):
            results.append(SyncRun(schedule.schedule_id, period, None, "skipped", "claimed by another sync-due"))
            continue
        results.append(_run_one(warehouse, schedule, period, role_for=role_for, output_dir=output_dir,
                                env=env, private_networks=private_networks))
    return results


def _run_one(warehouse: Warehouse, schedule: Schedule, period: datetime, *, role_for: Callable[[str], str],
             output_dir: Path, env: Mapping[str, str], private_networks: tuple[str, ...] | None) -> SyncRun:
    job_id = None
    try:
        role = role_for(schedule.owner)
        request = schedule.request.with_secrets(configured_secrets(env, schedule.request.destination))
        queued = jobs.create_job(warehouse, request, user=schedule.owner, role=role)
        job_id = queued.job_id
        _record(warehouse, schedule.schedule_id, period, job_id=job_id)
        audit_log.record(warehouse, actor=schedule.owner, role=role, action="export.schedule_run",
                         object_type="export_schedule", object_id=schedule.schedule_id,
                         details={"job_id": job_id, "period": period.isoformat()})
        done = jobs.run_job(warehouse, queued, output_dir=output_dir, private_networks=private_networks)
        return SyncRun(schedule.schedule_id, period, job_id, done.status, done.message or "")
    except SegmentStudioError as exc:
        message = schedule.request.scrub(str(exc))[:1000]
        _record(warehouse, schedule.schedule_id, period, message=message)
        return SyncRun(schedule.schedule_id, period, job_id, "failed", message)
