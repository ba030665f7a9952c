"""Settings: a frozen value read once from the environment by an entry point.

``app.py`` and the CLI call ``Settings.from_env(os.environ)`` and pass the
result down; services never read ``os.environ`` themselves. When
``SEGMENT_STUDIO_SETTINGS_FILE`` names a TOML file, its ``engine`` and
``[databricks]`` table are read under the environment (the environment wins).
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from services.clock import now
from services.errors import ConfigError
from services.exports.filestore import volume_of
from services.warehouse.databricks_settings import DatabricksSettings, volume_path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"


def _non_negative(raw: str | None, name: str, unit: str, default: float) -> float:
    """A number setting (``default`` when unset), refused with its name when not a number or negative."""
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of {unit}, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} cannot be negative")
    return value


def _export_dir(raw: str | None) -> Path:
    """SEGMENT_STUDIO_EXPORT_DIR: a local folder, or a Unity Catalog volume (a folder in it) given as its
    /Volumes/... path or, as the bundle names it, catalog.schema.volume (app.yaml binds it from the
    exports-volume resource, whose valueFrom is the volume's /Volumes/... path)."""
    if not raw:
        return PROJECT_ROOT / "data" / "exports"
    if raw.startswith("/Volumes") or ("/" not in raw and len(raw.split(".")) == 3):
        return Path(volume_path(raw, setting="SEGMENT_STUDIO_EXPORT_DIR", resource="exports-volume"))
    return Path(raw)


def _day(raw: str | None, name: str) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a date (YYYY-MM-DD), got {raw!r}") from None


def _job_id(raw: str | None, name: str) -> int | None:
    """A Databricks job id (app.yaml binds it from a job resource with valueFrom), or None when unset."""
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a Databricks job id (a whole number), got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be a Databricks job id (a positive whole number), got {raw!r}")
    return value


def _networks(raw: str | None) -> tuple[str, ...]:
    """Comma-separated CIDR networks, checked and written in their canonical form."""
    networks = []
    for part in (raw or "").split(","):
        if not part.strip():
            continue
        try:
            networks.append(str(ipaddress.ip_network(part.strip(), strict=False)))
        except ValueError:
            raise ConfigError(f"SEGMENT_STUDIO_WEBHOOK_PRIVATE_NETWORKS: {part.strip()!r} is not a network "
                              "such as 10.1.0.0/16") from None
    return tuple(networks)


#: duckdb is the embedded default; spark is the test engine of the equivalence suite.
ENGINES = ("duckdb", "databricks", "spark")
_FILE_KEYS = {"engine", "databricks"}


def _settings_file(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = tomllib.loads(Path(raw).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"SEGMENT_STUDIO_SETTINGS_FILE={raw}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"SEGMENT_STUDIO_SETTINGS_FILE={raw} is not valid TOML: {exc}") from None
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise ConfigError(f"{raw}: unknown settings {sorted(unknown)}; expected some of {sorted(_FILE_KEYS)}")
    return data


def _secret_name(raw: str | None) -> str | None:
    if not raw:
        return None
    scope, _, key = raw.partition("/")
    if not scope or not key or "/" in key:
        raise ConfigError(f"SEGMENT_STUDIO_WEBHOOK_AUTH_SECRET must be scope/key, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    warehouse_path: Path = DEFAULT_WAREHOUSE
    engine: str = "duckdb"
    demo_customers: int = 50_000
    demo_seed: int = 42
    #: the last day of a generated demo (SEGMENT_STUDIO_DEMO_END); None: the day before it is built
    demo_end: date | None = None
    default_role: str | None = None
    user: str = "local-user"
    roles_file: Path = PROJECT_ROOT / "roles.toml"
    #: what one hour of warehouse time costs, for estimates shown before heavy actions
    price_per_warehouse_hour: float = 5.0
    databricks: DatabricksSettings = DatabricksSettings()
    #: where export files go unless a job names a folder (a local path or a Unity Catalog volume path;
    #: as a Databricks App, the exports volume: the container's own disk is lost at every restart)
    export_dir: Path = PROJECT_ROOT / "data" / "exports"
    #: warm UMAP up in a background thread at app start (tests turn it off: it costs a core for a minute)
    warm_up_maps: bool = True
    #: running as a Databricks App: the platform sets DATABRICKS_APP_NAME in every app process, and
    #: only there (docs.databricks.com/en/dev-tools/databricks-apps/system-env.html; see
    #: /work/notes/databricks.md sections 4-5). Only then are the proxy's forwarded identity headers
    #: trusted, and a request without them is refused.
    databricks_app: bool = False
    #: networks (CIDR) a webhook may reach on Databricks although they are private, loopback or link-local
    webhook_private_networks: tuple[str, ...] = ()
    #: "scope/key" of the Databricks secret holding the webhook auth header, for the sync-due job
    #: (a job task cannot set environment variables; the app gets the header by valueFrom instead)
    webhook_auth_secret: str | None = None
    #: the bundle's export_run and gold_build jobs, bound to the app as job resources (valueFrom gives
    #: their ids): as a Databricks App, exports and rebuilds run there, not in the app's process
    export_job_id: int | None = None
    build_job_id: int | None = None
    #: test-only: stop at this named step (services/checkpoints.py) so a kill test can kill the process there
    pause_at: str | None = None

    @property
    def exports_volume(self) -> str | None:
        """``/Volumes/<catalog>/<schema>/<volume>`` when the export folder is in a Unity Catalog volume."""
        return volume_of(self.export_dir)

    def demo_window_end(self) -> date:
        """The last day of a demo generated now: the configured day, or yesterday (UTC)."""
        return self.demo_end or (now().date() - timedelta(days=1))
    #: tests and bench/remote.py only: every warehouse round trip first waits this long, so the
    #: embedded engine answers like a remote SQL warehouse (services/warehouse/roundtrips.py)
    latency_ms: float = 0.0
    #: tests and bench/remote.py only: a file every warehouse round trip is written to, one line each
    round_trip_trace: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def integer(name: str, default: int) -> int:
            raw = env.get(name)
            if raw in (None, ""):
                return default
            try:
                return int(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None

        role = env.get("SEGMENT_STUDIO_ROLE") or None
        if role is not None and role not in ("viewer", "marketer", "analyst", "manager", "admin"):
            raise ConfigError(f"SEGMENT_STUDIO_ROLE={role!r} is not a role; use viewer, marketer, analyst, manager or admin")
        file = _settings_file(env.get("SEGMENT_STUDIO_SETTINGS_FILE"))
        engine = env.get("SEGMENT_STUDIO_ENGINE") or file.get("engine") or "duckdb"
        if engine not in ENGINES:
            raise ConfigError(f"SEGMENT_STUDIO_ENGINE={engine!r} is not an engine; use {', '.join(ENGINES)}")
        export_job = _job_id(env.get("SEGMENT_STUDIO_EXPORT_JOB_ID"), "SEGMENT_STUDIO_EXPORT_JOB_ID")
        build_job = _job_id(env.get("SEGMENT_STUDIO_BUILD_JOB_ID"), "SEGMENT_STUDIO_BUILD_JOB_ID")
        if (export_job is None) != (build_job is None):
            raise ConfigError("SEGMENT_STUDIO_EXPORT_JOB_ID and SEGMENT_STUDIO_BUILD_JOB_ID go together: bind both "
                              "job resources in app.yaml (docs/deploy-databricks.md), or neither")
        return cls(
            warehouse_path=Path(env.get("SEGMENT_STUDIO_WAREHOUSE") or DEFAULT_WAREHOUSE),
            engine=engine,
            demo_customers=integer("SEGMENT_STUDIO_CUSTOMERS", 50_000),
            demo_seed=integer("SEGMENT_STUDIO_SEED", 42),
            demo_end=_day(env.get("SEGMENT_STUDIO_DEMO_END"), "SEGMENT_STUDIO_DEMO_END"),
            # A fixed role for local development and tests; otherwise the role map decides.
            default_role=role,
            user=env.get("SEGMENT_STUDIO_USER") or "local-user",
            roles_file=Path(env.get("SEGMENT_STUDIO_ROLES_FILE") or PROJECT_ROOT / "roles.toml"),
            price_per_warehouse_hour=_non_negative(env.get("SEGMENT_STUDIO_WAREHOUSE_PRICE"),
                                                   "SEGMENT_STUDIO_WAREHOUSE_PRICE", "USD per hour", 5.0),
            databricks=DatabricksSettings.from_sources(env, file=file.get("databricks")),
            export_dir=_export_dir(env.get("SEGMENT_STUDIO_EXPORT_DIR")),
            warm_up_maps=env.get("SEGMENT_STUDIO_WARM_UP_MAPS", "1") not in ("0", "false", "no"),
            databricks_app=bool(env.get("DATABRICKS_APP_NAME")),
            webhook_private_networks=_networks(env.get("SEGMENT_STUDIO_WEBHOOK_PRIVATE_NETWORKS")),
            pause_at=env.get("SEGMENT_STUDIO_PAUSE_AT") or None,
            export_job_id=export_job,
            build_job_id=build_job,
            webhook_auth_secret=_secret_name(env.get("SEGMENT_STUDIO_WEBHOOK_AUTH_SECRET")),
            latency_ms=_non_negative(env.get("SEGMENT_STUDIO_LATENCY_MS"), "SEGMENT_STUDIO_LATENCY_MS", "milliseconds",
                                     0.0),
            round_trip_trace=Path(env["SEGMENT_STUDIO_ROUND_TRIP_TRACE"]) if env.get("SEGMENT_STUDIO_ROUND_TRIP_TRACE")
            else None,
        )
