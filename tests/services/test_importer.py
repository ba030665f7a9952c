"""The importer: bad lines are rejected with reasons, good ones give exact RFM inputs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services import naming
from services.build import run_pipeline
from services.errors import ImportFileError
from services.importer import Rejection, import_transactions, parse_records, strptime_format

FEATURES = naming.fq("gold", "gold_customer_features")

MESSY_CSV = """customer,date,amount,note
c1,2024-01-05,10.50,x
c1,2024-02-05,-3.25,refund
c2,2024-02-10,abc,bad amount
c3,2024-13-01,5.00,bad date
,2024-01-01,1.00,missing customer
c4,2024-01-01

c2,2024-03-01,100.005,rounds half up
"c5",2024-03-02,"7.00","quoted"
"""

CDNOW_LIKE = """00001 19970101 1 11.77
00002 19970112 1 12.00
00002 19970112 5 77.00
00003 19970102 2 20.76
00003 19970330 2 20.76
00003 19970402 2 19.54
00003 19971115 5 57.45
00004 19970101 2 29.33
00004 19970118 2 29.73
00004 19970802 1 14.96
00004 19971212 2 26.48
00005 19970101 2 29.33
00005 19980628 0 0.00
"""


def gold(warehouse) -> pd.DataFrame:
    return warehouse.df(f"SELECT * FROM {FEATURES} ORDER BY customer_id").set_index("customer_id")


def test_messy_csv_rejects_bad_lines_with_line_numbers_and_reasons(empty_warehouse, tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text(MESSY_CSV)
    result = import_transactions(empty_warehouse, path, customer_col="customer", date_col="date", amount_col="amount")
    assert (result.lines_read, result.loaded, result.rejected, result.blank) == (9, 4, 4, 1)
    errors = empty_warehouse.df(
        f"SELECT line_number, column_name, reason FROM {naming.fq('ingest', 'ref_parsing_errors')} ORDER BY line_number")
    assert list(errors["line_number"]) == [4, 5, 6, 7]
    assert errors.loc[0, "reason"] == "cannot parse amount 'abc'"
    assert errors.loc[1, "reason"].startswith("cannot parse date '2024-13-01'")
    assert errors.loc[2, "reason"] == "empty customer id"
    assert errors.loc[3, "reason"] == "expected at least 3 fields, found 2"
    assert list(errors["column_name"]) == ["amount", "date", "customer", None]
    # Counted by the kind of problem, as data: no message is cut apart to count it.
    assert result.reasons == {"cannot parse amount": 1, "cannot parse date": 1, "empty customer id": 1,
                              "expected at least 3 fields, found 2": 1}
    # Every line, good or bad, is landed verbatim in the immutable raw zone.
    assert empty_warehouse.scalar(f"SELECT COUNT(*) FROM {naming.fq('ingest', 'stg_raw')}") == 9
    audit = empty_warehouse.df(f"SELECT source_rows, target_rows, status FROM {naming.fq('ingest', 'audit_ingest')}")
    assert audit.to_dict("records") == [{"source_rows": 9, "target_rows": 9, "status": "matched"}]


def test_import_only_warehouse_builds_gold_with_exact_values(empty_warehouse, tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text(MESSY_CSV)
    import_transactions(empty_warehouse, path, customer_col="customer", date_col="date", amount_col="amount")
    result = run_pipeline(empty_warehouse)
    assert result.as_of_date == date(2024, 3, 2)
    rows = gold(empty_warehouse)
    assert list(rows.index) == ["c1", "c2", "c5"]
    assert float(rows.loc["c1", "monetary"]) == 7.25          # 10.50 purchase - 3.25 refund
    assert float(rows.loc["c2", "monetary"]) == 100.01        # 100.005 rounds half up to cents
    assert rows.loc["c1", "frequency"] == 1 and rows.loc["c1", "refund_rate"] == 1.0
    assert rows.loc["c1", "recency_days"] == 57               # 2024-01-05 -> 2024-03-02 (leap year)
    customers = empty_warehouse.scalar(f"SELECT COUNT(*) FROM {naming.fq('txn', 'dim_customer')} WHERE is_current")
    assert customers == 3


def independent_rfm(path: Path) -> pd.DataFrame:
    """Frequency, monetary and recency computed straight from the file with pandas."""
    raw = pd.read_csv(path, sep=r"\s+", header=None, names=["id", "date", "cds", "amount"], dtype={"id": str, "date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    as_of = raw["date"].max()
    out = raw.groupby("id").agg(frequency=("amount", "size"), monetary=("amount", "sum"), last=("date", "max"))
    out["monetary"] = out["monetary"].round(2)
    out["recency_days"] = (as_of - out["last"]).dt.days
    return out


def test_whitespace_file_without_header_matches_an_independent_computation(empty_warehouse, tmp_path):
    path = tmp_path / "cdnow.txt"
    path.write_text(CDNOW_LIKE)
    result = import_transactions(empty_warehouse, path, customer_col="1", date_col="2", amount_col="4",
                                 date_format="yyyyMMdd", whitespace=True, header=False)
    assert (result.loaded, result.rejected) == (13, 0)
    run_pipeline(empty_warehouse)
    ours = gold(empty_warehouse)
    expected = independent_rfm(path)
    assert list(ours.index) == list(expected.index)         # ids keep their leading zeros
    assert list(ours["frequency"]) == list(expected["frequency"])
    assert [float(v) for v in ours["monetary"]] == list(expected["monetary"])
    assert list(ours["recency_days"]) == list(expected["recency_days"])


def test_reimporting_the_same_file_does_not_double_count(empty_warehouse, tmp_path):
    path = tmp_path / "cdnow.txt"
    path.write_text(CDNOW_LIKE)
    for _ in range(2):
        import_transactions(empty_warehouse, path, customer_col="1", date_col="2", amount_col="4",
                            date_format="%Y%m%d", whitespace=True, header=False)
    run_pipeline(empty_warehouse)
    assert empty_warehouse.scalar(f"SELECT COUNT(*) FROM {naming.fq('txn', 'stg_transactions')}") == 26
    assert empty_warehouse.scalar(f"SELECT COUNT(*) FROM {naming.fq('txn', 'fact_transactions')}") == 13


def test_parquet_file(empty_warehouse, tmp_path):
    path = tmp_path / "tx.parquet"
    pq.write_table(pa.table({"cust": ["a", "a", "b"], "day": ["2025-01-01", "2025-01-03", "2025-01-02"],
                             "value": [10.0, 5.5, 1.25]}), path)
    result = import_transactions(empty_warehouse, path, customer_col="cust", date_col="day", amount_col="value")
    assert (result.loaded, result.rejected) == (3, 0)
    run_pipeline(empty_warehouse)
    rows = gold(empty_warehouse)
    assert float(rows.loc["a", "monetary"]) == 15.50 and rows.loc["a", "frequency"] == 2


def test_unknown_column_names_the_columns_that_exist(empty_warehouse, tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text(MESSY_CSV)
    with pytest.raises(ImportFileError, match="'cust' is not a column of the file; columns are: customer, date, amount, note"):
        import_transactions(empty_warehouse, path, customer_col="cust", date_col="date", amount_col="amount")


def test_bad_currency_and_missing_file(empty_warehouse, tmp_path):
    with pytest.raises(ImportFileError, match="no such file"):
        import_transactions(empty_warehouse, tmp_path / "nope.csv", customer_col="a", date_col="b", amount_col="c")
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n")
    with pytest.raises(ImportFileError, match="three-letter"):
        import_transactions(empty_warehouse, path, customer_col="a", date_col="b", amount_col="c", currency="dollars")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("yyyyMMdd", "%Y%m%d", id="spark-compact"),
        pytest.param("dd/MM/yyyy HH:mm", "%d/%m/%Y %H:%M", id="spark-with-time"),
        pytest.param("%m/%d/%Y", "%m/%d/%Y", id="strptime-kept"),
        pytest.param(None, None, id="iso-default"),
    ],
)
def test_date_formats(given, expected):
    assert strptime_format(given) == expected


def test_a_rejected_line_carries_its_column_kind_and_detail():
    records = [(2, "c1;2024-01-05;1,5", ["c1", "2024-01-05", "1,5"]), (3, "c2;05/01/2024;2", ["c2", "05/01/2024", "2"]),
               (4, "c3;2024-01-05;3", ["c3", "2024-01-05", "3"])]
    good, rejected = parse_records(records, customer=0, date=1, amount=2, date_format=None)
    assert [g[:2] for g in good] == [(4, "c3")]
    assert rejected == [
        Rejection(2, "c1;2024-01-05;1,5", "amount", "cannot parse amount", "'1,5'"),
        Rejection(3, "c2;05/01/2024;2", "date", "cannot parse date", "'05/01/2024' as an ISO date (give --date-format)"),
    ]
    assert rejected[0].reason == "cannot parse amount '1,5'"
