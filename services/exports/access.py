"""Who may see an export job and download its file, and the audit row of every download.

A user sees their own export jobs; managers and admins see everyone's
(``view_all_exports``). A file holding contact identifiers in clear
(``identifiers == "clear"``) is downloaded by admins only, whoever made it
(``download_clear_exports``). Every download writes an ``export.download``
audit row. The Exports page lists only what ``visible_history`` returns and
offers a file only through ``download``, so the rules hold even for a request
the page never drew. Files are found and read through their store (a local
folder, or a Unity Catalog volume through the Files API: filestore.py), never
the local disk directly: on a Databricks App the disk does not outlive a restart.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlglot import exp

from services import audit_log, rbac
from services.errors import PermissionDeniedError
from services.exports.files import removals_path
from services.exports.filestore import DEFAULT_STORES, Stores
from services.exports.jobs import JOBS, Job, get
from services.sqlterms import column, equals
from services.warehouse import Warehouse


def may_see(job: Job, *, user: str, role: str) -> bool:
    return job.created_by == user or rbac.can(role, "view_all_exports")


def holds_clear_identifiers(job: Job) -> bool:
    return job.request.identifiers == "clear"


def may_download(job: Job, *, user: str, role: str) -> bool:
    """Whether ``user`` in ``role`` may download the job's file (not whether there is one)."""
    if not may_see(job, user=user, role=role):
        return False
    return not holds_clear_identifiers(job) or rbac.can(role, "download_clear_exports")


def visible_history(warehouse: Warehouse, *, user: str, role: str, limit: int = 200) -> pd.DataFrame:
    """The jobs ``user`` may see, newest first (one row each, the columns of the job table)."""
    query = exp.select("*").from_(JOBS)
    if not rbac.can(role, "view_all_exports"):
        query = query.where(equals("created_by", user))
    return warehouse.df(query.order_by(exp.Ordered(this=column("created_ts"), desc=True)).limit(int(limit)))


def visible_job(warehouse: Warehouse, job_id: str, *, user: str, role: str) -> Job:
    """The job, when ``user`` may see it; PermissionDeniedError otherwise (SpecError when there is none)."""
    job = get(warehouse, job_id)
    if not may_see(job, user=user, role=role):
        raise PermissionDeniedError(f"export job {job_id} is another user's; managers and admins see every export")
    return job


def available(job: Job, *, stores: Stores = DEFAULT_STORES) -> list[tuple[Path, int]]:
    """(path, size in bytes) of the files a succeeded job wrote that exist: its output, and a diff's
    file of members to remove."""
    if job.status != "succeeded" or not job.output_path:
        return []
    out = Path(job.output_path)
    candidates = [out, removals_path(out)] if job.mode == "diff" else [out]
    sizes = [(path, stores.for_path(path).size(path)) for path in candidates]
    return [(path, size) for path, size in sizes if size is not None]


def files(job: Job, *, stores: Stores = DEFAULT_STORES) -> list[Path]:
    """The files a succeeded job wrote that exist (see ``available``)."""
    return [path for path, _ in available(job, stores=stores)]


def download(warehouse: Warehouse, job: Job, path: Path, *, user: str, role: str,
             stores: Stores = DEFAULT_STORES) -> bytes:
    """The bytes of one of the job's files for a user who may have them, with an ``export.download`` audit row."""
    if Path(path) not in files(job, stores=stores):
        raise PermissionDeniedError(f"{Path(path).name} is not a file of export job {job.job_id}")
    if not may_download(job, user=user, role=role):
        why = ("it holds contact identifiers in clear, which only admins may download"
               if may_see(job, user=user, role=role) else "it is another user's export")
        raise PermissionDeniedError(f"you may not download the file of export job {job.job_id}: {why}")
    data = stores.for_path(path).read(Path(path))
    audit_log.record(warehouse, actor=user, role=role, action="export.download", object_type="export_job",
                     object_id=job.job_id, object_version=job.segment_version, row_count=job.rows_exported,
                     checksum=job.checksum,
                     details={"segment_id": job.segment_id, "file": Path(path).name, "bytes": len(data),
                              "identifiers": job.request.identifiers})
    return data
