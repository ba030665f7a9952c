"""Where export files are kept: a local folder, or a Unity Catalog volume through the Files API.

A Databricks App's container loses its disk on every restart and redeploy, and
``/Volumes`` is not mounted there (the volume FUSE mount exists on Databricks
clusters and Jobs, not in an app's container), so on Databricks an export file
must go to a volume through the SDK's Files API to outlive the process that
wrote it. Two stores, one interface:

* ``LocalStore``: a folder on this machine (the embedded DuckDB app, the CLI,
  a Databricks Job where ``/Volumes`` is mounted). A file is written under a
  ``.partial`` name, fsynced and renamed over its final name (files.py), so it
  appears whole or not at all.
* ``VolumeStore``: a ``/Volumes/<catalog>/<schema>/<volume>/...`` path when
  ``/Volumes`` is not mounted. The file is written whole (and its checksum
  taken) in a local scratch folder, then uploaded with the Files API and the
  scratch file removed. An upload appears whole when it completes: a small
  file goes as one PUT of the whole body ("The contents of the resulting file
  will be exactly the bytes sent in the request body",
  databricks-sdk==0.162.0:databricks/sdk/service/files.py ``FilesAPI.upload``;
  ``_FilesApiV2EndpointClient.put_file`` in databricks/sdk/mixins/files.py),
  a large one as parts that a final ``complete-upload`` request commits, a
  failed one being aborted (``abort-upload``; ``complete``/``abort`` in the same
  module). So a killed run leaves nothing on the volume, only its scratch file,
  which ``remove_partial`` clears as the local store clears a ``.partial``.

``store_for`` chooses the store of a path; ``Stores`` carries that choice (the
Files API client, whether ``/Volumes`` is mounted) to whoever writes or reads
export files. The Files API client is the app's service principal's: the
files are the app's, and a user reaches them only through the Exports page's
permission checks (access.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from services.errors import ExportError, databricks_api_errors

VOLUMES = Path("/Volumes")
#: where a VolumeStore writes a file before uploading it: named after the file (the job id is in
#: every export file's name), so the next run of a killed job finds and removes its leftover
SCRATCH = Path(tempfile.gettempdir()) / "segment-studio-exports"


def partial_path(final: Path) -> Path:
    return final.with_name(final.name + ".partial")


def is_volume_path(path: str | Path) -> bool:
    return Path(path).parts[:2] == ("/", "Volumes") and len(Path(path).parts) > 2


def volume_of(path: str | Path) -> str | None:
    """``/Volumes/<catalog>/<schema>/<volume>`` of a path inside a volume, else None."""
    parts = Path(path).parts
    if not is_volume_path(path) or len(parts) < 5:
        return None
    return str(Path(*parts[:5]))


def volumes_mounted() -> bool:
    """Whether ``/Volumes`` is a directory here: a Databricks cluster or Job mounts it, an App does not."""
    return VOLUMES.is_dir()


class FileStore(Protocol):
    def write(self, final: Path, writer: Callable[[Path], str]) -> str:
        """Put the file ``writer`` writes at ``final``; return the checksum ``writer`` returned.

        ``writer(path)`` writes the whole file at the local ``path`` atomically and returns its
        SHA-256. The file appears at ``final`` whole, or not at all.
        """

    def size(self, path: Path) -> int | None:
        """The file's size in bytes, None when there is no such file."""

    def read(self, path: Path) -> bytes:
        """The file's bytes."""

    def remove_partial(self, final: Path) -> None:
        """Remove what a killed or failed write of ``final`` left behind (never a whole file)."""


class LocalStore:
    """A folder on this machine: files are written in place (``.partial``, fsync, rename)."""

    def write(self, final: Path, writer: Callable[[Path], str]) -> str:
        return writer(Path(final))

    def size(self, path: Path) -> int | None:
        path = Path(path)
        return path.stat().st_size if path.is_file() else None

    def read(self, path: Path) -> bytes:
        return Path(path).read_bytes()

    def remove_partial(self, final: Path) -> None:
        partial_path(Path(final)).unlink(missing_ok=True)

    def __repr__(self) -> str:
        return "LocalStore()"


class VolumeStore:
    """A Unity Catalog volume reached through the Files API (``WorkspaceClient().files``), made by
    ``files_api_factory`` on first use."""

    def __init__(self, *, files_api_factory: Callable[[], Any], scratch: Path = SCRATCH) -> None:
        self._files_api = None
        self._factory = files_api_factory
        self.scratch = Path(scratch)

    @property
    def files_api(self) -> Any:
        """The client, made on first use: a job that writes no file (a webhook) signs in for nothing."""
        if self._files_api is None:
            self._files_api = self._factory()
        return self._files_api

    def __repr__(self) -> str:
        return f"VolumeStore(scratch={str(self.scratch)!r})"

    def scratch_file(self, final: Path) -> Path:
        return self.scratch / Path(final).name

    def write(self, final: Path, writer: Callable[[Path], str]) -> str:
        local = self.scratch_file(final)
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            checksum = writer(local)
            try:
                self.files_api.create_directory(str(Path(final).parent))
                with open(local, "rb") as contents:
                    self.files_api.upload(str(final), contents, overwrite=True)
            except databricks_api_errors() as exc:
                raise ExportError(f"cannot upload {final} to its Unity Catalog volume: {_reason(exc)} (the app's "
                                  "service principal needs WRITE VOLUME on it: the exports-volume resource of "
                                  "databricks.yml grants it)") from exc
        finally:
            self.remove_partial(final)
        return checksum

    def size(self, path: Path) -> int | None:
        # Imported on first use (see ``errors``).
        from databricks.sdk.errors import NotFound

        try:
            return int(self.files_api.get_metadata(str(path)).content_length)
        except NotFound:
            return None
        except databricks_api_errors() as exc:
            raise ExportError(f"cannot read {path} from its Unity Catalog volume: {_reason(exc)}") from exc

    def read(self, path: Path) -> bytes:
        try:
            return self.files_api.download(str(path)).contents.read()
        except databricks_api_errors() as exc:
            raise ExportError(f"cannot read {path} from its Unity Catalog volume: {_reason(exc)}") from exc

    def remove_partial(self, final: Path) -> None:
        # Nothing on the volume: an upload that did not complete left no file there.
        local = self.scratch_file(final)
        local.unlink(missing_ok=True)
        partial_path(local).unlink(missing_ok=True)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def service_principal_files(*, host: str | None = None) -> Any:
    """The Files API as the app's service principal (``WorkspaceClient().files``).

    In a Databricks App the SDK reads the principal's DATABRICKS_HOST, DATABRICKS_CLIENT_ID and
    DATABRICKS_CLIENT_SECRET itself; ``host`` names the workspace when the settings do.
    """
    # Imported here, as the engine does (services/warehouse/databricks_engine.py ``_files_api``):
    # the SDK takes over a second to import, and only files on a volume need it.
    from databricks.sdk import WorkspaceClient

    return (WorkspaceClient(host=host) if host else WorkspaceClient()).files


def store_for(path: str | Path, *, files_api_factory: Callable[[], Any] = service_principal_files,
              mounted: Callable[[], bool] = volumes_mounted, scratch: Path = SCRATCH) -> FileStore:
    """The store of ``path``: a VolumeStore for a volume path where ``/Volumes`` is not mounted, else local."""
    if is_volume_path(path) and not mounted():
        return VolumeStore(files_api_factory=files_api_factory, scratch=scratch)
    return LocalStore()


@dataclass(frozen=True)
class Stores:
    """The choice of a store for any path, with what it needs: given to jobs and downloads."""

    files_api_factory: Callable[[], Any] = service_principal_files
    mounted: Callable[[], bool] = volumes_mounted
    scratch: Path = SCRATCH

    def for_path(self, path: str | Path) -> FileStore:
        return store_for(path, files_api_factory=self.files_api_factory, mounted=self.mounted, scratch=self.scratch)


#: the stores a process uses unless told otherwise: its own disk, volumes through the SDK's default client
DEFAULT_STORES = Stores()
