"""Export jobs: tracked, run off the page's thread, atomic, idempotent, audited.

A job is a row in the app schema's ``app_export_jobs``: created ``queued``
(after the permission and data-quality gates), then ``running`` with a
progress fraction, then ``succeeded`` or ``failed`` with its row counts
(exported, excluded and why), checksum and output. ``start`` runs it on a
background thread so the page stays live; the CLI calls ``run_job`` directly.

``create_job`` returns a ``QueuedJob`` holding what it worked out (the request
as the destination runs it, the compiled segment); ``run_job`` given it does
not work them out again. Given only a job id (a job queued by another
process), it compiles the segment from the stored request.

The job knows no destination: the destination's own methods say what a diff
delivers, how it is delivered and what a killed run left behind.

Running a succeeded job again returns its result untouched, so a double
click or a retried request gives one result. A job that failed, or whose
process was killed while it ran, runs again cleanly: its partial output and
its snapshot are cleared first, and outputs only ever appear whole.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlglot import exp

from services import audit_log, naming, rbac
from services.clock import new_id, now
from services.errors import ExportError, SegmentStudioError, SpecError
from services.exports import audience, preflight, selection, snapshots
from services.exports.base import DeliveryContext, ExportRequest
from services.exports.destinations import destination
from services.exports.filestore import DEFAULT_STORES, Stores
from services.segments.compiler import CompiledSegment
from services.segments.workspace import Workspace
from services.sqlterms import column, equals, is_in, literal
from services.warehouse import Rows, Warehouse

JOBS = snapshots.JOBS
# Progress is written at most this often: a million-row job should not spend its time on UPDATEs.
PROGRESS_EVERY_S = 0.5

_active: set[str] = set()
_active_lock = threading.Lock()


@dataclass(frozen=True)
class Job:
    job_id: str
    segment_id: str
    segment_version: int
    segment_name: str | None
    destination: str
    target: str | None
    mode: str
    request: ExportRequest
    status: str
    progress: float
    message: str | None
    members: int | None
    rows_exported: int | None
    rows_excluded: int | None
    excluded: dict[str, int]
    rows_added: int | None
    rows_removed: int | None
    checksum: str | None
    output_path: str | None
    previous_job_id: str | None
    dq_override: bool
    created_by: str
    role: str | None
    created_ts: datetime | None
    started_ts: datetime | None
    finished_ts: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")

    def summary(self) -> str:
        lines = [f"job {self.job_id}: {self.status}",
                 f"segment {self.segment_id} v{self.segment_version} ({self.segment_name}) -> {self.destination}"
                 f" [{self.mode}]"]
        if self.status == "succeeded":
            lines.append(f"members {self.members or 0:,}, exported {self.rows_exported or 0:,}, "
                         f"excluded {self.rows_excluded or 0:,}")
            for reason, count in sorted(self.excluded.items(), key=lambda kv: -kv[1]):
                lines.append(f"  excluded {count:,} x {reason}")
            if self.mode == "diff":
                lines.append(f"added {self.rows_added or 0:,}, removed {self.rows_removed or 0:,}"
                             + ("" if self.previous_job_id else " (first diff: everyone is new)"))
            lines.append(f"checksum sha256:{self.checksum}")
            lines.append(f"output: {self.output_path}")
        if self.message:
            lines.append(self.message)
        return "\n".join(lines)


@dataclass(frozen=True)
class QueuedJob:
    """A job ``create_job`` just queued, with what it worked out for it, so running it repeats none of it."""

    job_id: str
    #: as the destination runs it (normalised), the version resolved, secrets included
    request: ExportRequest
    compiled: CompiledSegment


def _int(value) -> int | None:
    return None if value is None or (isinstance(value, float) and value != value) else int(value)


def _job(row: dict) -> Job:
    return Job(
        job_id=row["job_id"], segment_id=row["segment_id"], segment_version=int(row["segment_version"]),
        segment_name=row["segment_name"], destination=row["destination"], target=row["target"], mode=row["mode"],
        request=ExportRequest.from_json(row["request_json"]), status=row["status"],
        progress=float(row["progress"] or 0.0), message=row["message"], members=_int(row["members"]),
        rows_exported=_int(row["rows_exported"]), rows_excluded=_int(row["rows_excluded"]),
        excluded=json.loads(row["excluded_json"]) if row["excluded_json"] else {},
        rows_added=_int(row["rows_added"]), rows_removed=_int(row["rows_removed"]), checksum=row["checksum"],
        output_path=row["output_path"], previous_job_id=row["previous_job_id"], dq_override=bool(row["dq_override"]),
        created_by=row["created_by"], role=row["role"], created_ts=row["created_ts"], started_ts=row["started_ts"],
        finished_ts=row["finished_ts"],
    )


def get(warehouse: Warehouse, job_id: str) -> Job:
    rows = warehouse.arrow(exp.select("*").from_(JOBS).where(equals("job_id", job_id))).to_pylist()
    if not rows:
        raise SpecError(f"export job {job_id!r} does not exist")
    return _job(rows[0])


def history(warehouse: Warehouse, *, limit: int = 200) -> pd.DataFrame:
    """Jobs newest first (one row each, the columns of the job table)."""
    return warehouse.df(exp.select("*").from_(JOBS).order_by(exp.Ordered(this=column("created_ts"), desc=True)).limit(int(limit)))


def _update_statement(job_id: str, **values) -> tuple[exp.Expression, None]:
    return exp.update(JOBS, {k: literal(v) for k, v in values.items()}, where=equals("job_id", job_id)), None


def _update(warehouse: Warehouse, job_id: str, **values) -> None:
    warehouse.execute(_update_statement(job_id, **values)[0])


# -- creating ------------------------------------------------------------------
def create_job(warehouse: Warehouse, request: ExportRequest, *, user: str, role: str,
               override_dq_gate: bool = False, workspace: Workspace | None = None) -> QueuedJob:
    """Check the request and the gates, queue the job; return it (``.job_id``) for ``run_job`` or ``start``.

    ``workspace`` compiles the segment (a new one for this warehouse by default; the Exports page
    passes the one holding its cached catalog).

    Raises SpecError when the destination does not accept the request's
    options or a required one is empty (a webhook without its URL), PermissionDeniedError when the role may not export (or not in
    clear), and ExportError when a failing critical data-quality check on
    the segment's inputs blocks it and no manager overrode the gate.
    """
    rbac.require(role, "export")
    dest = destination(request.destination)
    request = dest.normalise(request)
    missing = dest.missing(request)
    if missing:
        raise SpecError(f"{dest.label} needs {' and '.join(m.lower() for m in missing)} before an export can start")
    if request.identifiers == "clear":
        rbac.require(role, "export_unmasked")
    workspace = workspace or Workspace(warehouse)
    saved, compiled = preflight.compile_saved(warehouse, request.segment_id, request.version, workspace=workspace)
    preflight.check_attributes(workspace.catalog, request, role=role)
    gate = preflight.dq_gate(warehouse, compiled)
    if gate.blocked:
        if not override_dq_gate:
            raise ExportError(f"export blocked by failing critical data-quality checks: {gate.describe()}; "
                              "a manager may override the gate")
        rbac.require(role, "override_dq_gate")
    job_id = new_id("exp")
    request = replace(request, version=saved.version)
    steps: list = [Rows(JOBS, pd.DataFrame([{
        "job_id": job_id, "segment_id": request.segment_id, "segment_version": saved.version,
        "segment_name": saved.definition.name, "destination": dest.name, "target": dest.target(request),
        "mode": request.mode, "request_json": request.to_json(),
        "status": "queued", "progress": 0.0, "dq_override": bool(gate.blocked and override_dq_gate),
        "created_by": user, "role": role, "created_ts": now(),
    }]))]
    if gate.blocked:
        # The overriding job and the audit row of its override land together.
        steps.append(audit_log.entry(actor=user, role=role, action="export.dq_override", object_type="export_job",
                                     object_id=job_id, object_version=saved.version,
                                     details={"segment_id": request.segment_id, "failing_checks": gate.check_names()}))
    warehouse.transaction(steps)
    return QueuedJob(job_id, request, compiled)


# -- running ---------------------------------------------------------------------
def start(warehouse: Warehouse, job: QueuedJob | str, *, output_dir: Path,
          secrets: Mapping[str, str | None] | None = None,
          private_networks: tuple[str, ...] | None = None, stores: Stores = DEFAULT_STORES) -> threading.Thread:
    """Run the job on a background thread; the page polls ``get`` for progress."""
    job_id = job.job_id if isinstance(job, QueuedJob) else job

    def target():
        try:
            run_job(warehouse, job, output_dir=output_dir, secrets=secrets, private_networks=private_networks,
                    stores=stores)
        except SegmentStudioError:
            pass  # recorded on the job row; the page shows it from there
        finally:
            flush = getattr(warehouse, "flush", None)
            if flush is not None:  # a query-logging warehouse: write the job's query log now
                try:
                    flush()
                except SegmentStudioError:
                    pass

    # The copied context carries the caller's query attribution (user, page) onto the thread.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(target,), name=f"export-{job_id}", daemon=True)
    thread.start()
    return thread


def run_job(warehouse: Warehouse, job: QueuedJob | str, *, output_dir: Path,
            secrets: Mapping[str, str | None] | None = None,
            progress: Callable[[str, float], None] | None = None,
            private_networks: tuple[str, ...] | None = None, stores: Stores = DEFAULT_STORES) -> Job:
    """Run a queued (or failed, or killed) job to the end; return the finished job.

    ``job`` is what ``create_job`` returned (nothing is worked out twice) or a
    job id, whose request is read from its row; ``secrets`` then gives the
    request's secret fields (an auth header) and redacted ones in full (a
    webhook URL with its token), which rows never keep. ``output_dir`` is the
    app's export folder; ``private_networks`` limits the addresses a webhook
    may reach (see ``DeliveryContext``); ``stores`` chooses where files are kept (a local folder, or a
    Unity Catalog volume through the Files API: filestore.py). Raises ExportError when the job fails
    (after recording why on its row, secrets scrubbed).
    """
    queued = job if isinstance(job, QueuedJob) else None
    job_id = queued.job_id if queued else job
    row = get(warehouse, job_id)
    if row.status == "succeeded":
        return row
    with _active_lock:
        if job_id in _active:
            raise ExportError(f"export job {job_id} is already running")
        _active.add(job_id)
    try:
        request = (queued.request if queued else row.request).with_secrets(secrets or {})
        return _run(warehouse, row, request, queued.compiled if queued else None, output_dir=output_dir,
                    progress=progress, private_networks=private_networks, stores=stores)
    finally:
        with _active_lock:
            _active.discard(job_id)


def _reporter(warehouse: Warehouse, job_id: str, progress: Callable[[str, float], None] | None):
    last = {"t": 0.0}

    def report(step: str, fraction: float) -> None:
        if progress:
            progress(step, fraction)
        now_s = time.monotonic()
        if now_s - last["t"] >= PROGRESS_EVERY_S or fraction >= 1.0:
            last["t"] = now_s
            _update(warehouse, job_id, progress=round(min(max(fraction, 0.0), 1.0), 4), message=step)

    return report


def delivery_context(warehouse: Warehouse, job: Job, request: ExportRequest, *, output_dir: Path,
                     stores: Stores = DEFAULT_STORES, **extra) -> DeliveryContext:
    """Where and how the job delivers: its outputs' names follow from the job alone, their store from
    their folder (the request's, else the app's export folder)."""
    return DeliveryContext(job.job_id, request, warehouse, Path(output_dir),
                           f"{job.segment_id}-v{job.segment_version}-{job.destination}-{job.mode}-{job.job_id}",
                           store=stores.for_path(request.folder or output_dir), **extra)


INTERRUPTED = ("interrupted: the process running this job stopped before it finished (found at the next start); "
               "run it again, it starts clean")


def recover_interrupted(warehouse: Warehouse, *, output_dir: Path, keep: tuple[str, ...] = (),
                        stores: Stores = DEFAULT_STORES) -> list[str]:
    """Mark failed the jobs a dead process left queued or running, and clear what they left half-written.

    Call it when a process that runs jobs starts, before it runs any. A job this process runs
    (``start``) is never touched. On DuckDB only one process can open the file, so every other
    queued or running job is an orphan; ``output_dir`` is where the dead process wrote, unless the
    job's request named a folder (``stores`` reaches it); ``keep`` are jobs the caller is about to run
    itself (``run-export``). Returns the ids of the jobs marked failed.
    """
    if naming.table("app_export_jobs") not in warehouse.tables(naming.schema("app")):
        return []  # a warehouse an earlier version built: no job has run here
    query = exp.select(column("job_id")).from_(JOBS).where(is_in("status", ["queued", "running"]))
    with _active_lock:
        orphans = [j for j in warehouse.arrow(query).column(0).to_pylist() if j not in _active and j not in keep]
    for job_id in orphans:
        job = get(warehouse, job_id)
        destination(job.destination).remove_partial(delivery_context(warehouse, job, job.request,
                                                                     output_dir=output_dir, stores=stores))
        snapshots.clear(warehouse, job_id)
        warehouse.transaction(failure_steps(job, INTERRUPTED))
    return orphans


def failure_steps(job: Job, reason: str) -> list:
    """The job marked failed with ``reason`` (already scrubbed of secrets) and its audit row: one
    transaction's steps, so the failure and its audit land together."""
    return [
        _update_statement(job.job_id, status="failed", message=reason[:2000], finished_ts=now()),
        audit_log.entry(actor=job.created_by, role=job.role, action="export.failed", object_type="export_job",
                        object_id=job.job_id, object_version=job.segment_version,
                        details={"segment_id": job.segment_id, "destination": job.destination,
                                 "error": reason[:500]}),
    ]


def rerun_request(job: Job) -> ExportRequest:
    """The request of a new job that runs ``job`` again: the same, carrying the job it repeats (the first
    of a chain of re-runs), so a webhook re-sends under that job's idempotency keys. Secrets are not
    in it: the caller adds the ones it holds (``with_secrets``)."""
    return replace(job.request, rerun_of=job.request.rerun_of or job.job_id)


def _run(warehouse: Warehouse, job: Job, request: ExportRequest, compiled: CompiledSegment | None, *,
         output_dir: Path, progress, private_networks: tuple[str, ...] | None = None,
         stores: Stores = DEFAULT_STORES) -> Job:
    """Run ``job`` with its request; ``compiled`` is its segment, or None to compile it here."""
    dest = destination(job.destination)
    target = dest.target(request)
    report = _reporter(warehouse, job.job_id, progress)
    ctx = delivery_context(warehouse, job, request, output_dir=output_dir, stores=stores,
                           progress=lambda f: report("delivering", 0.45 + 0.5 * f), private_networks=private_networks)
    # A killed run of this job may have left a partial output and a snapshot: start clean.
    dest.remove_partial(ctx)
    snapshots.clear(warehouse, job.job_id)
    _update(warehouse, job.job_id, status="running", progress=0.0, message="compiling the segment",
            started_ts=now(), finished_ts=None)
    try:
        if compiled is None:
            _, compiled = preflight.compile_saved(warehouse, job.segment_id, job.segment_version)
        report("selecting members", 0.05)
        audience_query = audience.source_query(compiled, request.attributes)
        rows = selection.fetch_members(warehouse, dest, request, audience_query)
        members = rows.num_rows
        rows, excluded = selection.exclusions(rows, request)
        report("saving the membership snapshot", 0.35)
        snapshots.save(warehouse, job_id=job.job_id, segment_id=job.segment_id, destination=dest.name,
                       target=target, customer_ids=selection.member_ids(rows),
                       members=selection.kept_ids(dest, request, audience_query))
        previous, added, removed = None, None, None
        if request.mode == "diff":
            previous = snapshots.baseline_job(warehouse, segment_id=job.segment_id, destination=dest.name,
                                              target=target, before_job=job.job_id)
            changes, added, removed = selection.diff_rows(warehouse, dest, request, rows, job.job_id, previous)
            rows = dest.diff_delivery(rows, changes)
        report("delivering", 0.45)
        delivered = dest.deliver(selection.public(rows), replace(ctx, audience=audience_query))
    except Exception as exc:
        snapshots.clear(warehouse, job.job_id)
        dest.remove_partial(ctx)
        told = str(exc) if isinstance(exc, SegmentStudioError) else f"{type(exc).__name__}: {exc}"
        # Whatever failed, the job row, the audit log and the caller see it without the request's secrets.
        reason = request.scrub(told)
        warehouse.transaction(failure_steps(job, reason))
        # A cause holding a secret would print it in a traceback: then the scrubbed error stands alone.
        cause = exc if reason == told else None
        if isinstance(exc, SegmentStudioError):
            if cause is not None:
                raise
            raise type(exc)(reason) from None
        raise ExportError(f"export job {job.job_id} failed: {reason}") from cause
    # The job's outcome and its audit row land together.
    warehouse.transaction([
        _update_statement(job.job_id, status="succeeded", progress=1.0, message=None, members=members,
                          rows_exported=delivered.rows, rows_excluded=sum(excluded.values()),
                          excluded_json=json.dumps(excluded, sort_keys=True), rows_added=added,
                          rows_removed=removed, checksum=delivered.checksum, output_path=delivered.output_path,
                          previous_job_id=previous, finished_ts=now()),
        audit_log.entry(actor=job.created_by, role=job.role, action="export.run", object_type="export_job",
                        object_id=job.job_id, object_version=job.segment_version, row_count=delivered.rows,
                        checksum=delivered.checksum,
                        details={"segment_id": job.segment_id, "destination": dest.name, "mode": job.mode,
                                 "target": target, "excluded": excluded, "added": added, "removed": removed,
                                 "output": delivered.output_path, **delivered.detail}),
    ])
    return get(warehouse, job.job_id)
