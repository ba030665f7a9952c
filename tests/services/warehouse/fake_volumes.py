"""Unity Catalog volumes as a local folder, with the part of the SDK Files API the app uses.

``FakeVolumes(root, "/Volumes/c/s/v")`` declares the volumes that exist; a
path under none of them is refused (NotFound), as the platform refuses a
volume that was never created or granted. ``/Volumes/c/s/v/x`` is stored at
``root/c/s/v/x``. The methods mirror ``WorkspaceClient().files``
(databricks-sdk==0.162.0:databricks/sdk/service/files.py ``FilesAPI``):

* ``create_directory`` is ``mkdir -p`` and idempotent;
* ``upload`` needs its parent directory and, with ``overwrite=False``, a new path;
* ``delete`` deletes a file; ``delete_directory`` only an empty directory;
* ``get_metadata`` returns an object with ``content_length`` and ``download``
  one with ``contents``, a binary stream (the SDK's ``GetMetadataResponse`` and
  ``DownloadResponse``); both raise NotFound for a path that is not a file.

``read_only`` volumes exist but refuse writes (PermissionDenied), as the
platform does for an identity without WRITE VOLUME on them.

Every call is recorded in ``calls`` as (method, path). The fake SQL warehouse
reads the same folder for ``COPY INTO`` and ``read_files``.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from databricks.sdk.errors import BadRequest, NotFound, PermissionDenied, ResourceAlreadyExists


@dataclass(frozen=True)
class DirectoryEntry:
    """What ``list_directory_contents`` yields (the SDK's ``DirectoryEntry`` fields the app reads)."""

    path: str
    name: str
    is_directory: bool
    file_size: int | None


@dataclass(frozen=True)
class Metadata:
    """What ``get_metadata`` returns (the SDK's ``GetMetadataResponse`` field the app reads)."""

    content_length: int


@dataclass(frozen=True)
class Download:
    """What ``download`` returns (the SDK's ``DownloadResponse``: ``contents`` is a binary stream)."""

    contents: BinaryIO
    content_length: int


class FakeVolumes:
    def __init__(self, root: str | Path, *volumes: str, read_only: tuple[str, ...] = ()):
        self.root = Path(root)
        self.volumes = tuple(v.rstrip("/") for v in volumes + tuple(read_only))
        self.read_only = tuple(v.rstrip("/") for v in read_only)
        self.calls: list[tuple[str, str]] = []
        for volume in self.volumes:
            if len(Path(volume).parts) != 5 or not volume.startswith("/Volumes/"):
                raise ValueError(f"{volume!r} is not /Volumes/<catalog>/<schema>/<volume>")
            self.local(volume).mkdir(parents=True, exist_ok=True)

    def local(self, path: str) -> Path:
        """The local file of a volume path; NotFound outside every declared volume."""
        clean = path.rstrip("/")
        if not any(clean == v or clean.startswith(v + "/") for v in self.volumes):
            raise NotFound(f"{path} is not in a volume that exists (declared: {', '.join(self.volumes) or 'none'})")
        if ".." in Path(clean).parts:
            raise BadRequest(f"{path}: relative parts are not allowed")
        return self.root / clean.removeprefix("/Volumes/")

    def files_under(self, path: str) -> list[str]:
        """Volume paths of the files under ``path`` (a file or a directory, recursively), sorted."""
        local = self.local(path)
        if local.is_file():
            return [path.rstrip("/")]
        if not local.is_dir():
            raise NotFound(f"{path} does not exist")
        return sorted("/Volumes/" + str(p.relative_to(self.root)) for p in local.rglob("*") if p.is_file())

    def _writable(self, path: str) -> Path:
        local = self.local(path)
        if any(path.rstrip("/") == v or path.startswith(v + "/") for v in self.read_only):
            raise PermissionDenied(f"User does not have WRITE VOLUME on Volume '{path}'")
        return local

    # -- the Files API ---------------------------------------------------------
    def create_directory(self, directory_path: str) -> None:
        self.calls.append(("create_directory", directory_path))
        local = self._writable(directory_path)
        if local.is_file():
            raise ResourceAlreadyExists(f"{directory_path} is a file")
        local.mkdir(parents=True, exist_ok=True)

    def upload(self, file_path: str, contents, *, overwrite: bool | None = None) -> None:
        self.calls.append(("upload", file_path))
        local = self._writable(file_path)
        if not local.parent.is_dir():
            raise NotFound(f"the parent directory of {file_path} does not exist")
        if local.exists() and overwrite is False:
            raise ResourceAlreadyExists(f"{file_path} exists and overwrite is false")
        local.write_bytes(contents.read())

    def delete(self, file_path: str) -> None:
        self.calls.append(("delete", file_path))
        local = self._writable(file_path)
        if not local.is_file():
            raise NotFound(f"{file_path} is not a file")
        local.unlink()

    def delete_directory(self, directory_path: str) -> None:
        self.calls.append(("delete_directory", directory_path))
        local = self._writable(directory_path)
        if not local.is_dir():
            raise NotFound(f"{directory_path} is not a directory")
        if any(local.iterdir()):
            raise BadRequest(f"{directory_path} is not empty")
        local.rmdir()

    def get_metadata(self, file_path: str) -> Metadata:
        self.calls.append(("get_metadata", file_path))
        local = self.local(file_path)
        if not local.is_file():
            raise NotFound(f"{file_path} is not a file")
        return Metadata(content_length=local.stat().st_size)

    def download(self, file_path: str) -> Download:
        self.calls.append(("download", file_path))
        local = self.local(file_path)
        if not local.is_file():
            raise NotFound(f"{file_path} is not a file")
        data = local.read_bytes()
        return Download(contents=io.BytesIO(data), content_length=len(data))

    def list_directory_contents(self, directory_path: str):
        self.calls.append(("list_directory_contents", directory_path))
        local = self.local(directory_path)
        if not local.is_dir():
            raise NotFound(f"{directory_path} is not a directory")
        for child in sorted(local.iterdir()):
            yield DirectoryEntry(path=f"{directory_path.rstrip('/')}/{child.name}", name=child.name,
                                 is_directory=child.is_dir(), file_size=child.stat().st_size if child.is_file() else None)

    def leftovers(self) -> list[str]:
        """Every file left in the volumes (a test asserts loads clean up after themselves)."""
        return [f for volume in self.volumes for f in self.files_under(volume)]

    def clear(self) -> None:
        for volume in self.volumes:
            shutil.rmtree(self.local(volume))
            self.local(volume).mkdir(parents=True)
