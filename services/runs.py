"""Where exports and rebuilds run: threads in the app's process locally, the bundle's Databricks Jobs
as a Databricks App.

A Databricks App has 2 vCPUs and 6 GB by default, a restart ends whatever its process was doing
(an export thread's job would stay "running"), and a click elsewhere stops the page's script run (a
rebuild in it). So there the work runs as the bundle's jobs (databricks.yml ``export_run`` and
``gold_build``, bound to the app as job resources; /work/notes/databricks.md sections 4 and 6):

* ``ThreadRunner`` (DuckDB, or the app outside Databricks): an export on a background thread of
  this process (``jobs.start``); a rebuild on one too (components/runs.py).
* ``DatabricksJobsRunner``: ``jobs_api.run_now`` (the SDK's ``WorkspaceClient().jobs``,
  databricks-sdk 0.162.0 ``databricks/sdk/service/jobs.py``) with job parameters the job's task
  passes to the CLI (``run-export {{job.parameters.export_job}}``, ``build --full-refresh
  {{job.parameters.full_refresh}}``) and an idempotency token: "If a run with the provided token
  already exists, the request does not create a new run but returns the ID of the existing run", so
  a double click starts one run. Each run it starts is recorded in ``app_job_runs`` (what it runs,
  the run id and page, who, when); its state is always read from the Jobs API (``get_run``).

An export job's row is kept up to date by the job itself (``run_job`` in the job's process writes
progress and the outcome, as a thread does); the page polls the row as before. Only when the row is
still queued or running and the run has ended (cancelled, timed out, a failed start, a crash before
the job could record anything) does ``export_job`` mark the job failed, with the run's termination
message and its audit row in one transaction: a job never stays "running" after its run ended.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlglot import exp

from services import naming, rbac
from services.clock import now
from services.errors import ExportError, JobRunError, SpecError, databricks_api_errors
from services.exports import jobs
from services.exports.base import ExportRequest
from services.exports.filestore import DEFAULT_STORES, Stores
from services.exports.schedules import refuse_url_token
from services.segments.workspace import Workspace
from services.settings import Settings
from services.sqlterms import column, equals, literal
from services.warehouse import Rows, Warehouse

RUNS = naming.fq("app", "app_job_runs")
EXPORT, REBUILD = "export", "rebuild"
#: what a rebuild run runs (an export run's subject is its export job's id)
WAREHOUSE = "warehouse"
#: the Jobs API is asked about one run at most this often (the Exports page polls every second)
CHECK_EVERY_S = 5.0
#: RunLifecycleStateV2State values before the end (TERMINATING: the task is done, cleanup runs)
_RUNNING_STATES = ("QUEUED", "PENDING", "RUNNING", "BLOCKED", "WAITING", "TERMINATING")
#: legacy RunLifeCycleState values that are terminal (the deprecated ``state`` field)
_LEGACY_TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
#: termination codes that mean the run did its work (TerminationCodeCode)
_SUCCESS_CODES = ("SUCCESS",)


def _name(value: Any) -> str | None:
    """An SDK enum's value (or a plain string) as text."""
    return None if value is None else str(getattr(value, "value", value))


@dataclass(frozen=True)
class RunState:
    """A run as the Jobs API reports it now."""

    state: str
    finished: bool
    succeeded: bool
    #: why it ended (a termination code such as USER_CANCELED, RUN_EXECUTION_ERROR), when it has
    code: str | None = None
    message: str | None = None
    run_page_url: str | None = None

    def outcome(self) -> str:
        """How the run ended, in a sentence's words: 'failed (RUN_EXECUTION_ERROR): Task build failed'."""
        if not self.finished:
            return self.state.lower()
        said = "succeeded" if self.succeeded else ("was cancelled" if self.code in ("USER_CANCELED", "CANCELED")
                                                   else "failed")
        if self.code == "MAX_CONCURRENT_RUNS_EXCEEDED":
            said = "was skipped: another run of the job was going"
        detail = f" ({self.code})" if self.code and not self.succeeded else ""
        return said + detail + (f": {self.message}" if self.message and not self.succeeded else "")


def run_state(jobs_api: Any, run_id: int) -> RunState:
    """``jobs_api.get_run(run_id)`` read as a RunState: from ``status`` (RunLifecycleStateV2State and
    its termination details), or from the deprecated ``state`` when a run has no ``status``."""
    try:
        run = jobs_api.get_run(run_id)
    except databricks_api_errors() as exc:
        raise JobRunError(f"could not read Databricks run {run_id}: {exc}") from exc
    url = getattr(run, "run_page_url", None)
    status = getattr(run, "status", None)
    if status is not None and status.state is not None:
        state = _name(status.state)
        details = status.termination_details
        code = _name(details.code) if details is not None else None
        message = details.message if details is not None else None
        finished = state not in _RUNNING_STATES
        kind = _name(details.type) if details is not None else None
        succeeded = finished and (code in _SUCCESS_CODES or (code is None and kind == "SUCCESS"))
        return RunState(state, finished, succeeded, code, message or None, url)
    legacy = run.state
    life = _name(legacy.life_cycle_state) or "PENDING"
    result = _name(legacy.result_state)
    finished = life in _LEGACY_TERMINAL
    return RunState(life, finished, finished and result == "SUCCESS", result if finished else None,
                    legacy.state_message or None, url)


# -- the record of runs the app started ---------------------------------------------------
@dataclass(frozen=True)
class RecordedRun:
    run_id: int
    kind: str
    subject: str
    databricks_job_id: int
    run_page_url: str | None
    started_by: str
    role: str | None
    started_ts: datetime


def latest(warehouse: Warehouse, kind: str, *, subject: str | None = None) -> RecordedRun | None:
    """The newest run of ``kind`` the app started (of ``subject``, when given), or None."""
    where = equals("kind", kind) if subject is None else exp.and_(equals("kind", kind), equals("subject", subject))
    rows = warehouse.arrow(exp.select("*").from_(RUNS).where(where).order_by(
        exp.Ordered(this=column("started_ts"), desc=True), exp.Ordered(this=column("run_id"), desc=True))
        .limit(1)).to_pylist()
    if not rows:
        return None
    row = rows[0]
    return RecordedRun(int(row["run_id"]), row["kind"], row["subject"], int(row["databricks_job_id"]),
                       row["run_page_url"], row["started_by"], row["role"], row["started_ts"])


def _record(warehouse: Warehouse, run: RecordedRun) -> None:
    """Record ``run`` unless it is recorded already (the same token gave the same run)."""
    known = warehouse.scalar(exp.select(exp.func("count", exp.Star())).from_(RUNS)
                             .where(exp.EQ(this=column("run_id"), expression=literal(run.run_id))))
    if known:
        return
    warehouse.transaction([Rows(RUNS, pd.DataFrame([{
        "run_id": run.run_id, "kind": run.kind, "subject": run.subject, "databricks_job_id": run.databricks_job_id,
        "run_page_url": run.run_page_url, "started_by": run.started_by, "role": run.role,
        "started_ts": run.started_ts}]))])


# -- the runners ----------------------------------------------------------------------------
class ThreadRunner:
    """Exports on a background thread of this process (a rebuild too: components/runs.py)."""

    #: whether rebuilds, and exports, run somewhere else than this process
    remote = False
    exports_remote = False

    def __init__(self, *, output_dir: Path, private_networks: tuple[str, ...] | None = None,
                 stores: Stores = DEFAULT_STORES):
        self.output_dir = Path(output_dir)
        self.private_networks = private_networks
        #: where the files go: a local folder, or a volume through the Files API (services/exports/filestore.py)
        self.stores = stores

    def admit(self, request: ExportRequest) -> None:
        """Every request a thread can run: it holds the secrets the page was given."""

    def start_export(self, warehouse: Warehouse, queued: jobs.QueuedJob, *, user: str, role: str) -> str:
        jobs.start(warehouse, queued, output_dir=self.output_dir, private_networks=self.private_networks,
                   stores=self.stores)
        return queued.job_id

    def export_job(self, warehouse: Warehouse, job_id: str, *, known: jobs.Job | None = None) -> jobs.Job:
        """The job as its row says (``known``: the row the caller just read)."""
        return known or jobs.get(warehouse, job_id)


@dataclass(frozen=True)
class Rebuild:
    """The newest rebuild the app started, and how its run stands."""

    run: RecordedRun
    state: RunState


class DatabricksJobsRunner:
    """Exports and rebuilds as runs of the bundle's jobs (see the module's note)."""

    remote = True

    def __init__(self, jobs_api: Any, export_job_id: int, build_job_id: int, *,
                 check_every_s: float = CHECK_EVERY_S, exports_here: ThreadRunner | None = None):
        """``exports_here``: run exports on this process's threads instead (on behalf of the user: a
        job runs as the service principal, whom the user's row filters do not limit, and an app
        cannot run a job as the user, having no jobs scope to ask for)."""
        self.exports_here = exports_here
        self.exports_remote = exports_here is None
        self.jobs_api = jobs_api
        self.export_job_id = int(export_job_id)
        self.build_job_id = int(build_job_id)
        self.check_every_s = check_every_s
        self._checked: dict[int, float] = {}
        #: export job -> its run, once known (the page polls: the record is read once)
        self._export_runs: dict[str, int] = {}
        #: rebuild runs that have ended, and how
        self._ended: dict[int, RunState] = {}
        self._lock = threading.Lock()

    # -- exports -------------------------------------------------------------------------
    def admit(self, request: ExportRequest) -> None:
        """Refuse, before any job is queued, a request whose secrets could not reach the job: rows keep
        no secrets, and the job reads the webhook's auth header from the configured secret."""
        if self.exports_here is not None:
            self.exports_here.admit(request)
            return
        refuse_url_token(request, runs_as="a webhook export run as a Databricks Job",
                         header_from="the secret named by SEGMENT_STUDIO_WEBHOOK_AUTH_SECRET")
        typed = [name for name in ExportRequest.secret_fields() if getattr(request, name)]
        if typed:
            raise SpecError(f"{', '.join(typed).replace('_', ' ')} typed here cannot be handed to a Databricks Job "
                            "(job parameters show in the run's page): the job sends the one in the configured "
                            "secret; leave the field empty")

    def start_export(self, warehouse: Warehouse, queued: jobs.QueuedJob, *, user: str, role: str) -> str:
        """Run the queued job as a run of the export job; the same job started twice is one run."""
        if self.exports_here is not None:
            return self.exports_here.start_export(warehouse, queued, user=user, role=role)
        try:
            waiter = self.jobs_api.run_now(job_id=self.export_job_id, job_parameters={"export_job": queued.job_id},
                                           idempotency_token=queued.job_id)
            run_id = int(waiter.run_id)
        except databricks_api_errors() as exc:
            reason = queued.request.scrub(f"the Databricks export job did not start: {exc}")
            warehouse.transaction(jobs.failure_steps(jobs.get(warehouse, queued.job_id), reason))
            raise ExportError(f"export job {queued.job_id} failed: {reason}") from None
        _record(warehouse, RecordedRun(run_id, EXPORT, queued.job_id, self.export_job_id,
                                       self._page_url(run_id), user, role, now()))
        with self._lock:
            self._export_runs[queued.job_id] = run_id
        return queued.job_id

    def export_job(self, warehouse: Warehouse, job_id: str, *, known: jobs.Job | None = None) -> jobs.Job:
        """The job as its row says (``known``: the row the caller just read), unless the row is unfinished
        and its run has ended: then the job is marked failed with the run's termination message (and its
        audit row) and returned so."""
        if self.exports_here is not None:
            return self.exports_here.export_job(warehouse, job_id, known=known)
        job = known or jobs.get(warehouse, job_id)
        if job.finished:
            return job
        with self._lock:
            run_id = self._export_runs.get(job_id)
        if run_id is None:
            run = latest(warehouse, EXPORT, subject=job_id)
            if run is None:
                return job  # not started as a job run (a thread's, before this deploy)
            run_id = run.run_id
            with self._lock:
                self._export_runs[job_id] = run_id
        if not self._due(run_id):
            return job
        state = run_state(self.jobs_api, run_id)
        if not state.finished:
            return job
        job = jobs.get(warehouse, job_id)  # the run may have finished the row since it was read
        if job.finished:
            return job
        reason = job.request.scrub(f"the Databricks run {run_id} {state.outcome()}"
                                   + (" before the job recorded its outcome" if state.succeeded else ""))
        warehouse.transaction(jobs.failure_steps(job, reason))
        return jobs.get(warehouse, job_id)

    def _due(self, run_id: int) -> bool:
        with self._lock:
            at = time.monotonic()
            if at - self._checked.get(run_id, float("-inf")) < self.check_every_s:
                return False
            self._checked[run_id] = at
            return True

    def _page_url(self, run_id: int) -> str | None:
        # run_now answers with the run id only; the run's page is on the run.
        try:
            return getattr(self.jobs_api.get_run(run_id), "run_page_url", None)
        except databricks_api_errors():
            return None  # only a link: the run is started and recorded without it

    # -- rebuilds ------------------------------------------------------------------------
    def rebuild_status(self, warehouse: Warehouse) -> Rebuild | None:
        """The newest rebuild the app started and its run's state now, or None when it started none."""
        run = latest(warehouse, REBUILD)
        if run is None:
            return None
        with self._lock:
            ended = self._ended.get(run.run_id)
        # An ended run's state never changes: Home, drawn again and again, asks the Jobs API once.
        state = ended or run_state(self.jobs_api, run.run_id)
        if state.finished:
            with self._lock:
                self._ended[run.run_id] = state
        return Rebuild(run, state)

    def start_rebuild(self, warehouse: Warehouse, *, user: str, role: str) -> Rebuild:
        """Start a full refresh as a run of the build job; refused while the last one still runs.

        The token names the build job and the rebuild it follows: two clicks that both saw the same
        last rebuild (at once, from two sessions) start one run.
        """
        rbac.require(role, "rebuild_warehouse")
        last = self.rebuild_status(warehouse)
        if last is not None and not last.state.finished:
            raise JobRunError(f"a rebuild is already running (run {last.run.run_id}, started by {last.run.started_by} "
                              f"at {last.run.started_ts:%Y-%m-%d %H:%M} UTC, {last.state.state.lower()}): wait for it "
                              "to finish")
        self._refuse_while_building()
        token = f"rebuild-{self.build_job_id}-after-{last.run.run_id if last else 0}"
        try:
            run_id = int(self.jobs_api.run_now(job_id=self.build_job_id, job_parameters={"full_refresh": "true"},
                                               idempotency_token=token).run_id)
        except databricks_api_errors() as exc:
            raise JobRunError(f"the Databricks build job did not start: {exc}") from exc
        state = run_state(self.jobs_api, run_id)
        run = RecordedRun(run_id, REBUILD, WAREHOUSE, self.build_job_id, state.run_page_url, user, role, now())
        _record(warehouse, run)
        return Rebuild(latest(warehouse, REBUILD) or run, state)


    def _refuse_while_building(self) -> None:
        """Refuse while any run of the build job is active, its schedule's too (which the app did not
        record): ``list_runs(job_id, active_only=True)``, "only active runs are included ... QUEUED,
        PENDING, RUNNING, or TERMINATING" (databricks-sdk 0.162.0 ``JobsAPI.list_runs``). The job's
        ``max_concurrent_runs: 1`` would skip a second run anyway; this says why before it starts."""
        try:
            active = next(iter(self.jobs_api.list_runs(job_id=self.build_job_id, active_only=True, limit=1)), None)
        except databricks_api_errors():
            return  # only a courtesy: the platform still skips a second run, and Home says so
        if active is not None:
            page = f"; {active.run_page_url}" if getattr(active, "run_page_url", None) else ""
            raise JobRunError(f"the build job is already running (run {active.run_id}, started by its schedule or "
                              f"by hand{page}): wait for it to finish")


Runner = ThreadRunner | DatabricksJobsRunner


def uses_jobs(settings: Settings) -> bool:
    """Whether exports and rebuilds run as Databricks Jobs: as a Databricks App on the Databricks engine
    with the job ids bound (app.yaml; Settings refuses one without the other); otherwise on threads of
    this process."""
    return (settings.engine == "databricks" and settings.databricks_app
            and settings.export_job_id is not None and settings.build_job_id is not None)


def start_export(warehouse: Warehouse, request: ExportRequest, *, runner: Runner, user: str, role: str,
                 override_dq_gate: bool = False, workspace: Workspace | None = None) -> str:
    """Queue the export (gates, one compile) and start it with ``runner``; return the job's id.

    A request the runner could not run (a token in a URL on the Jobs runner) is refused before
    anything is queued.
    """
    runner.admit(request)
    queued = jobs.create_job(warehouse, request, user=user, role=role, override_dq_gate=override_dq_gate,
                             workspace=workspace)
    return runner.start_export(warehouse, queued, user=user, role=role)

