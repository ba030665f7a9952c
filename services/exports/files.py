"""CSV and Parquet files, written atomically.

A file appears whole under its final name or not at all: rows go to a
``.partial`` file beside the target, which is renamed over the final name
(``os.replace``, atomic on one filesystem) only once it is complete. A job
that dies half-way leaves at most a ``.partial`` file, which the next run of
the same job removes before it starts. The checksum is the SHA-256 of the
file's bytes, taken while writing so a large file is not read twice.

A destination writes through its context's store (filestore.py): on a local
folder the file is written in place as above; on a Unity Catalog volume that
is not mounted, it is written so in a scratch folder and uploaded whole.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from services import checkpoints
from services.errors import ExportError
from services.exports.base import Delivered, DeliveryContext, Destination, Option
from services.exports.filestore import FileStore, partial_path

#: Rows per CSV chunk: about 19 MB of a Meta file, several of which are in flight at once.
CHUNK_ROWS = 25_000
#: Rows handed to the Parquet writer at a time (a row group each).
PARQUET_CHUNK_ROWS = 500_000


FOLDER = Option("folder", "Folder", help="A local folder or a Unity Catalog volume (/Volumes/...)",
                setting="export_dir")


def _finish(tmp: Path, final: Path) -> None:
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    checkpoints.reached("export.file_written")
    os.replace(tmp, final)


_NEEDS_QUOTING = r'[",\r\n]'


def _plain(rows: pa.Table, hex_columns: tuple[str, ...] = ()) -> bool:
    """True when every column is text and no value needs CSV quoting (hex digests, ids, digits...).

    ``hex_columns`` hold SHA-256 digests (or NULL) by construction, so they need no scan.
    """
    if not all(_is_text(f.type) or pa.types.is_null(f.type) for f in rows.schema):
        return False
    if any(char in name for name in rows.column_names for char in ',"\r\n'):
        return False
    return not any(pc.any(pc.match_substring_regex(values, _NEEDS_QUOTING)).as_py()
                   for name in rows.column_names
                   if name not in hex_columns and not pa.types.is_null(rows.schema.field(name).type)
                   for values in _distinct_texts(rows.column(name)))


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        return _is_text(kind.value_type)
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _distinct_texts(column: pa.ChunkedArray):
    """The values to scan: a dictionary-encoded chunk's dictionary, another chunk itself."""
    for chunk in column.chunks:
        yield chunk.dictionary if isinstance(chunk, pa.DictionaryArray) else chunk


def _csv_lines(chunk: pa.Table, *, plain: bool, header: bool) -> pa.Buffer:
    """The rows as CSV lines. Nulls are written as empty fields: what every upload format reads as "no value".

    ``plain`` rows (see ``_plain``) are written without quotes. Arrow refuses, as it writes,
    a value that would need them, so a wrong promise of ``hex_columns`` fails instead of
    giving a broken file.
    """
    sink = pa.BufferOutputStream()
    options = pacsv.WriteOptions(include_header=header, quoting_style="none" if plain else "needed")
    pacsv.write_csv(chunk, sink, write_options=options)
    return sink.getvalue()


#: Data a background thread flushes to disk at a time while a CSV file is being written.
_SYNC_BYTES = 64 << 20
#: CSV chunks formatted ahead of the one being written: enough to keep two cores busy, while
#: memory holds a handful of chunks, never the whole file.
_LOOKAHEAD = 2


class _SyncedFile:
    """A file being written whose data a background thread flushes to disk as it arrives.

    The disk is the slowest part of writing a large file. Flushed as it goes, it works
    while later chunks are still being formatted and hashed, and the fsync before the
    rename finds little left to do. ``write`` is for one thread at a time.
    """

    def __init__(self, path: Path) -> None:
        self._file = open(path, "wb")
        self._unflushed = 0
        self._closing = False
        self._error: OSError | None = None
        self._arrived = threading.Condition()
        self._flusher = threading.Thread(target=self._flush_as_written, name="csv-flush")
        self._flusher.start()

    def __enter__(self) -> _SyncedFile:
        return self

    def __exit__(self, *exc) -> None:
        # The flusher holds the descriptor: it stops before the file closes and the number can be reused.
        self._stop()
        self._file.close()

    def write(self, data) -> None:
        if self._error:
            raise self._error
        self._file.write(data)
        # A small write (the header) would otherwise sit in Python's buffer, out of fdatasync's reach.
        self._file.flush()
        with self._arrived:
            self._unflushed += len(data)
            self._arrived.notify()

    def sync(self) -> None:
        """Everything written is on disk once this returns."""
        self._stop()
        # Linux reports a failed writeback to one fsync only: after the flusher saw it, the
        # final fsync could succeed over lost pages, so the flusher's error decides.
        if self._error:
            raise self._error
        self._file.flush()
        os.fsync(self._file.fileno())

    def _stop(self) -> None:
        with self._arrived:
            self._closing = True
            self._arrived.notify()
        self._flusher.join()

    def _flush_as_written(self) -> None:
        fdatasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
        while True:
            with self._arrived:
                self._arrived.wait_for(lambda: self._closing or self._unflushed >= _SYNC_BYTES)
                if self._unflushed < _SYNC_BYTES:
                    return  # closing; what is left is the final fsync's to write
                self._unflushed = 0
            try:
                fdatasync(self._file.fileno())
            except OSError as exc:
                self._error = exc
                return


def write_csv(rows: pa.Table, final: Path, *, progress: Callable[[float], None] = lambda f: None,
              hex_columns: tuple[str, ...] = ()) -> str:
    """Write ``rows`` as CSV (header, UTF-8, RFC 4180 quoting) to ``final`` atomically; return its SHA-256."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(final)
    digest = hashlib.sha256()
    plain = _plain(rows, hex_columns)
    total = max(rows.num_rows, 1)
    starts = iter(range(0, total, CHUNK_ROWS))
    try:
        # Two workers format chunks ahead, one thread writes them in order while this one hashes
        # them, and the disk flushes behind: Arrow's CSV writer, file writes, fdatasync and hashlib
        # all release the GIL, so this work shares the cores instead of taking turns.
        with _SyncedFile(tmp) as out, ThreadPoolExecutor(2) as formatters, ThreadPoolExecutor(1) as writer:
            ahead: deque = deque()

            def format_next() -> None:
                start = next(starts, None)
                if start is not None:
                    chunk = rows.slice(start, CHUNK_ROWS)
                    ahead.append((start + chunk.num_rows, formatters.submit(
                        _csv_lines, chunk, plain=plain, header=start == 0 and not plain)))

            for _ in range(_LOOKAHEAD):
                format_next()
            written = None
            if plain:
                # Arrow quotes header names even when told not to quote: a plain header is written here.
                header = (",".join(rows.column_names) + "\n").encode("utf-8")
                digest.update(header)
                written = writer.submit(out.write, header)
            while ahead:
                done_rows, formatting = ahead.popleft()
                data = formatting.result()
                format_next()
                previous, written = written, writer.submit(out.write, data)
                digest.update(data)
                del data
                if previous is not None:
                    previous.result()  # surfaces a write error; bounds the chunks held in memory
                progress(min(done_rows / total, 1.0))
            written.result()
            out.sync()
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"cannot write {final}: {exc.strerror or exc}") from exc
    except Exception:
        # Any failure short of the process dying (which the next run's remove_partial clears up).
        tmp.unlink(missing_ok=True)
        raise
    checkpoints.reached("export.file_written")
    os.replace(tmp, final)
    return digest.hexdigest()


def write_parquet(rows: pa.Table, final: Path, *, progress: Callable[[float], None] = lambda f: None) -> str:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(final)
    try:
        with pq.ParquetWriter(tmp, rows.schema, compression="zstd") as writer:
            total = max(rows.num_rows, 1)
            for start in range(0, rows.num_rows, PARQUET_CHUNK_ROWS):
                chunk = rows.slice(start, PARQUET_CHUNK_ROWS)
                writer.write_table(chunk)
                progress(min((start + chunk.num_rows) / total, 1.0))
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"cannot write {final}: {exc.strerror or exc}") from exc
    digest = hashlib.sha256()
    with open(tmp, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    _finish(tmp, final)
    return digest.hexdigest()


def removals_path(final: Path) -> Path:
    """Where an upload platform's diff puts the members to remove, beside the file of those to add."""
    return final.with_name(final.stem + "-remove" + final.suffix)


class FileDestination(Destination):
    """Any destination whose output is one file (CSV unless ``file_format`` says Parquet).

    In a diff, the file carries the changes, an ``action`` column first, unless
    ``separate_removals`` (below) splits them into two files.
    """

    options = (FOLDER,)
    file_format = "csv"
    #: Upload platforms (Meta, Google Ads) take a file in their exact columns and add or remove
    #: its members as a whole, so a diff goes out as two files in that format, not one file
    #: with an extra ``action`` column that the platform would reject.
    separate_removals = False

    def output_path(self, ctx: DeliveryContext) -> Path:
        """The file under its final name: in the request's folder, else the app's export folder."""
        folder = Path(ctx.request.folder) if ctx.request.folder else Path(ctx.output_dir)
        return folder / f"{ctx.file_stem}.{self.file_format}"

    def remove_partial(self, ctx: DeliveryContext) -> None:
        """Clear what a killed run of the same job left behind (a removals file is whole or absent)."""
        final = self.output_path(ctx)
        ctx.store.remove_partial(final)
        ctx.store.remove_partial(removals_path(final))

    def deliver(self, rows: pa.Table, ctx: DeliveryContext) -> Delivered:
        final = self.output_path(ctx)
        detail: dict = {}
        if self.separate_removals and "action" in rows.column_names:
            is_removal = pc.equal(rows.column("action"), "remove")
            removals = rows.filter(is_removal).drop_columns(["action"])
            rows = rows.filter(pc.invert(is_removal)).drop_columns(["action"])
            # Written first, and whole: the job succeeds only once both files are in place.
            removal_file = removals_path(final)
            detail = {"removals_path": str(removal_file), "removals": removals.num_rows,
                      "removals_checksum": self._write(removals, removal_file, lambda f: None, ctx.store)}
        checksum = self._write(rows, final, ctx.progress, ctx.store)
        # Rows sent are the removals too: a diff of 237 removals and no adds sent 237 rows, not 0.
        return Delivered(rows=rows.num_rows + detail.get("removals", 0), checksum=checksum, output_path=str(final),
                         detail=detail)

    def _write(self, rows: pa.Table, final: Path, progress: Callable[[float], None], store: FileStore) -> str:
        def write(local: Path) -> str:
            if self.file_format == "parquet":
                checksum = write_parquet(rows, local, progress=progress)
            else:
                checksum = write_csv(rows, local, progress=progress, hex_columns=self.hashed_columns())
            self.check_written(local)
            return checksum

        return store.write(final, write)

    def check_written(self, local: Path) -> None:
        """Refuse a written file the platform would not take (removing it), before the store keeps it."""


class CsvDestination(FileDestination):
    name = "csv"
    label = "CSV file"
    seconds_per_row = 1.5e-6


class ParquetDestination(FileDestination):
    name = "parquet"
    label = "Parquet file"
    file_format = "parquet"
    seconds_per_row = 1e-6
