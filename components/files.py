"""Where the app's export files are kept, and the Files API client that reaches them on a volume.

A Databricks App's disk is lost at every restart and ``/Volumes`` is not mounted
in its container, so export files in a Unity Catalog volume are written and
read through the SDK's Files API (services/exports/filestore.py). The client is
the app's service principal's, made once per process (``cache_resource``) and
only when a file on a volume is first touched: locally it is never made.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from services.exports.filestore import Stores, service_principal_files
from services.settings import Settings


@st.cache_resource(show_spinner=False)
def files_api(host: str | None) -> Any:
    """The Files API as the app's service principal (``WorkspaceClient().files``), one per process."""
    return service_principal_files(host=host)


def file_stores(settings: Settings) -> Stores:
    """The stores export files are written to and read from, for every job and download of the app."""
    host = settings.databricks.host
    # A factory, not a client: the SDK is imported and the client made only when a volume is reached.
    return Stores(files_api_factory=lambda: files_api(host))
