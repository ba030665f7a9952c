"""Where this app's exports and rebuilds run (services/runs.py), and Home's view of a rebuild running
as a Databricks Job.

As a Databricks App with the bundle's job ids bound, the runner starts runs of the jobs with the app
service principal's Jobs API client, made once per process; otherwise exports run on threads of
this process and a rebuild in the page, as always. Pages ask ``runner(settings)`` (tests replace it
with one over a fake Jobs API).
"""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import streamlit as st

from components.files import file_stores
from components.text import plain
from components.warehouse import forget_catalog, get_warehouse, warehouse_key
from services import rbac, runs
from services.build import BuildResult, run_pipeline
from services.clock import now
from services.errors import JobRunError, SegmentStudioError
from services.runs import DatabricksJobsRunner, Rebuild, Runner, ThreadRunner
from services.settings import Settings

#: seconds between Home's looks at a running rebuild
REBUILD_POLL_S = 3.0

#: rebuild runs whose success this process has acted on (the caches cleared once each)
_cleared: set[int] = set()
_cleared_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _jobs_api() -> Any:
    """The app's service principal's Jobs API client (``WorkspaceClient().jobs``)."""
    # Imported here, as the engine imports it for the Files API: the SDK takes over a second to
    # import, and only a Databricks App starts jobs. In an App, WorkspaceClient() reads the service
    # principal's DATABRICKS_HOST/CLIENT_ID/CLIENT_SECRET without configuration.
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient().jobs


@st.cache_resource(show_spinner=False)
def _jobs_runner(export_job_id: int, build_job_id: int, exports_on_threads: bool,
                 _here: ThreadRunner) -> DatabricksJobsRunner:
    # One per process: it remembers when it last asked about each run (the Exports page polls each second).
    # (The thread runner is not part of the key: the flag before it says whether it is used.)
    return DatabricksJobsRunner(_jobs_api(), export_job_id, build_job_id,
                                exports_here=_here if exports_on_threads else None)


def _threads(settings: Settings) -> ThreadRunner:
    # As a Databricks App a user's URL may reach only public addresses and the networks the settings allow.
    return ThreadRunner(output_dir=Path(settings.export_dir),
                        private_networks=settings.webhook_private_networks if settings.databricks_app else None,
                        stores=file_stores(settings))


def runner(settings: Settings) -> Runner:
    """The Databricks Jobs runner as a Databricks App with both job ids bound, else threads here.

    On behalf of the user, exports still run here: they must read customer data as the user (their
    row filters and masks apply), and a job runs as the service principal. Rebuilds are the service
    principal's work either way.
    """
    if runs.uses_jobs(settings):
        return _jobs_runner(settings.export_job_id, settings.build_job_id, settings.databricks.identity == "user",
                            _threads(settings))
    return _threads(settings)


# -- Home: a rebuild, as a run of the build job (Databricks) or on a thread here (locally) ----------
def start_rebuild(settings: Settings, *, user: str, role: str) -> None:
    """Start a full refresh where this app runs them; refused while one runs. Either goes on whatever
    the page that started it does."""
    jobs_runner = runner(settings)
    if isinstance(jobs_runner, DatabricksJobsRunner):
        jobs_runner.start_rebuild(get_warehouse(warehouse_key(settings)), user=user, role=role)
    else:
        _start_local_rebuild(settings, user=user, role=role)


def rebuild_progress(settings: Settings) -> None:
    """The newest rebuild: live while it runs, then how it ended."""
    jobs_runner = runner(settings)
    if isinstance(jobs_runner, DatabricksJobsRunner):
        _run_progress(settings, jobs_runner)
    else:
        _local_rebuild_progress(settings)


def _run_progress(settings: Settings, jobs_runner: DatabricksJobsRunner) -> None:
    """The newest rebuild run the app started, polled every few seconds while it runs. Its success
    clears every cached figure once, as a rebuild here does."""
    path = warehouse_key(settings)
    status = jobs_runner.rebuild_status(get_warehouse(path))
    if status is None:
        return
    if status.state.finished:
        _ended(path, status)
        return

    @st.fragment(run_every=REBUILD_POLL_S)
    def live() -> None:
        now = jobs_runner.rebuild_status(get_warehouse(path))
        if now is None or now.state.finished:
            st.rerun()  # the whole page: its figures change with the build
        st.info(f"{_described(now)} is {now.state.state.lower()}. This page follows it; you may leave it, the "
                "rebuild goes on." + _link(now))

    live()


def _rebuilt(path: str) -> None:
    """After a rebuild: every cached figure, and the kept catalog, are read again."""
    st.cache_data.clear()
    forget_catalog(path)


def _described(status: Rebuild) -> str:
    run = status.run
    return (f"The rebuild started by {plain(run.started_by)} at {run.started_ts:%Y-%m-%d %H:%M} UTC "
            f"(Databricks run {run.run_id})")


def _link(status: Rebuild) -> str:
    url = status.state.run_page_url or status.run.run_page_url
    return f" [Open the run]({url})" if url else ""


def _ended(path: str, status: Rebuild) -> None:
    if status.state.succeeded:
        with _cleared_lock:
            fresh = status.run.run_id not in _cleared
            _cleared.add(status.run.run_id)
        if fresh:
            _rebuilt(path)
        st.success(f"{_described(status)} succeeded: every page now shows the rebuilt figures." + _link(status))
    else:
        st.error(f"{_described(status)} {plain(status.state.outcome())}." + _link(status))


# -- Home: a rebuild on a thread of this process (locally) --------------------------------------
#: seconds between Home's looks at a rebuild running here
LOCAL_POLL_S = 1.0


@dataclass
class LocalRebuild:
    """A full refresh running on a thread of this process: it goes on whatever the page that started
    it does (a click elsewhere stops that page's script run, never the thread)."""

    started_by: str
    started_ts: datetime
    step: str = "starting"
    fraction: float = 0.0
    result: BuildResult | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.result is not None or self.error is not None


#: the newest local rebuild per warehouse key
_local: dict[str, LocalRebuild] = {}
_local_lock = threading.Lock()


def _start_local_rebuild(settings: Settings, *, user: str, role: str) -> LocalRebuild:
    """Start a full refresh on a background thread; refused while one runs. Its success clears every
    cached figure, as a run of the build job's does."""
    rbac.require(role, "rebuild_warehouse")
    path = warehouse_key(settings)
    with _local_lock:
        running = _local.get(path)
        if running is not None and not running.finished:
            raise JobRunError(f"a rebuild is already running (started by {running.started_by} at "
                              f"{running.started_ts:%Y-%m-%d %H:%M} UTC, {running.step}): wait for it to finish")
        state = _local[path] = LocalRebuild(user, now())
    warehouse = get_warehouse(path)

    def progress(step: str, fraction: float) -> None:
        state.step, state.fraction = step, min(max(fraction, 0.0), 1.0)

    def work() -> None:
        try:
            result = run_pipeline(warehouse, full_refresh=True, progress=progress)
        except SegmentStudioError as exc:
            state.error = str(exc)
        except Exception as exc:  # whatever stops it, the page must not show it running forever
            state.error = f"{type(exc).__name__}: {exc}"
        else:
            _rebuilt(path)
            state.result = result

    # The copied context carries the caller's query attribution (user, page) onto the thread.
    threading.Thread(target=contextvars.copy_context().run, args=(work,), name="rebuild", daemon=True).start()
    return state


def _local_rebuild_progress(settings: Settings) -> None:
    """The newest rebuild started here: live while it runs, then how it ended."""
    path = warehouse_key(settings)
    state = _local.get(path)
    if state is None:
        return
    if state.finished:
        _local_ended(state)
        return

    @st.fragment(run_every=LOCAL_POLL_S)
    def live() -> None:
        if state.finished:
            st.rerun()  # the whole page: its figures change with the build
        st.progress(state.fraction, text=state.step)
        st.caption(f"Started by {plain(state.started_by)} at {state.started_ts:%H:%M:%S} UTC. You may leave this "
                   "page: the rebuild goes on, and Home shows how it ended.")

    live()


def _local_ended(state: LocalRebuild) -> None:
    if state.result is not None:
        result = state.result
        st.success(f"Rebuilt in {result.seconds:.1f} s: {result.gold_rows:,} customers, as of {result.as_of_date} "
                   f"(started by {plain(state.started_by)} at {state.started_ts:%H:%M} UTC).")
    else:
        st.error(f"The rebuild started by {plain(state.started_by)} at {state.started_ts:%H:%M} UTC failed: "
                 f"{plain(state.error)}")
