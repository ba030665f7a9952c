"""Databricks settings: which warehouse, as whom, and where each schema lives.

Read by ``Settings.from_env`` from the environment and, under it, from the
``[databricks]`` table of a TOML settings file; the environment wins, so
app.yaml can override a file committed with the bundle. Every name below is
documented in docs/deploy-databricks.md.

Environment                      settings file ``[databricks]``
DATABRICKS_HOST                  host
DATABRICKS_WAREHOUSE_ID          warehouse_id      (app.yaml: valueFrom sql-warehouse)
DATABRICKS_HTTP_PATH             http_path         (default /sql/1.0/warehouses/<id>)
SEGMENT_STUDIO_IDENTITY          identity          service_principal | user
SEGMENT_STUDIO_CATALOG           catalog           default catalog of every schema
SEGMENT_STUDIO_SCHEMA_<SOURCE>   [databricks.schemas] <source> = "catalog.schema" or "schema"
SEGMENT_STUDIO_STATEMENT_TIMEOUT statement_timeout_seconds
SEGMENT_STUDIO_CONNECT_TIMEOUT   connect_timeout_seconds
SEGMENT_STUDIO_RETRIES           retries
SEGMENT_STUDIO_VOLUME            volume            /Volumes/<catalog>/<schema>/<volume> or
                                                   <catalog>.<schema>.<volume> (app.yaml:
                                                   valueFrom staging-volume)

The volume is where bulk rows are staged as Parquet on their way into a
table (``COPY INTO``): a Unity Catalog volume the app's identity may write
(WRITE VOLUME). A Databricks App gets its path from a volume resource
(``valueFrom`` resolves a UC volume to its ``/Volumes/...`` path,
https://learn.microsoft.com/azure/databricks/dev-tools/databricks-apps/environment-variables).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services import naming
from services.errors import ConfigError
from services.warehouse.placement import Location, Placement

IDENTITIES = ("service_principal", "user")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_FILE_KEYS = {"host", "warehouse_id", "http_path", "identity", "catalog", "schemas",
              "statement_timeout_seconds", "connect_timeout_seconds", "retries", "volume"}
_VOLUME = re.compile(r"^/Volumes(/[A-Za-z0-9_][A-Za-z0-9_-]*){3}(/[A-Za-z0-9_.-]+)*$")


@dataclass(frozen=True)
class DatabricksSettings:
    host: str | None = None
    warehouse_id: str | None = None
    http_path: str | None = None
    #: whose rights the queries run with: the app's service principal, or the signed-in user's
    identity: str = "service_principal"
    catalog: str | None = None
    placement: Placement = Placement()
    #: server-side STATEMENT_TIMEOUT: a runaway query is cancelled by the warehouse
    statement_timeout_seconds: int = 300
    #: bound on retrying one request (opening a session on a cold warehouse included)
    connect_timeout_seconds: int = 60
    #: attempts per request before giving up, within connect_timeout_seconds
    retries: int = 3
    #: Unity Catalog volume (``/Volumes/<catalog>/<schema>/<volume>``) where bulk rows are staged
    volume: str | None = None

    @property
    def hostname(self) -> str:
        """The host without scheme or trailing slash, as the SQL connector wants it."""
        if not self.host:
            raise ConfigError("DATABRICKS_HOST is not set: the workspace URL, e.g. https://adb-123.4.azuredatabricks.net "
                              "(Databricks Apps sets it for you)")
        return bare_hostname(self.host)

    @property
    def resolved_http_path(self) -> str:
        if self.http_path:
            return self.http_path
        if self.warehouse_id:
            return f"/sql/1.0/warehouses/{self.warehouse_id}"
        raise ConfigError("no SQL warehouse configured: set DATABRICKS_WAREHOUSE_ID (app.yaml binds it from the "
                          "sql-warehouse resource) or DATABRICKS_HTTP_PATH")

    @classmethod
    def from_sources(cls, env: Mapping[str, str], *, file: Mapping[str, Any] | None = None) -> DatabricksSettings:
        file = dict(file or {})
        unknown = set(file) - _FILE_KEYS
        if unknown:
            raise ConfigError(f"unknown keys in the [databricks] settings: {sorted(unknown)}; "
                              f"expected some of {sorted(_FILE_KEYS)}")

        def text(env_name: str, key: str) -> str | None:
            value = env.get(env_name) or file.get(key)
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{key} in the [databricks] settings must be text, got {value!r}")
            return value or None

        def seconds(env_name: str, key: str, default: int, *, low: int, high: int) -> int:
            raw = env.get(env_name) or file.get(key)
            if raw in (None, ""):
                return default
            try:
                value = int(raw)
            except (TypeError, ValueError):
                raise ConfigError(f"{env_name} ({key}) must be a whole number, got {raw!r}") from None
            if not low <= value <= high:
                raise ConfigError(f"{env_name} ({key}) must be between {low} and {high}, got {value}")
            return value

        identity = text("SEGMENT_STUDIO_IDENTITY", "identity") or "service_principal"
        if identity not in IDENTITIES:
            raise ConfigError(f"SEGMENT_STUDIO_IDENTITY={identity!r} is not an identity mode; "
                              "use service_principal (the app's own) or user (on behalf of the signed-in user)")
        catalog = text("SEGMENT_STUDIO_CATALOG", "catalog")
        if catalog is not None:
            _check_name(catalog, "SEGMENT_STUDIO_CATALOG")
        return cls(
            host=text("DATABRICKS_HOST", "host"),
            warehouse_id=text("DATABRICKS_WAREHOUSE_ID", "warehouse_id"),
            http_path=text("DATABRICKS_HTTP_PATH", "http_path"),
            identity=identity,
            catalog=catalog,
            placement=_placement(env, file.get("schemas") or {}, catalog),
            # The connector refuses retry bounds outside 1..86400 s and 1..60 attempts.
            statement_timeout_seconds=seconds("SEGMENT_STUDIO_STATEMENT_TIMEOUT", "statement_timeout_seconds", 300,
                                              low=1, high=172800),
            connect_timeout_seconds=seconds("SEGMENT_STUDIO_CONNECT_TIMEOUT", "connect_timeout_seconds", 60,
                                            low=5, high=3600),
            retries=seconds("SEGMENT_STUDIO_RETRIES", "retries", 3, low=1, high=60),
            volume=volume_path(text("SEGMENT_STUDIO_VOLUME", "volume")),
        )


def bare_hostname(host: str) -> str:
    return re.sub(r"^https?://", "", host).rstrip("/")


def volume_path(path: str | None, *, setting: str = "SEGMENT_STUDIO_VOLUME",
                resource: str = "staging-volume") -> str | None:
    """A Unity Catalog volume path, given as ``/Volumes/<catalog>/<schema>/<volume>[/folder...]`` or as
    ``<catalog>.<schema>.<volume>`` (how a bundle names a volume); ConfigError, naming ``setting`` and
    the app resource that binds it, when it is neither."""
    if path is None:
        return None
    path = path.rstrip("/")
    parts = path.split(".")
    if len(parts) == 3 and not path.startswith("/"):
        # catalog.schema.volume, as a bundle names the volume resource: the path it stands for
        path = "/Volumes/" + "/".join(parts)
    if not _VOLUME.match(path):
        raise ConfigError(f"{setting}={path!r} is not a Unity Catalog volume; use "
                          "/Volumes/<catalog>/<schema>/<volume> or <catalog>.<schema>.<volume> (app.yaml binds it "
                          f"from the {resource} resource)")
    return path


def _check_name(name: str, where: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(f"{where}={name!r} is not a catalog or schema name (letters, digits, _ and -)")


def _placement(env: Mapping[str, str], schemas: Mapping[str, Any], catalog: str | None) -> Placement:
    if not isinstance(schemas, Mapping):
        raise ConfigError("[databricks.schemas] must be a table of source = \"catalog.schema\"")
    unknown = set(schemas) - set(naming.ALL_SCHEMAS)
    if unknown:
        raise ConfigError(f"[databricks.schemas] names unknown sources {sorted(unknown)}; "
                          f"the sources are {', '.join(naming.ALL_SCHEMAS)}")
    locations = {}
    for source in naming.ALL_SCHEMAS:
        where = f"SEGMENT_STUDIO_SCHEMA_{source.upper()}"
        raw = env.get(where) or schemas.get(source)
        if raw in (None, ""):
            # Not configured: the seed's own schema name in the default catalog.
            locations[naming.schema(source)] = Location(catalog, naming.schema(source))
            continue
        if not isinstance(raw, str):
            raise ConfigError(f"{where} must be \"catalog.schema\" or \"schema\", got {raw!r}")
        parts = raw.split(".")
        if len(parts) > 2:
            raise ConfigError(f"{where}={raw!r} has {len(parts)} parts; use \"catalog.schema\" or \"schema\"")
        for part in parts:
            _check_name(part, where)
        locations[naming.schema(source)] = Location(parts[0], parts[1]) if len(parts) == 2 else Location(catalog, parts[0])
    return Placement.of(locations)
