"""Whose rights a Databricks query runs with, and the connector arguments for it.

Two identities:

- ``ServicePrincipal``: the app's own. Databricks Apps injects the service
  principal's OAuth client id and secret; the databricks-sdk ``Config`` turns
  them into fresh bearer headers. The ``Config`` is created on the first
  connection, never at import, so importing the app (tests, the CLI with
  DuckDB) needs no credentials at all.
- ``OnBehalfOfUser``: the signed-in user's own token, which the Databricks
  Apps proxy forwards in ``x-forwarded-access-token`` when user
  authorization (the ``sql`` scope) is enabled. components/ reads the header
  and passes the token down as a value; services never read headers.

``key`` names an identity without revealing it: connections and cached
results are keyed by it, so two users never share either.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.errors import ConfigError, WarehouseUnavailableError
from services.warehouse.databricks_settings import DatabricksSettings, bare_hostname


@dataclass(frozen=True)
class ServicePrincipal:
    key: str = "service-principal"
    description: str = "the app's service principal"


@dataclass(frozen=True)
class OnBehalfOfUser:
    # repr=False: a token must never reach a log line or an error message.
    token: str = field(repr=False)

    @property
    def key(self) -> str:
        return "user-" + hashlib.sha256(self.token.encode("utf-8")).hexdigest()[:32]

    @property
    def description(self) -> str:
        return "your Databricks sign-in"


Identity = ServicePrincipal | OnBehalfOfUser


def identity_for(settings: DatabricksSettings, user_token: str | None) -> Identity:
    """The identity queries run as, given the configured mode and the forwarded token (if any)."""
    if settings.identity == "user":
        if not user_token:
            raise ConfigError("SEGMENT_STUDIO_IDENTITY=user but the request carries no x-forwarded-access-token: "
                              "enable user authorization with the 'sql' scope for the app (databricks.yml "
                              "user_api_scopes), or use SEGMENT_STUDIO_IDENTITY=service_principal")
        return OnBehalfOfUser(user_token)
    return ServicePrincipal()


class ServicePrincipalCredentials:
    """Bearer headers for the app's service principal, from a lazily created SDK ``Config``.

    ``config_factory`` is ``databricks.sdk.core.Config`` unless a test passes
    another; it is called once, on the first connection.
    """

    def __init__(self, host: str | None, *, config_factory: Callable[..., Any] | None = None):
        self._host = host
        self._factory = config_factory
        self._config = None
        self._lock = threading.Lock()

    def config(self):
        with self._lock:
            if self._config is None:
                factory = self._factory
                if factory is None:
                    from databricks.sdk.core import Config as factory
                try:
                    # The SDK reads the service principal's DATABRICKS_CLIENT_ID and
                    # DATABRICKS_CLIENT_SECRET itself (Databricks Apps sets them).
                    self._config = factory(host=self._host) if self._host else factory()
                except ValueError as exc:
                    raise WarehouseUnavailableError(
                        f"the app's service principal cannot sign in to Databricks: {exc}. On Databricks Apps the "
                        "credentials are set for you; elsewhere set DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET "
                        "or use SEGMENT_STUDIO_IDENTITY=user") from exc
            return self._config

    def provider(self):
        """A connector ``credentials_provider``: returns the header factory of the SDK config."""
        return lambda: self.config().authenticate


def connect_arguments(settings: DatabricksSettings, identity: Identity, *,
                      credentials: ServicePrincipalCredentials | None = None) -> dict[str, Any]:
    """Keyword arguments for ``databricks.sql.connect`` for one identity.

    Retries are capped twice over (attempts and total seconds) and every
    socket operation has the same bound, so an unreachable or cold warehouse
    fails within ``connect_timeout_seconds`` with a message instead of the
    connector's defaults (30 attempts over 15 minutes). The server cancels a
    statement that runs past ``statement_timeout_seconds``.
    """
    if isinstance(identity, OnBehalfOfUser):
        hostname, auth = settings.hostname, {"access_token": identity.token}
    else:
        credentials = credentials or ServicePrincipalCredentials(settings.host)
        # In a job the SDK finds the workspace itself; the app and the CLI name it.
        hostname = settings.hostname if settings.host else bare_hostname(credentials.config().host)
        auth = {"credentials_provider": credentials.provider()}
    bound = settings.connect_timeout_seconds
    arguments: dict[str, Any] = {
        **auth,
        "server_hostname": hostname,
        "http_path": settings.resolved_http_path,
        # TIMEZONE pinned per session: a workspace admin may set another zone for the warehouse, and
        # cast(ts as date) follows it (docs.databricks.com/aws/en/sql/language-manual/parameters/timezone).
        "session_configuration": {"STATEMENT_TIMEOUT": str(settings.statement_timeout_seconds), "TIMEZONE": "UTC"},
        # Native parameters (``:name`` markers sent separately), never inlined into the text.
        "use_inline_params": False,
        "user_agent_entry": "segment-studio",
        "_retry_stop_after_attempts_count": settings.retries,
        "_retry_stop_after_attempts_duration": float(bound),
        "_retry_delay_max": float(max(5, min(bound // 4, 30))),
        "_socket_timeout": float(bound),
    }
    if settings.catalog:
        arguments["catalog"] = settings.catalog
    return arguments
