"""CSV and Parquet files, written atomically.

A file appears whole under its final name or not at all: rows go to a
``.partial`` file beside the target, which is renamed over the final name
(``os.replace``, atomic on one filesystem) only once it is complete. A job
that dies half-way leaves at most a ``.partial`` file, which the next run of
the same job removes before it starts. The checksum is the SHA-256 of the
file's bytes, taken while writing so a large file is not read twice.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from services.errors import ExportError
from services.exports.base import Delivered, DeliveryContext, Destination

CHUNK_ROWS = 100_000


def partial_path(final: Path) -> Path:
    return final.with_name(final.name + ".partial")


def remove_partial(final: Path) -> None:
    """Clear what a killed run of the same job left behind (a removals file is whole or absent)."""
    partial_path(final).unlink(missing_ok=True)
    partial_path(removals_path(final)).unlink(missing_ok=True)


def _finish(tmp: Path, final: Path) -> None:
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)


_NEEDS_QUOTING = r'[",\r\n]'


def _plain(rows: pa.Table, hex_columns: tuple[str, ...] = ()) -> bool:
    """True when every column is text and no value needs CSV quoting (hex digests, ids, digits...).

    ``hex_columns`` hold SHA-256 digests (or NULL) by construction, so they need no scan.
    """
    if not all(pa.types.is_string(f.type) or pa.types.is_large_string(f.type) or pa.types.is_null(f.type)
               for f in rows.schema):
        return False
    if any(",\"" in name or "\n" in name for name in rows.column_names):
        return False
    return not any(pc.any(pc.match_substring_regex(rows.column(name), _NEEDS_QUOTING)).as_py()
                   for name in rows.column_names
                   if name not in hex_columns and not pa.types.is_null(rows.schema.field(name).type))


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


def write_csv(rows: pa.Table, final: Path, *, progress: Callable[[float], None] = lambda f: None,
              hex_columns: tuple[str, ...] = ()) -> str:
    """Write ``rows`` as CSV (header, UTF-8, RFC 4180 quoting) to ``final`` atomically; return its SHA-256."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(final)
    digest = hashlib.sha256()
    plain = _plain(rows, hex_columns)

    def emit(out, data) -> None:
        digest.update(data)
        out.write(data)

    try:
        # One writer thread hashes and writes chunk n while this thread formats chunk n+1
        # (hashing, file writes and Arrow kernels all release the GIL); one worker keeps the order.
        with open(tmp, "wb") as out, ThreadPoolExecutor(max_workers=1) as writer:
            pending = []
            total = max(rows.num_rows, 1)
            for start in range(0, max(rows.num_rows, 1), CHUNK_ROWS):
                chunk = rows.slice(start, CHUNK_ROWS)
                if plain and start == 0:
                    # Arrow quotes header names even when told not to quote: a plain header is written here.
                    pending.append(writer.submit(emit, out, (",".join(rows.column_names) + "\n").encode("utf-8")))
                data = _csv_lines(chunk, plain=plain, header=start == 0 and not plain)
                pending.append(writer.submit(emit, out, data))
                for done in pending[:-1]:
                    done.result()  # surfaces a write error; keeps at most two chunks in memory
                pending = pending[-1:]
                progress(min((start + chunk.num_rows) / total, 1.0))
            for done in pending:
                done.result()
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"cannot write {final}: {exc.strerror or exc}") from exc
    except Exception:
        # Any failure short of the process dying (which the next run's remove_partial clears up).
        tmp.unlink(missing_ok=True)
        raise
    _finish(tmp, final)
    return digest.hexdigest()


def write_parquet(rows: pa.Table, final: Path, *, progress: Callable[[float], None] = lambda f: None) -> str:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(final)
    try:
        with pq.ParquetWriter(tmp, rows.schema, compression="zstd") as writer:
            total = max(rows.num_rows, 1)
            for start in range(0, rows.num_rows, CHUNK_ROWS * 5):
                chunk = rows.slice(start, CHUNK_ROWS * 5)
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


def output_path(ctx: DeliveryContext, suffix: str) -> Path:
    return ctx.output_dir / f"{ctx.file_stem}.{suffix}"


def removals_path(final: Path) -> Path:
    """Where an upload platform's diff puts the members to remove, beside the file of those to add."""
    return final.with_name(final.stem + "-remove" + final.suffix)


class FileDestination(Destination):
    """Any destination whose output is one file (CSV unless ``file_format`` says Parquet)."""

    kind = "file"
    #: Upload platforms (Meta, Google Ads) take a file in their exact columns and add or remove
    #: its members as a whole, so a diff goes out as two files in that format, not one file
    #: with an extra ``action`` column that the platform would reject.
    separate_removals = False

    def deliver(self, rows: pa.Table, ctx: DeliveryContext) -> Delivered:
        final = output_path(ctx, self.file_format)
        detail: dict = {}
        if self.separate_removals and "action" in rows.column_names:
            is_removal = pc.equal(rows.column("action"), "remove")
            removals = rows.filter(is_removal).drop_columns(["action"])
            rows = rows.filter(pc.invert(is_removal)).drop_columns(["action"])
            # Written first, and whole: the job succeeds only once both files are in place.
            removal_file = removals_path(final)
            detail = {"removals_path": str(removal_file), "removals": removals.num_rows,
                      "removals_checksum": self._write(removals, removal_file, lambda f: None)}
        checksum = self._write(rows, final, ctx.progress)
        return Delivered(rows=rows.num_rows, checksum=checksum, output_path=str(final), detail=detail)

    def _write(self, rows: pa.Table, final: Path, progress: Callable[[float], None]) -> str:
        if self.file_format == "parquet":
            return write_parquet(rows, final, progress=progress)
        return write_csv(rows, final, progress=progress, hex_columns=self.hashed_columns())


class CsvDestination(FileDestination):
    name = "csv"
    label = "CSV file"
    seconds_per_row = 1.5e-6


class ParquetDestination(FileDestination):
    name = "parquet"
    label = "Parquet file"
    file_format = "parquet"
    seconds_per_row = 1e-6
