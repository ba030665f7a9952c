"""The atomic CSV writer: exact bytes, checksum of those bytes, nothing left behind on failure."""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import random

import pyarrow as pa
import pytest

from services.errors import ExportError
from services.exports import files
from services.exports.files import partial_path, write_csv


def python_csv(rows: pa.Table) -> bytes:
    """The reference answer: what the standard library writes for the same rows (NULL as an empty field)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(rows.column_names)
    writer.writerows(zip(*(rows.column(name).to_pylist() for name in rows.column_names)))
    return text.getvalue().encode("utf-8")


def meta_like(n: int) -> pa.Table:
    rng = random.Random(11)

    def digest() -> str | None:
        return None if rng.random() < 0.1 else hashlib.sha256(rng.randbytes(8)).hexdigest()

    return pa.table({"extern_id": [f"C{rng.randrange(10**7):07d}" for _ in range(n)],
                     "email": [digest() for _ in range(n)],
                     "phone": [digest() for _ in range(n)],
                     "fn": [None] * n})


@pytest.fixture
def small_chunks(monkeypatch):
    # Small enough that the rows below span many chunks, and so many formatting and write rounds.
    monkeypatch.setattr(files, "CHUNK_ROWS", 7)


def test_plain_rows_over_many_chunks_are_what_the_csv_module_writes(small_chunks, tmp_path):
    rows = meta_like(100)
    fractions: list[float] = []
    final = tmp_path / "out" / "meta.csv"
    checksum = write_csv(rows, final, progress=fractions.append, hex_columns=("email", "phone", "fn"))
    data = final.read_bytes()
    assert data == python_csv(rows)
    assert checksum == hashlib.sha256(data).hexdigest()
    assert not partial_path(final).exists()
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) == 15


def test_values_that_need_quoting_round_trip_through_the_csv_module(small_chunks, tmp_path):
    values = ["plain", "a,b", 'say "hi"', "two\nlines", "cr\r\nlf", "café ☕", None, "", " padded ", "日本語,\""]
    rows = pa.table({"id": [f"C{i:03d}" for i in range(40)],
                     "note": [values[i % len(values)] for i in range(40)],
                     "city": [values[(i * 3) % len(values)] for i in range(40)]})
    assert not files._plain(rows)
    final = tmp_path / "quoted.csv"
    checksum = write_csv(rows, final)
    data = final.read_bytes()
    assert checksum == hashlib.sha256(data).hexdigest()
    assert not partial_path(final).exists()
    with open(final, newline="", encoding="utf-8") as handle:
        parsed = list(csv.reader(handle))
    # NULL and the empty string both read back as an empty field.
    expected = [rows.column_names] + [["" if v is None else v for v in row]
                                      for row in zip(*(rows.column(n).to_pylist() for n in rows.column_names))]
    assert parsed == expected


def test_quoted_output_bytes(tmp_path):
    # Arrow's "needed" quoting puts every text value and header name in quotes; a NULL stays an
    # empty, unquoted field, so it is told apart from an empty string.
    rows = pa.table({"a": ["x,1", None, 'say "hi"', ""], "b": ["é\nf", "2", None, "z"]})
    final = tmp_path / "quoted.csv"
    write_csv(rows, final)
    assert final.read_bytes() == ('"a","b"\n"x,1","é\nf"\n,"2"\n"say ""hi""",\n"","z"\n').encode()


@pytest.mark.parametrize("name", ["first,last", 'say "hi"', "two\nlines", "cr\rname"])
def test_a_column_name_that_needs_quoting_is_quoted(name, tmp_path):
    rows = pa.table({"id": ["C1", "C2"], name: ["x", None]})
    final = tmp_path / "named.csv"
    write_csv(rows, final)
    with open(final, newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [["id", name], ["C1", "x"], ["C2", ""]]


def test_an_empty_table_is_its_header(tmp_path):
    rows = pa.table({"a": pa.array([], pa.string()), "b": pa.array([], pa.string())})
    final = tmp_path / "empty.csv"
    checksum = write_csv(rows, final)
    assert final.read_bytes() == b"a,b\n"
    assert checksum == hashlib.sha256(b"a,b\n").hexdigest()


class _FailingFile:
    """A real file whose third write fails as a full disk would."""

    def __init__(self, handle):
        self._handle, self._writes = handle, 0

    def write(self, data):
        self._writes += 1
        if self._writes == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._handle.__exit__(*exc)


def test_a_failed_write_leaves_neither_file_and_raises_export_error(small_chunks, monkeypatch, tmp_path):
    monkeypatch.setattr(files, "open", lambda *a, **k: _FailingFile(open(*a, **k)), raising=False)
    final = tmp_path / "meta.csv"
    with pytest.raises(ExportError, match="No space left on device"):
        write_csv(meta_like(100), final, hex_columns=("email", "phone", "fn"))
    assert not final.exists()
    assert not partial_path(final).exists()


def test_a_broken_promise_of_hex_columns_fails_without_a_file(small_chunks, tmp_path):
    # A column declared as digests is not scanned for quoting; a comma in it must not give a corrupt file.
    rows = pa.table({"id": [f"C{i}" for i in range(20)], "email": ["ab"] * 19 + ["a,b"]})
    final = tmp_path / "meta.csv"
    with pytest.raises(pa.ArrowInvalid):
        write_csv(rows, final, hex_columns=("email",))
    assert not final.exists()
    assert not partial_path(final).exists()


def test_a_failed_flush_while_writing_fails_the_export_though_the_last_fsync_succeeds(small_chunks, monkeypatch,
                                                                                     tmp_path):
    # Linux reports a lost writeback to one fsync only; the one that comes after may well succeed.
    def lost_writeback(fd):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(files, "_SYNC_BYTES", 1)
    monkeypatch.setattr(os, "fdatasync", lost_writeback)
    final = tmp_path / "meta.csv"
    with pytest.raises(ExportError, match="I/O error"):
        write_csv(meta_like(100), final, hex_columns=("email", "phone", "fn"))
    assert not final.exists()
    assert not partial_path(final).exists()
