"""Land a real transaction file in the raw zone and rebuild from it.

Accepts CSV (any separator), whitespace-separated text and Parquet. Every
data line is landed verbatim in ingest ``stg_raw``; lines that parse become
transactions in txn ``stg_transactions`` (source system ``file_import``);
lines that do not go to ingest ``ref_parsing_errors`` with their line number
and the reason. Nothing is dropped silently: loaded + rejected + blank equals
the lines read, and an audit row records it.

A transaction's id is derived from the file's content hash and its line
number, so importing the same file twice lands it twice (the raw zone is
append-only) but the silver layer deduplicates it to one transaction.
Amounts are parsed as exact decimals; a negative amount is a refund of its
absolute value, anything else a purchase.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from services import clock, naming
from services.errors import ImportFileError
from services.warehouse import Warehouse

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999999999.99")
JAVA_DATE_TOKENS = (("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))


@dataclass(frozen=True)
class Rejection:
    """A line that did not parse: where, the column at fault (None when fields are missing), what is
    wrong (``kind``: the text a rejection is counted by) and the offending value as read (``detail``)."""

    line_number: int
    raw: str
    column: str | None
    kind: str
    detail: str = ""

    @property
    def reason(self) -> str:
        """What ref_parsing_errors records: the kind and the detail."""
        return f"{self.kind} {self.detail}" if self.detail else self.kind


@dataclass(frozen=True)
class ImportResult:
    batch_id: str
    source_file: str
    lines_read: int
    loaded: int
    rejected: int
    blank: int
    customers: int
    #: rejected lines by kind of problem ("cannot parse amount": 3)
    reasons: dict[str, int] = field(default_factory=dict)


def strptime_format(fmt: str | None) -> str | None:
    """Accept strptime formats (``%Y%m%d``) and Spark/Java ones (``yyyyMMdd``)."""
    if fmt is None or "%" in fmt:
        return fmt
    out = fmt
    for token, replacement in JAVA_DATE_TOKENS:
        out = out.replace(token, replacement)
    return out


def _column_index(spec: str, header: list[str] | None, what: str) -> int:
    if header is not None and spec in header:
        return header.index(spec)
    if re.fullmatch(r"\d+", spec):
        position = int(spec)
        if position < 1:
            raise ImportFileError(f"--{what}-col {spec}: column positions start at 1")
        return position - 1
    known = ", ".join(header) if header else "(no header: give 1-based positions)"
    raise ImportFileError(f"--{what}-col {spec!r} is not a column of the file; columns are: {known}")


def _read_text(path: Path, *, sep: str, whitespace: bool, header: bool):
    """Yield (line_number, raw_line, fields) for every line; header separately."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    lines = text.splitlines()
    header_fields = None
    start = 0
    if header:
        while start < len(lines) and not lines[start].strip():
            start += 1
        if start == len(lines):
            raise ImportFileError(f"{path} has no header line")
        header_fields = [h.strip() for h in (lines[start].split() if whitespace else next(csv.reader([lines[start]], delimiter=sep)))]
        start += 1
    records = []
    for i in range(start, len(lines)):
        raw = lines[i]
        if whitespace:
            fields = raw.split()
        else:
            fields = next(csv.reader(io.StringIO(raw), delimiter=sep), []) if raw.strip() else []
        records.append((i + 1, raw, fields))
    return header_fields, records, hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_parquet(path: Path):
    table = pq.read_table(path)
    header_fields = table.column_names
    rows = table.to_pylist()
    records = [
        (i + 1, ",".join("" if v is None else str(v) for v in row.values()),
         ["" if v is None else str(v) for v in row.values()])
        for i, row in enumerate(rows)
    ]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return header_fields, records, digest


def _parse_amount(value: str) -> Decimal:
    amount = Decimal(value.strip())
    if not amount.is_finite():
        raise InvalidOperation
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if abs(amount) > MAX_AMOUNT:
        raise InvalidOperation
    return amount


def parse_records(records, *, customer: int, date: int, amount: int, date_format: str | None):
    """Split records into parsed rows and Rejections."""
    good: list[tuple] = []
    rejected: list[Rejection] = []
    fmt = strptime_format(date_format)
    needed = max(customer, date, amount) + 1
    for line_number, raw, fields in records:
        if len(fields) < needed:
            rejected.append(Rejection(line_number, raw, None, f"expected at least {needed} fields, found {len(fields)}"))
            continue
        cust = fields[customer].strip()
        if not cust:
            rejected.append(Rejection(line_number, raw, "customer", "empty customer id"))
            continue
        text_date = fields[date].strip()
        try:
            posted = datetime.strptime(text_date, fmt) if fmt else datetime.fromisoformat(text_date)
        except ValueError:
            how = f"using format {date_format!r}" if date_format else "as an ISO date (give --date-format)"
            rejected.append(Rejection(line_number, raw, "date", "cannot parse date", f"{text_date!r} {how}"))
            continue
        if posted.tzinfo is not None:
            # Stored naive UTC, as every timestamp is, whatever the machine's zone.
            posted = posted.astimezone(UTC).replace(tzinfo=None)
        try:
            value = _parse_amount(fields[amount])
        except (InvalidOperation, ValueError):
            rejected.append(Rejection(line_number, raw, "amount", "cannot parse amount", repr(fields[amount].strip())))
            continue
        good.append((line_number, cust, posted, value))
    return good, rejected


def import_transactions(
    warehouse: Warehouse,
    path: str | Path,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str,
    date_format: str | None = None,
    sep: str = ",",
    whitespace: bool = False,
    header: bool = True,
    currency: str = "USD",
) -> ImportResult:
    """Land ``path`` in the raw zone (stg_raw, stg_transactions, ref_parsing_errors)."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}")
    currency = currency.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ImportFileError(f"--currency {currency!r} is not a three-letter ISO currency code")
    if path.suffix.lower() in (".parquet", ".pq"):
        header_fields, records, digest = _read_parquet(path)
    else:
        header_fields, records, digest = _read_text(path, sep=sep, whitespace=whitespace, header=header)
    cols = {
        "customer": _column_index(customer_col, header_fields, "customer"),
        "date": _column_index(date_col, header_fields, "date"),
        "amount": _column_index(amount_col, header_fields, "amount"),
    }
    blank = [r for r in records if not r[2] and not r[1].strip()]
    data = [r for r in records if r[2] or r[1].strip()]
    good, errors = parse_records(data, date_format=date_format, **cols)

    landed = clock.now()
    batch_id = f"import-{landed:%Y%m%d%H%M%S}-{digest[:8]}"
    source_file = str(path.resolve())
    warehouse.append(naming.fq("ingest", "stg_raw"), pd.DataFrame({
        "batch_id": batch_id, "source_file": source_file,
        "line_number": pd.array([r[0] for r in records], dtype="int64"),
        "raw_line": [r[1] for r in records], "landed_ts": landed,
    }))
    if good:
        amounts = [g[3] for g in good]
        warehouse.append(naming.fq("txn", "stg_transactions"), pa.table({
            "batch_id": pa.array([batch_id] * len(good)),
            "landed_ts": pa.array([landed] * len(good), pa.timestamp("us")),
            "source_system_id": pa.array(["file_import"] * len(good)),
            "source_file": pa.array([source_file] * len(good)),
            "line_number": pa.array([g[0] for g in good], pa.int64()),
            "transaction_id": pa.array([f"F{digest[:12]}-{g[0]}" for g in good]),
            "customer_id": pa.array([g[1] for g in good]),
            "txn_type": pa.array(["refund" if a < 0 else "purchase" for a in amounts]),
            "amount": pa.array([abs(a) for a in amounts], pa.decimal128(18, 2)),
            "discount_amount": pa.array([Decimal("0.00")] * len(good), pa.decimal128(18, 2)),
            "currency": pa.array([currency] * len(good)),
            "posted_ts": pa.array([g[2] for g in good], pa.timestamp("us")),
        }))
    if errors:
        warehouse.append(naming.fq("ingest", "ref_parsing_errors"), pd.DataFrame({
            "error_id": [f"{batch_id}-{e.line_number}" for e in errors], "batch_id": batch_id,
            "source_file": source_file, "line_number": pd.array([e.line_number for e in errors], dtype="int64"),
            "raw_line": [e.raw for e in errors], "column_name": [e.column for e in errors],
            "reason": [e.reason for e in errors], "logged_ts": landed,
        }))
    reasons = dict(Counter(e.kind for e in errors))
    accounted = len(good) + len(errors) + len(blank)
    warehouse.append(naming.fq("ingest", "audit_ingest"), pd.DataFrame([{
        "audit_id": clock.new_id("imp"), "run_id": batch_id, "batch_id": batch_id,
        "source_table": source_file, "target_table": naming.fq("txn", "stg_transactions"),
        "source_rows": len(records), "target_rows": accounted,
        "source_checksum": digest, "target_checksum": f"loaded={len(good)};rejected={len(errors)};blank={len(blank)}",
        "status": "matched" if accounted == len(records) else "mismatch",
        "started_ts": landed, "finished_ts": clock.now(),
        "message": f"{len(good)} loaded, {len(errors)} rejected to ref_parsing_errors, {len(blank)} blank lines",
    }]))
    return ImportResult(batch_id, source_file, len(records), len(good), len(errors), len(blank),
                        len({g[1] for g in good}), reasons)
