"""Finding 5: the importer as a careless user feeds it.

Every bad file is one line on stderr from the real command line (no
traceback) and lands nothing; every bad line is rejected with its line number
and reason; and always rows in = rows landed + rows rejected (+ blank lines).
Before the fix a 1 MB field, ``--sep ';;'``, ``--sep ''`` and a CSV named
``.parquet`` gave tracebacks, non-UTF-8 bytes became U+FFFD, a form feed or
U+2028 split a line, a quoted newline loaded its tail as a customer id,
``1_000``, Arabic digits and ``1e-3`` were amounts, and ``--currency XYZ``
landed rows that broke every later build.
"""

from __future__ import annotations

import shutil

import pytest

from services import naming
from services.importer import import_transactions
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.processes import cli

STG_RAW, STG = naming.fq("ingest", "stg_raw"), naming.fq("txn", "stg_transactions")
ERRORS = naming.fq("ingest", "ref_parsing_errors")


def landed(path) -> tuple[int, int]:
    warehouse = DuckDBWarehouse(path, read_only=True)
    try:
        return warehouse.scalar(f"SELECT COUNT(*) FROM {STG_RAW}"), warehouse.scalar(f"SELECT COUNT(*) FROM {STG}")
    finally:
        warehouse.close()


@pytest.fixture
def warehouse_path(demo_warehouse_path, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    return path


@pytest.mark.parametrize("name, content, flags, says", [
    pytest.param("t.csv", b"c,d,a\nx,2024-01-01,1\n", ["--sep", ";;"], "exactly one character", id="two-char-sep"),
    pytest.param("t.csv", b"c,d,a\nx,2024-01-01,1\n", ["--sep", ""], "exactly one character", id="empty-sep"),
    pytest.param("t.parquet", b"c,d,a\nx,2024-01-01,1\n", [], "not a Parquet file", id="csv-named-parquet"),
    pytest.param("t.csv", b"c,d,a\nx,2024-01-01,1\ncaf\xe9,2024-01-02,2\n", [], "not UTF-8", id="latin-1"),
    pytest.param("t.csv", b"c,d,a\nx,2024-01-01,1\n", ["--currency", "XYZ"], "no exchange rates for XYZ",
                 id="unknown-currency"),
])
def test_a_bad_file_is_one_line_of_error_and_lands_nothing(warehouse_path, tmp_path, name, content, flags, says):
    data = tmp_path / name
    data.write_bytes(content)
    before = landed(warehouse_path)
    done = cli("import-transactions", data, "--customer-col", "c", "--date-col", "d", "--amount-col", "a",
               "--warehouse", warehouse_path, "--quiet", *flags)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    assert landed(warehouse_path) == before


def import_text(warehouse, tmp_path, text: str, **options):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    result = import_transactions(warehouse, path, customer_col="c", date_col="d", amount_col="a", **options)
    assert result.lines_read == result.loaded + result.rejected + result.blank            # rows in = out
    rows = warehouse.arrow(f"SELECT customer_id, amount FROM {STG} WHERE batch_id = '{result.batch_id}' "
                           "ORDER BY line_number").to_pylist()
    errors = warehouse.arrow(f"SELECT line_number, reason FROM {ERRORS} WHERE batch_id = '{result.batch_id}' "
                             "ORDER BY line_number").to_pylist()
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {STG_RAW} WHERE batch_id = '{result.batch_id}'") == result.lines_read
    return result, [(r["customer_id"], str(r["amount"])) for r in rows], [(e["line_number"], e["reason"]) for e in errors]


def test_a_megabyte_field_is_a_rejected_line_and_the_rest_loads(empty_warehouse, tmp_path):
    result, rows, errors = import_text(empty_warehouse, tmp_path,
                                       "c,d,a,note\nx,2024-01-01,1,ok\ny,2024-01-02,2," + "z" * 1_000_000 + "\n"
                                       "w,2024-01-03,3,ok\n")
    assert rows == [("x", "1.00"), ("w", "3.00")]
    assert [line for line, _ in errors] == [3] and "longer than" in errors[0][1]


def test_only_line_breaks_end_a_line(empty_warehouse, tmp_path):
    # A form feed, a vertical tab, U+2028 and U+0085 inside a field stay in it.
    result, rows, errors = import_text(empty_warehouse, tmp_path,
                                       "c,d,a\nx\fy,2024-01-01,1\nv\u2028w,2024-01-02,2\nq\x85r\x0bs,2024-01-03,3\n")
    assert rows == [("x\fy", "1.00"), ("v\u2028w", "2.00"), ("q\x85r\x0bs", "3.00")] and errors == []
    assert result.lines_read == 3


def test_a_quoted_newline_stays_in_its_field(empty_warehouse, tmp_path):
    result, rows, errors = import_text(empty_warehouse, tmp_path,
                                       'c,d,a,note\nx,2024-01-01,1,"two\nlines"\ny,2024-01-02,2,one\n')
    assert rows == [("x", "1.00"), ("y", "2.00")] and errors == []
    assert result.lines_read == 2                     # two records; the second starts on line 4
    starts = empty_warehouse.arrow(f"SELECT line_number, raw_line FROM {STG_RAW} WHERE batch_id = '{result.batch_id}' "
                                   "ORDER BY line_number").to_pylist()
    assert starts == [{"line_number": 2, "raw_line": 'x,2024-01-01,1,"two\nlines"'},
                      {"line_number": 4, "raw_line": "y,2024-01-02,2,one"}]


def test_amounts_are_plain_ascii_decimals(empty_warehouse, tmp_path):
    amounts = ["10", "-3.25", "+5.5", "100.005", "1_000", "\u0661\u0662\u0663", "1e-3", "NaN", "Infinity", "0x10",
               "1.1234567", ".5", "5.", "1,5", "\uff11\uff12"]
    text = "c,d,a\n" + "".join(f'c{i},2024-01-0{1 + i % 9},"{a}"\n' for i, a in enumerate(amounts))
    result, rows, errors = import_text(empty_warehouse, tmp_path, text)
    assert rows == [("c0", "10.00"), ("c1", "3.25"), ("c2", "5.50"), ("c3", "100.01")]
    assert [line for line, _ in errors] == list(range(6, 2 + len(amounts)))
    assert all(reason.startswith("cannot parse amount") for _, reason in errors)


def test_a_known_currency_rejects_lines_before_its_first_rate(warehouse_path, tmp_path):
    warehouse = DuckDBWarehouse(warehouse_path)
    first = warehouse.scalar(f"SELECT MIN(rate_date) FROM {naming.fq('txn', 'ref_exchange_rates')} "
                             "WHERE currency = 'CAD'")
    text = f"c,d,a\nx,{first},1\ny,1999-01-01,2\n"
    result, rows, errors = import_text(warehouse, tmp_path, text, currency="CAD")
    warehouse.close()
    assert rows == [("x", "1.00")] and errors == [(3, f"no exchange rate for CAD on or before 1999-01-01 "
                                                     f"(its rates start on {first})")]
