"""Settings from the environment and a TOML settings file."""

from __future__ import annotations

import pytest

from services import naming
from services.errors import ConfigError
from services.settings import DEFAULT_WAREHOUSE, Settings
from services.warehouse.placement import Location


def test_defaults_are_todays_duckdb_and_the_seed_schema_names():
    settings = Settings.from_env({})
    assert settings.engine == "duckdb"
    assert settings.warehouse_path == DEFAULT_WAREHOUSE
    for source in naming.ALL_SCHEMAS:
        assert settings.databricks.placement.location(naming.schema(source)) == Location(None, naming.schema(source))


def test_databricks_from_the_environment():
    settings = Settings.from_env({
        "SEGMENT_STUDIO_ENGINE": "databricks", "DATABRICKS_HOST": "https://adb-1.2.azuredatabricks.net",
        "DATABRICKS_WAREHOUSE_ID": "w1", "SEGMENT_STUDIO_IDENTITY": "user", "SEGMENT_STUDIO_CATALOG": "retail",
        "SEGMENT_STUDIO_SCHEMA_TXN": "pos.transactions", "SEGMENT_STUDIO_SCHEMA_GOLD": "studio_gold",
        "SEGMENT_STUDIO_STATEMENT_TIMEOUT": "120",
    })
    db = settings.databricks
    assert settings.engine == "databricks"
    assert (db.hostname, db.resolved_http_path, db.identity) == ("adb-1.2.azuredatabricks.net", "/sql/1.0/warehouses/w1", "user")
    assert db.placement.location(naming.schema("txn")) == Location("pos", "transactions")
    assert db.placement.location(naming.schema("gold")) == Location("retail", "studio_gold")
    assert db.placement.location(naming.schema("ops")) == Location("retail", naming.schema("ops"))
    assert db.statement_timeout_seconds == 120
    assert db.volume is None


@pytest.mark.parametrize("given", ["/Volumes/retail/app/staging", "/Volumes/retail/app/staging/",
                                   "retail.app.staging"])
def test_the_staging_volume_is_a_volume_path_however_it_is_named(given):
    assert Settings.from_env({"SEGMENT_STUDIO_VOLUME": given}).databricks.volume == "/Volumes/retail/app/staging"


@pytest.mark.parametrize(("given", "folder", "volume"), [
    pytest.param("/Volumes/retail/exports/files", "/Volumes/retail/exports/files", "/Volumes/retail/exports/files",
                 id="volume-path"),
    pytest.param("retail.exports.files", "/Volumes/retail/exports/files", "/Volumes/retail/exports/files",
                 id="volume-name"),
    pytest.param("/Volumes/retail/exports/files/campaigns/", "/Volumes/retail/exports/files/campaigns",
                 "/Volumes/retail/exports/files", id="folder-in-a-volume"),
    pytest.param("/srv/exports", "/srv/exports", None, id="local-folder"),
    pytest.param("exports", "exports", None, id="relative-folder"),
])
def test_the_export_folder_is_a_local_folder_or_a_folder_in_a_volume(given, folder, volume):
    settings = Settings.from_env({"SEGMENT_STUDIO_EXPORT_DIR": given})
    assert (str(settings.export_dir), settings.exports_volume) == (folder, volume)
    assert Settings.from_env({}).exports_volume is None


def test_latency_and_round_trip_trace_are_off_unless_asked_for(tmp_path):
    assert (Settings.from_env({}).latency_ms, Settings.from_env({}).round_trip_trace) == (0.0, None)
    settings = Settings.from_env({"SEGMENT_STUDIO_LATENCY_MS": "250",
                                  "SEGMENT_STUDIO_ROUND_TRIP_TRACE": str(tmp_path / "trips.tsv")})
    assert (settings.latency_ms, settings.round_trip_trace) == (250.0, tmp_path / "trips.tsv")


def test_settings_file_under_the_environment(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text('engine = "databricks"\n[databricks]\nwarehouse_id = "from-file"\ncatalog = "retail"\n'
                    'statement_timeout_seconds = 90\n[databricks.schemas]\ntxn = "pos.transactions"\n')
    settings = Settings.from_env({"SEGMENT_STUDIO_SETTINGS_FILE": str(path), "DATABRICKS_WAREHOUSE_ID": "from-env"})
    assert settings.engine == "databricks"
    assert settings.databricks.warehouse_id == "from-env"
    assert settings.databricks.statement_timeout_seconds == 90
    assert settings.databricks.placement.location(naming.schema("txn")) == Location("pos", "transactions")
    assert Settings.from_env({"SEGMENT_STUDIO_SETTINGS_FILE": str(path), "SEGMENT_STUDIO_ENGINE": "duckdb"}).engine == "duckdb"


@pytest.mark.parametrize("env, message", [
    pytest.param({"SEGMENT_STUDIO_ENGINE": "postgres"}, "not an engine; use duckdb, databricks, spark", id="engine"),
    pytest.param({"SEGMENT_STUDIO_IDENTITY": "admin"}, "not an identity mode", id="identity"),
    pytest.param({"SEGMENT_STUDIO_SCHEMA_TXN": "a.b.c"}, "has 3 parts", id="three-parts"),
    pytest.param({"SEGMENT_STUDIO_SCHEMA_GOLD": "gold; drop"}, "not a catalog or schema name", id="bad-name"),
    pytest.param({"SEGMENT_STUDIO_CATALOG": "re tail"}, "not a catalog or schema name", id="bad-catalog"),
    pytest.param({"SEGMENT_STUDIO_STATEMENT_TIMEOUT": "soon"}, "must be a whole number", id="timeout-text"),
    pytest.param({"SEGMENT_STUDIO_RETRIES": "100"}, "between 1 and 60", id="retries-range"),
    pytest.param({"SEGMENT_STUDIO_CONNECT_TIMEOUT": "1"}, "between 5 and 3600", id="connect-range"),
    pytest.param({"SEGMENT_STUDIO_VOLUME": "/tmp/staging"}, "not a Unity Catalog volume", id="volume-path"),
    pytest.param({"SEGMENT_STUDIO_VOLUME": "/Volumes/retail/app"}, "not a Unity Catalog volume", id="volume-short"),
    pytest.param({"SEGMENT_STUDIO_VOLUME": "retail.app.st aging"}, "not a Unity Catalog volume", id="volume-name"),
    pytest.param({"SEGMENT_STUDIO_EXPORT_DIR": "/Volumes/retail/exports"}, "SEGMENT_STUDIO_EXPORT_DIR=.* not a Unity "
                 "Catalog volume.*exports-volume", id="export-volume-short"),
    pytest.param({"SEGMENT_STUDIO_SETTINGS_FILE": "/nonexistent/settings.toml"}, "cannot read it", id="no-file"),
    pytest.param({"SEGMENT_STUDIO_LATENCY_MS": "slow"}, "number of milliseconds", id="latency-text"),
    pytest.param({"SEGMENT_STUDIO_LATENCY_MS": "-5"}, "cannot be negative", id="latency-negative"),
])
def test_bad_values_are_config_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize("text, message", [
    pytest.param("engine = ", "not valid TOML", id="toml"),
    pytest.param("warehouse = 'x'\n", "unknown settings", id="unknown-top"),
    pytest.param("[databricks]\nwarehouse = 'x'\n", r"unknown keys in the \[databricks\]", id="unknown-key"),
    pytest.param("[databricks.schemas]\nloyalty = 'x'\n", "unknown sources", id="unknown-source"),
    pytest.param("[databricks]\nhost = 3\n", "must be text", id="not-text"),
])
def test_bad_files_are_config_errors(tmp_path, text, message):
    path = tmp_path / "settings.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"SEGMENT_STUDIO_SETTINGS_FILE": str(path)})


def test_missing_warehouse_and_host_say_what_to_set():
    settings = Settings.from_env({"SEGMENT_STUDIO_ENGINE": "databricks"}).databricks
    with pytest.raises(ConfigError, match="DATABRICKS_WAREHOUSE_ID"):
        _ = settings.resolved_http_path
    with pytest.raises(ConfigError, match="DATABRICKS_HOST"):
        _ = settings.hostname
