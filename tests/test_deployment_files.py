"""The deployment files parse and name only commands, settings and files that exist."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from services.cli import parser
from services.exports.destinations import options_in_use
from services.runs import uses_jobs
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
APP = yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))
BUNDLE = yaml.safe_load((ROOT / "databricks.yml").read_text(encoding="utf-8"))
JOBS = BUNDLE["resources"]["jobs"]
DOC = (ROOT / "docs" / "deploy-databricks.md").read_text(encoding="utf-8")


class RecordingEnv(dict):
    """An environment that remembers every name Settings asked for."""

    def __init__(self, values):
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def names_read_by_settings(values: dict[str, str]) -> set[str]:
    env = RecordingEnv(values)
    Settings.from_env(env)
    return env.read


def job_parameters(job: dict) -> list[list[str]]:
    return [task["spark_python_task"]["parameters"] for task in job["tasks"]]


def with_job_parameters(job: dict, command: list[str], **given: str) -> list[str]:
    """``command`` with each ``{{job.parameters.x}}`` as the job passes it: the value given, else the
    parameter's default (docs.databricks.com/aws/en/jobs/dynamic-value-references)."""
    values = {p["name"]: p["default"] for p in job.get("parameters", [])} | given
    return [re.sub(r"\{\{job\.parameters\.([a-z_]+)\}\}", lambda m: values[m.group(1)], c) for c in command]


def split(parameters: list[str]) -> tuple[dict[str, str], list[str]]:
    from jobs.run_cli import split as run_cli_split

    return run_cli_split([str(p) for p in parameters])


def local(value: str) -> Path:
    """A bundle path (``${workspace.file_path}/x`` or ``./x``) as the file in this checkout."""
    return ROOT / value.replace("${workspace.file_path}/", "").removeprefix("./")


def bound(resource: str) -> str:
    """What Databricks Apps puts in a ``valueFrom`` variable: a warehouse's id, a volume's path, a job's id
    (https://learn.microsoft.com/azure/databricks/dev-tools/databricks-apps/environment-variables)."""
    return {"sql-warehouse": "w-123", "staging-volume": "/Volumes/segment_studio/app/staging",
            "exports-volume": "/Volumes/segment_studio/exports/files",
            "webhook-auth": "Authorization: Bearer from-the-secret", "export-job": "1234",
            "build-job": "5678"}[resource]


# -- app.yaml ----------------------------------------------------------------
def test_app_command_runs_streamlit_on_the_apps_port():
    command = APP["command"]
    assert command[:3] == ["streamlit", "run", "app.py"]
    assert (ROOT / command[2]).is_file()
    assert command[command.index("--server.port") + 1] == "$DATABRICKS_APP_PORT"


def test_every_app_env_var_is_read_by_settings():
    values = {e["name"]: e.get("value") or bound(e["valueFrom"]) for e in APP["env"]}
    values["SEGMENT_STUDIO_SETTINGS_FILE"] = str(ROOT / values["SEGMENT_STUDIO_SETTINGS_FILE"])
    # A destination option's secret (the webhook auth header) is read by the option, never kept in Settings.
    option_secrets = {option.env for option in options_in_use() if option.env and option.secret}
    unread = set(values) - names_read_by_settings(values) - option_secrets
    assert unread == set()
    assert set(values) & option_secrets == {"SEGMENT_STUDIO_WEBHOOK_AUTH"}


def test_app_settings_choose_databricks_and_the_settings_file_exists():
    path = ROOT / next(e["value"] for e in APP["env"] if e["name"] == "SEGMENT_STUDIO_SETTINGS_FILE")
    assert path.is_file()
    settings = Settings.from_env({e["name"]: e.get("value") or bound(e["valueFrom"]) for e in APP["env"]}
                                 | {"SEGMENT_STUDIO_SETTINGS_FILE": str(path)})
    assert settings.engine == "databricks"
    assert settings.databricks.resolved_http_path == "/sql/1.0/warehouses/w-123"
    assert (settings.export_job_id, settings.build_job_id) == (1234, 5678)
    # As a Databricks App (the platform sets DATABRICKS_APP_NAME) exports and rebuilds run as those jobs.
    app = Settings.from_env({e["name"]: e.get("value") or bound(e["valueFrom"]) for e in APP["env"]}
                            | {"SEGMENT_STUDIO_SETTINGS_FILE": str(path), "DATABRICKS_APP_NAME": "segment-studio"})
    assert uses_jobs(app) and not uses_jobs(settings)


def test_value_from_names_a_resource_of_the_app():
    bound = {e["valueFrom"] for e in APP["env"] if "valueFrom" in e}
    app = BUNDLE["resources"]["apps"]["segment_studio"]
    resources = {r["name"]: r for r in app["resources"]}
    assert bound == {"sql-warehouse", "staging-volume", "exports-volume", "webhook-auth", "export-job", "build-job"}
    assert bound <= resources.keys()
    # The app starts and watches runs of the bundle's own jobs (run_now, get_run need CAN_MANAGE_RUN).
    assert resources["export-job"]["job"] == {"id": "${resources.jobs.export_run.id}", "permission": "CAN_MANAGE_RUN"}
    assert resources["build-job"]["job"] == {"id": "${resources.jobs.gold_build.id}", "permission": "CAN_MANAGE_RUN"}
    secret = resources["webhook-auth"]["secret"]
    assert secret["permission"] == "READ"  # valueFrom gives the decrypted value
    assert resources["sql-warehouse"]["sql_warehouse"]["permission"] == "CAN_USE"
    for name in ("staging-volume", "exports-volume"):
        volume = resources[name]["uc_securable"]
        assert (volume["securable_type"], volume["permission"]) == ("VOLUME", "WRITE_VOLUME")


def test_the_jobs_stage_in_the_volume_the_app_is_bound_to():
    app = BUNDLE["resources"]["apps"]["segment_studio"]
    [volume] = [r["uc_securable"]["securable_full_name"] for r in app["resources"] if r["name"] == "staging-volume"]
    default = BUNDLE["variables"]["staging_volume"]["default"]
    for job in JOBS.values():
        for parameters in job_parameters(job):
            assert split(parameters)[0]["SEGMENT_STUDIO_VOLUME"] == volume == "${var.staging_volume}"
    # The bundle names the volume catalog.schema.volume; the setting takes that as its /Volumes path.
    settings = Settings.from_env({"SEGMENT_STUDIO_VOLUME": default})
    assert settings.databricks.volume == "/Volumes/" + default.replace(".", "/")


def test_export_files_go_to_the_exports_volume_in_the_app_and_the_jobs():
    """The app's disk is lost at every restart: its export folder is the exports-volume resource, bound by
    valueFrom (a UC volume resolves to its /Volumes/... path), and the jobs write the same volume."""
    app = BUNDLE["resources"]["apps"]["segment_studio"]
    resources = {r["name"]: r for r in app["resources"]}
    volume = resources["exports-volume"]["uc_securable"]
    assert volume["securable_full_name"] == "${var.exports_volume}"
    assert {e["name"]: e.get("valueFrom") for e in APP["env"]}["SEGMENT_STUDIO_EXPORT_DIR"] == "exports-volume"
    default = BUNDLE["variables"]["exports_volume"]["default"]
    assert default != BUNDLE["variables"]["staging_volume"]["default"]
    path = "/Volumes/" + default.replace(".", "/")
    app_settings = Settings.from_env({e["name"]: e.get("value") or bound(e["valueFrom"]) for e in APP["env"]}
                                     | {"SEGMENT_STUDIO_SETTINGS_FILE": str(ROOT / "deploy" / "segment_studio.toml")})
    assert app_settings.export_dir == Path(bound("exports-volume"))
    assert app_settings.exports_volume == bound("exports-volume")
    for job in JOBS.values():
        for parameters in job_parameters(job):
            given = split(parameters)[0]["SEGMENT_STUDIO_EXPORT_DIR"]
            assert given == "${var.exports_volume}"
            # The bundle names the volume catalog.schema.volume; the setting takes that as its /Volumes path.
            settings = Settings.from_env({"SEGMENT_STUDIO_EXPORT_DIR": given.replace("${var.exports_volume}", default)})
            assert settings.export_dir == Path(path) and settings.exports_volume == path


# -- databricks.yml ----------------------------------------------------------
def test_every_bundle_variable_used_is_declared():
    text = (ROOT / "databricks.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{var\.([a-z_]+)\}", text))
    assert used and used <= BUNDLE["variables"].keys()


def test_the_app_source_is_this_folder():
    app = BUNDLE["resources"]["apps"]["segment_studio"]
    assert (local(app["source_code_path"]) / "app.yaml").is_file()


@pytest.mark.parametrize("job_name", sorted(JOBS))
def test_job_files_exist(job_name):
    job = JOBS[job_name]
    for task in job["tasks"]:
        assert local(task["spark_python_task"]["python_file"]).is_file()
        env = {e["environment_key"]: e for e in job["environments"]}[task["environment_key"]]
        for dependency in env["spec"]["dependencies"]:
            assert dependency.startswith("-r ") and local(dependency[3:]).is_file()


@pytest.mark.parametrize("job_name", sorted(JOBS))
def test_job_settings_are_read_by_settings(job_name):
    for parameters in job_parameters(JOBS[job_name]):
        settings, _ = split(parameters)
        assert set(settings) - names_read_by_settings({}) == set()
        assert local(settings["SEGMENT_STUDIO_SETTINGS_FILE"]).is_file()


@pytest.mark.parametrize("job_name", sorted(JOBS))
def test_job_commands_parse_with_the_cli(job_name):
    commands = parser()._subparsers._group_actions[0].choices
    for parameters in job_parameters(JOBS[job_name]):
        _, command = split(parameters)
        command = with_job_parameters(JOBS[job_name], command, export_job="exp-0123456789ab")
        command = [re.sub(r"\$\{var\.([a-z_]+)\}", lambda m: str(BUNDLE["variables"][m.group(1)]["default"]), c)
                   for c in command]
        assert command[0] in commands
        args = parser().parse_args(command)
        assert args.command == command[0]


def test_the_build_job_runs_the_build_command():
    [parameters] = job_parameters(JOBS["gold_build"])
    assert split(parameters)[1][0] == "build"
    [parameters] = job_parameters(JOBS["sync_due"])
    assert split(parameters)[1][:1] == ["sync-due"]


def test_the_build_job_takes_full_refresh_as_a_job_parameter_false_by_default():
    job = JOBS["gold_build"]
    assert job["parameters"] == [{"name": "full_refresh", "default": "false"}]
    [parameters] = job_parameters(job)
    command = split(parameters)[1]
    assert command[command.index("--full-refresh") + 1] == "{{job.parameters.full_refresh}}"
    assert parser().parse_args(with_job_parameters(job, command)).full_refresh is False
    assert parser().parse_args(with_job_parameters(job, command, full_refresh="true")).full_refresh is True


def test_the_export_job_runs_the_export_job_it_is_given():
    job = JOBS["export_run"]
    assert job["parameters"] == [{"name": "export_job", "default": ""}]
    [parameters] = job_parameters(job)
    settings, command = split(parameters)
    assert command == ["run-export", "{{job.parameters.export_job}}", "--quiet"]
    # The webhook auth header comes from the secret, as the scheduled sync's does.
    assert settings["SEGMENT_STUDIO_WEBHOOK_AUTH_SECRET"] == split(job_parameters(JOBS["sync_due"])[0])[0][
        "SEGMENT_STUDIO_WEBHOOK_AUTH_SECRET"]
    assert parser().parse_args(with_job_parameters(job, command, export_job="exp-1")).job_id == "exp-1"


# Databricks Asset Bundle settings, from the bundle docs and the SDK's job and app types:
# environment_version replaces the deprecated client (compute.Environment; serverless environment 2
# is Python 3.11, docs.databricks.com/aws/release-notes/serverless/environment-version);
# JobSettings.timeout_seconds ("0 means no timeout"); JobEmailNotifications.on_failure;
# run_as (docs.databricks.com/dev-tools/bundles/run-as.html); app permission levels CAN_USE and
# CAN_MANAGE, job levels CAN_MANAGE, CAN_MANAGE_RUN, CAN_VIEW, IS_OWNER
# (docs.databricks.com/en/dev-tools/bundles/permissions.html).
@pytest.mark.parametrize("job_name", sorted(JOBS))
def test_jobs_use_the_serverless_environment_of_the_projects_python(job_name):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.12"
    for environment in JOBS[job_name]["environments"]:
        spec = environment["spec"]
        assert "client" not in spec
        assert spec["environment_version"] == "2"  # Python 3.11


@pytest.mark.parametrize("job_name", sorted(JOBS))
def test_jobs_time_out_alert_on_failure_and_run_one_at_a_time(job_name):
    job = JOBS[job_name]
    assert 0 < job["timeout_seconds"] <= 4 * 3600
    assert job["email_notifications"]["on_failure"] == ["${var.alert_email}"]
    assert "default" not in BUNDLE["variables"]["alert_email"]  # each deploy says who is told
    # Exports of different jobs run side by side (one export job is one run: its idempotency token).
    assert job["max_concurrent_runs"] == (8 if job_name == "export_run" else 1)
    assert {(p["group_name"], p["level"]) for p in job["permissions"]} == {("${var.admins_group}", "CAN_MANAGE_RUN")}


def test_prod_jobs_run_as_the_service_principal():
    run_as = BUNDLE["targets"]["prod"]["run_as"]
    assert run_as == {"service_principal_name": "${var.run_as_service_principal}"}
    assert "default" not in BUNDLE["variables"]["run_as_service_principal"]


def test_the_app_says_who_may_use_and_manage_it():
    permissions = BUNDLE["resources"]["apps"]["segment_studio"]["permissions"]
    assert {p["level"] for p in permissions} <= {"CAN_USE", "CAN_MANAGE"}
    assert {(p["group_name"], p["level"]) for p in permissions} == {("${var.users_group}", "CAN_USE"),
                                                                    ("${var.admins_group}", "CAN_MANAGE")}


def test_the_job_entry_point_runs_the_cli_with_its_settings(tmp_path):
    script = ROOT / "jobs" / "run_cli.py"
    refused = subprocess.run([sys.executable, str(script), "SEGMENT_STUDIO_ENGINE=postgres", "--", "status"],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert refused.returncode == 2 and "not an engine" in refused.stderr
    ran = subprocess.run([sys.executable, str(script), f"SEGMENT_STUDIO_WAREHOUSE={tmp_path / 'w.duckdb'}", "--",
                          "status"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "engine: DuckDB" in ran.stdout


# -- requirements ------------------------------------------------------------
def requirement_names(lines) -> set[str]:
    return {re.split(r"[<>=!~ ]", line.strip(), maxsplit=1)[0].lower() for line in lines
            if line.strip() and not line.strip().startswith("#")}


def test_requirements_are_pinned_and_mirror_pyproject():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    for line in lines:
        assert "==" in line or "<" in line, f"unpinned: {line}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert requirement_names(lines) == requirement_names(project["dependencies"])
    assert {"databricks-sql-connector", "databricks-sdk"} <= requirement_names(lines)
    assert "pyspark" not in requirement_names(lines)


# -- the guide ---------------------------------------------------------------
def test_the_guide_names_every_setting_and_the_grants():
    for name in ["SEGMENT_STUDIO_ENGINE", "SEGMENT_STUDIO_SETTINGS_FILE", "DATABRICKS_WAREHOUSE_ID",
                 "DATABRICKS_HOST", "DATABRICKS_HTTP_PATH", "SEGMENT_STUDIO_IDENTITY", "SEGMENT_STUDIO_CATALOG",
                 "SEGMENT_STUDIO_SCHEMA_TXN", "SEGMENT_STUDIO_STATEMENT_TIMEOUT", "SEGMENT_STUDIO_CONNECT_TIMEOUT",
                 "SEGMENT_STUDIO_RETRIES", "SEGMENT_STUDIO_VOLUME", "SEGMENT_STUDIO_EXPORT_DIR"]:
        assert name in DOC, name
    for grant in ["USE CATALOG", "USE SCHEMA", "SELECT", "MODIFY", "CREATE TABLE", "CAN USE", "READ VOLUME",
                  "WRITE VOLUME", "CREATE VOLUME"]:
        assert grant in DOC, grant
    # Both volumes are created, and the jobs' identity may write each (the app's gets it from its resources).
    text = re.sub(r"\s+", " ", DOC)
    for variable in ("staging_volume", "exports_volume"):
        volume = BUNDLE["variables"][variable]["default"]
        assert f"CREATE VOLUME IF NOT EXISTS {volume};" in text, volume
        assert f"GRANT READ VOLUME, WRITE VOLUME ON VOLUME {volume} TO `job-runner`;" in text, volume
    for command in ["databricks bundle validate", "databricks bundle deploy", "databricks bundle run"]:
        assert command in DOC, command
