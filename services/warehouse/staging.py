"""Bulk rows into a Databricks table through a Unity Catalog volume.

A SQL warehouse binds at most 255 parameters per statement ("A query executed
with native parameters can contain at most 255 parameter markers",
databricks-sql-python v4.4.0 docs/parameters.md § Limitations; the server
refuses with "Parameterized query has too many parameters: N parameters were
given but the limit is 256", databricks/databricks-sqlalchemy#24), so rows
beyond one small ``INSERT ... VALUES`` take the platform's bulk path:

1. the rows are written as one Parquet file (naive timestamps marked UTC, the
   app's convention, so the warehouse reads them as the instants they are);
2. the file is uploaded with the databricks-sdk Files API to a directory of
   its own in the staging volume, ``<volume>/segment-studio/loads/<uuid>/``
   (databricks-sdk==0.162.0:databricks/sdk/service/files.py ``FilesAPI``:
   ``create_directory`` is ``mkdir -p``, ``upload`` writes the bytes as sent);
3. one ``COPY INTO target FROM (SELECT CAST(col AS type) ... FROM 'dir')
   FILEFORMAT = PARQUET`` loads it. Every target column is selected by name
   and cast to the target's own type (a column the rows lack is NULL), as
   DuckDB's ``INSERT BY NAME`` does. COPY INTO is "a retryable and idempotent
   operation — Files in the source location that have already been loaded
   are skipped" (https://docs.databricks.com/aws/en/sql/language-manual/delta-copy-into),
   and the directory is new for every load, so a COPY retried after a lost
   answer adds no rows and two loads never skip each other's files;
4. the file and its directory are removed (``delete``, ``delete_directory``).

The load is one statement, so it lands whole or not at all. The identity
needs READ VOLUME and WRITE VOLUME on the volume
(https://docs.databricks.com/aws/en/volumes/privileges), which the app's
volume resource grants its service principal.
"""

from __future__ import annotations

import io
import logging
import uuid
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from services.errors import WarehouseError, WarehouseUnavailableError

if TYPE_CHECKING:  # typing only: the engine imports this module
    from services.warehouse.databricks_engine import DatabricksWarehouse

log = logging.getLogger(__name__)

#: the folder of the staging volume the app loads through
LOADS = "segment-studio/loads"
FILE_NAME = "part-0.parquet"


def load_directory(volume: str) -> str:
    """A directory no load has used: COPY INTO skips a file it loaded before, however it changed."""
    return f"{volume}/{LOADS}/{uuid.uuid4().hex}"


def _utc(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_timestamp(kind) and kind.tz is None:
        # The app's naive timestamps are UTC (services/clock.py); say so in the file.
        return column.cast(pa.timestamp("us", tz="UTC"))
    if pa.types.is_dictionary(kind):
        return column.cast(kind.value_type)
    return column


def parquet(rows: pa.Table) -> tuple[bytes, list[str]]:
    """(the Parquet file of ``rows``, the columns it holds).

    Columns of Arrow's null type (a column that is None on every row, as
    pandas gives it) are left out: the COPY gives them NULL of the target's
    type, with no untyped column in the file for the warehouse to read.
    """
    kept = [name for name in rows.column_names if not pa.types.is_null(rows.schema.field(name).type)]
    table = pa.table({name: _utc(rows.column(name)) for name in kept})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, coerce_timestamps="us", allow_truncated_timestamps=True)
    return buffer.getvalue(), kept


def copy_into(table: str, directory: str, columns: list[tuple[str, str]], present: list[str]) -> exp.Copy:
    """``COPY INTO table FROM (SELECT <every target column, cast> FROM 'directory') FILEFORMAT = PARQUET``."""
    have = set(present)
    selects = []
    for name, full_type in columns:
        source = exp.column(name, quoted=True) if name in have else exp.null()
        selects.append(exp.cast(source, exp.DataType.build(full_type, dialect="databricks")).as_(name, quoted=True))
    # A string as the FROM of the SELECT is the path COPY INTO reads (its documented source clause).
    files = exp.select(*selects).from_(exp.Table(this=exp.Literal.string(directory)))
    return exp.Copy(this=exp.to_table(table), kind=True, files=[files.subquery()],
                    params=[exp.CopyParameter(this=exp.var("FILEFORMAT"), expression=exp.var("PARQUET"))])


def upload(files: Any, directory: str, payload: bytes) -> str:
    """Upload ``payload`` as the load's file; returns its path."""
    path = f"{directory}/{FILE_NAME}"
    files.create_directory(directory)
    files.upload(path, io.BytesIO(payload), overwrite=False)
    return path


def remove(files: Any, directory: str, errors: tuple[type[BaseException], ...]) -> None:
    """Remove the load's file and directory; a failure only leaves a loaded file behind, so it is logged."""
    for remove_one, path in ((files.delete, f"{directory}/{FILE_NAME}"), (files.delete_directory, directory)):
        try:
            remove_one(path)
        except errors as exc:
            log.warning("could not remove %s of a staged load: %s", path, exc)


def load(engine: DatabricksWarehouse, table: str, data: pa.Table, *, volume: str, files: Any,
         errors: tuple[type[BaseException], ...]) -> None:
    """Steps 1-4 above for ``data`` into ``table``; ``files`` is the SDK's Files API and ``errors``
    what it raises."""
    known = {name for name, _ in engine.target_columns(table)}
    if not set(data.column_names) <= known:
        known = {name for name, _ in engine.target_columns(table, fresh=True)}  # it may have gained columns
    unknown = sorted(set(data.column_names) - known)
    if unknown:
        raise WarehouseError(f"loading into {table}: no column(s) {', '.join(unknown)} there")
    payload, present = parquet(data)
    directory = load_directory(volume)
    copy = copy_into(table, directory, engine.target_columns(table), present)
    try:
        try:
            upload(files, directory, payload)
        except errors as exc:
            raise WarehouseError(f"staging {data.num_rows:,} rows for {table} in the volume {volume} failed: {exc}. "
                                 f"{engine.identity.description} needs READ VOLUME and WRITE VOLUME on it") from exc
        try:
            engine.execute(copy)
        except WarehouseUnavailableError:
            # The answer may have been lost after the load committed: COPY INTO skips files it
            # has loaded, so running it again adds the rows at most once.
            engine.execute(copy)
    finally:
        remove(files, directory, errors)
