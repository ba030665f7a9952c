"""A Jobs API (``WorkspaceClient().jobs``) that runs the bundle's jobs here, for the runner's tests.

``run_now`` records each call and, as the real API does for an idempotency token it has seen,
returns the run that token started. Runs answer ``get_run`` with the SDK's own types (``Run``,
``RunStatus``, ``RunLifecycleStateV2State``, ``TerminationDetails``; databricks-sdk 0.162.0
``databricks/sdk/service/jobs.py``). A test moves a run on: ``execute`` runs the command the
bundle's task would (databricks.yml, its ``{{job.parameters.x}}`` references filled from the run's
job parameters) through ``jobs/run_cli.py``'s split and the CLI's ``main``, in this process, against
the test's DuckDB warehouse, and ends the run as the exit code says; ``terminate`` ends it as the
platform would (a cancel, a timeout, a crash before the command ran).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from databricks.sdk.service._internal import Wait
from databricks.sdk.service.jobs import (
    BaseRun,
    Run,
    RunLifecycleStateV2State,
    RunNowResponse,
    RunStatus,
    TerminationCodeCode,
    TerminationDetails,
    TerminationTypeType,
)

from jobs.run_cli import split
from services.cli import main

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = yaml.safe_load((ROOT / "databricks.yml").read_text(encoding="utf-8"))
#: the ids the fake gives the bundle's jobs
JOB_IDS = {"export_run": 101, "gold_build": 102, "sync_due": 103}


@dataclass
class FakeRun:
    run_id: int
    job_id: int
    parameters: dict[str, str]
    state: RunLifecycleStateV2State = RunLifecycleStateV2State.QUEUED
    details: TerminationDetails | None = None
    output: str = ""


@dataclass
class FakeJobs:
    #: the DuckDB file the commands run against, and where exports write
    warehouse: Path
    export_dir: Path
    calls: list[tuple[int, dict, str | None]] = field(default_factory=list)
    runs: dict[int, FakeRun] = field(default_factory=dict)
    _tokens: dict[str, int] = field(default_factory=dict)
    #: raise this from run_now (a refused start)
    refuse: Exception | None = None

    # -- the API -----------------------------------------------------------------------------
    def run_now(self, *, job_id: int, job_parameters: dict[str, str] | None = None,
                idempotency_token: str | None = None, **_) -> Wait:
        self.calls.append((job_id, dict(job_parameters or {}), idempotency_token))
        if self.refuse is not None:
            raise self.refuse
        if idempotency_token is not None and idempotency_token in self._tokens:
            run_id = self._tokens[idempotency_token]
        else:
            run_id = 9000 + len(self.runs)
            self.runs[run_id] = FakeRun(run_id, job_id, dict(job_parameters or {}))
            if idempotency_token is not None:
                self._tokens[idempotency_token] = run_id
        return Wait(lambda **kw: None, response=RunNowResponse(run_id=run_id), run_id=run_id)

    def get_run(self, run_id: int, **_) -> Run:
        run = self.runs[run_id]
        return Run(run_id=run_id, job_id=run.job_id, run_page_url=f"https://example.cloud.databricks.com/jobs/"
                   f"{run.job_id}/runs/{run_id}", status=RunStatus(state=run.state, termination_details=run.details))

    def list_runs(self, *, job_id: int | None = None, active_only: bool | None = None, **_) -> Iterator[BaseRun]:
        """Newest first; ``active_only``: runs QUEUED, PENDING, RUNNING or TERMINATING (the SDK's docstring)."""
        for run in sorted(self.runs.values(), key=lambda r: -r.run_id):
            if job_id is not None and run.job_id != job_id:
                continue
            if active_only and run.state == RunLifecycleStateV2State.TERMINATED:
                continue
            yield BaseRun(run_id=run.run_id, job_id=run.job_id, run_page_url=self.get_run(run.run_id).run_page_url,
                          status=RunStatus(state=run.state, termination_details=run.details))

    # -- moving a run on -----------------------------------------------------------------------
    def start(self, run_id: int) -> None:
        self.runs[run_id].state = RunLifecycleStateV2State.RUNNING

    def command(self, run_id: int) -> tuple[dict[str, str], list[str]]:
        """The settings and the CLI command the run's task runs (its job's, parameters filled in)."""
        run = self.runs[run_id]
        key = next(k for k, v in JOB_IDS.items() if v == run.job_id)
        job = BUNDLE["resources"]["jobs"][key]
        values = {p["name"]: p["default"] for p in job.get("parameters", [])} | run.parameters
        [task] = job["tasks"]
        parameters = [re.sub(r"\{\{job\.parameters\.([a-z_]+)\}\}", lambda m: values[m.group(1)], str(p))
                      for p in task["spark_python_task"]["parameters"]]
        parameters = [re.sub(r"\$\{var\.([a-z_]+)\}", lambda m: str(BUNDLE["variables"][m.group(1)].get("default", "w-1")),
                             p.replace("${workspace.file_path}", str(ROOT))) for p in parameters]
        return split(parameters)

    def execute(self, run_id: int) -> int:
        """Run the task's command here, as the job would (on DuckDB), and end the run as it exits."""
        self.start(run_id)
        settings, command = self.command(run_id)
        # The engine switched to the test's DuckDB file (the environment wins over the settings file).
        env = {**os.environ, **settings, "SEGMENT_STUDIO_ENGINE": "duckdb", "SEGMENT_STUDIO_WAREHOUSE": str(self.warehouse),
               "SEGMENT_STUDIO_EXPORT_DIR": str(self.export_dir)}
        code = main(command, env=env)
        if code == 0:
            self.terminate(run_id, TerminationCodeCode.SUCCESS, "", TerminationTypeType.SUCCESS)
        else:
            self.terminate(run_id, TerminationCodeCode.RUN_EXECUTION_ERROR, f"Task {command[0]} failed with exit "
                           f"code {code}", TerminationTypeType.CLIENT_ERROR)
        return code

    def terminate(self, run_id: int, code: TerminationCodeCode, message: str,
                  kind: TerminationTypeType = TerminationTypeType.CLIENT_ERROR) -> None:
        self.runs[run_id].state = RunLifecycleStateV2State.TERMINATED
        self.runs[run_id].details = TerminationDetails(code=code, message=message, type=kind)
