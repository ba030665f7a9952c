"""Land a real transaction file in the raw zone and rebuild from it.

Accepts CSV (one separator character), whitespace-separated text and Parquet.
Every record is landed verbatim in ingest ``stg_raw``; records that parse
become transactions in txn ``stg_transactions`` (source system
``file_import``); records that do not go to ingest ``ref_parsing_errors`` with
their line number and the reason. Nothing is dropped silently: loaded +
rejected + blank equals the records read, and an audit row records it. All of
it lands in one transaction: a killed import leaves nothing behind, and
importing again lands the file once.

Reading is strict, because a value silently changed is worse than one refused:

* the text must be UTF-8; a file that is not is one clear error, nothing lands;
* CSV is read by the csv module over the text with only ``\n``, ``\r\n`` and
  ``\r`` ending a line (a form feed or U+2028 inside a field stays there) and a
  quoted field may hold line breaks; a record's line number is the line it
  starts on; a field longer than the csv module's limit rejects its record;
* ``--sep`` is exactly one character; a file named ``.parquet`` must be Parquet;
* an amount is ASCII: an optional sign, digits, and optionally a point and up
  to six decimals (no ``1_000``, no other digits than 0-9, no exponent);
* a date must be ASCII too, and no later than the load day (the day it lands)
  nor before 1900-01-01: a date in the future would move the as-of date;
* the currency must be USD or one the warehouse has rates for, checked before
  anything lands, and a line posted before its first rate is rejected (the
  build could not convert it).

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from services import checkpoints, clock, naming
from services.errors import ImportFileError
from services.sqlterms import column, equals
from services.warehouse import Rows, Warehouse

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999999999.99")
#: an amount as the file may write it: ASCII digits, a sign, at most six decimals
AMOUNT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]{1,6})?")
#: no transaction is dated before this day (a year 0001 or 1000 is a typo, not a purchase)
EARLIEST_DAY = date(1900, 1, 1)
JAVA_DATE_TOKENS = (("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))
RATES = naming.fq("txn", "ref_exchange_rates")


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


def _decoded(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ImportFileError(f"{path.name} is not UTF-8 text: byte 0x{data[exc.start]:02X} on line {line} cannot be "
                              "read; save the file as UTF-8 and import it again") from None


def _csv_records(lines: list[str], sep: str) -> Iterator[tuple[int, str, list[str] | None, str]]:
    """(first line number, raw text, fields or None, why not) per record; a record may span lines."""
    consumed: list[tuple[int, str]] = []

    def feed() -> Iterator[str]:
        for number, line in enumerate(lines, start=1):
            consumed.append((number, line))
            yield line

    reader = csv.reader(feed(), delimiter=sep)
    while True:
        try:
            fields, why = next(reader), ""
        except StopIteration:
            return
        except csv.Error as exc:
            # The record is lost to the reader, which starts afresh on the next line.
            fields, why = None, str(exc)
        if not consumed:
            return
        first, raw = consumed[0][0], "".join(line for _, line in consumed)
        consumed.clear()
        yield first, raw.removesuffix("\n").removesuffix("\r"), fields, why


def _read_text(path: Path, *, sep: str, whitespace: bool, header: bool):
    """(header fields, records, rejections, content hash); a record is (line number, raw text, fields)."""
    text = _decoded(path)
    # newline="": only \n, \r\n and \r end a line (str.splitlines would also split on a form feed or U+2028).
    lines = list(io.StringIO(text, newline=""))
    if whitespace:
        parsed = ((n, line.rstrip("\r\n"), line.split(), "") for n, line in enumerate(lines, start=1))
    else:
        parsed = _csv_records(lines, sep)
    records, rejected = [], []
    header_fields = None
    for number, raw, fields, why in parsed:
        if header and header_fields is None:
            if not raw.strip():
                continue
            if fields is None:
                raise ImportFileError(f"{path.name}: the header line cannot be read ({why})")
            header_fields = [h.strip() for h in fields]
            continue
        if fields is None:
            limit = csv.field_size_limit()
            detail = f"(more than {limit:,} characters)" if "field limit" in why else why
            rejected.append(Rejection(number, raw, None, "a field is longer than the reader takes"
                                      if "field limit" in why else "unreadable record", detail))
            continue
        records.append((number, raw, fields if raw.strip() else []))
    if header and header_fields is None:
        raise ImportFileError(f"{path.name} has no header line")
    return header_fields, records, rejected, hashlib.sha256(text.encode("utf-8")).hexdigest()


def _parquet_text(value) -> str:
    return "" if value is None else str(value)


def _read_parquet(path: Path):
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImportFileError(f"{path.name} is not a Parquet file ({reason}); a CSV file should not be named "
                              ".parquet") from None
    header_fields = table.column_names
    records = []
    for i, row in enumerate(table.to_pylist()):
        values = [_parquet_text(v) for v in row.values()]
        records.append((i + 1, ",".join(values), values))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return header_fields, records, [], digest


def _parse_amount(value: str) -> Decimal:
    """An exact amount, rounded half up to cents; ValueError for anything but a plain ASCII decimal."""
    text = value.strip()
    if not AMOUNT.fullmatch(text):
        raise ValueError(text)
    amount = Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(text)
    return amount


def parse_records(records, *, customer: int, date: int, amount: int, date_format: str | None,
                  load_day: date | None = None, currency: str = "USD", first_rate: date | None = None):
    """Split records into parsed rows and Rejections.

    ``load_day``: the day the file lands; a later posting date is rejected. ``first_rate``: the
    first day ``currency`` has an exchange rate (None for USD); an earlier posting is rejected.
    """
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
            if not text_date.isascii():
                raise ValueError(text_date)
            posted = datetime.strptime(text_date, fmt) if fmt else datetime.fromisoformat(text_date)
        except ValueError:
            how = f"using format {date_format!r}" if date_format else "as an ISO date (give --date-format)"
            rejected.append(Rejection(line_number, raw, "date", "cannot parse date", f"{text_date!r} {how}"))
            continue
        if posted.tzinfo is not None:
            # Stored naive UTC, as every timestamp is, whatever the machine's zone.
            posted = posted.astimezone(UTC).replace(tzinfo=None)
        day = posted.date()
        if load_day is not None and day > load_day:
            rejected.append(Rejection(line_number, raw, "date", "posted after the load day",
                                      f"{day} is after {load_day}"))
            continue
        if day < EARLIEST_DAY:
            rejected.append(Rejection(line_number, raw, "date", f"posted before {EARLIEST_DAY}", str(day)))
            continue
        if first_rate is not None and day < first_rate:
            rejected.append(Rejection(line_number, raw, "date", f"no exchange rate for {currency} on or before {day}",
                                      f"(its rates start on {first_rate})"))
            continue
        try:
            value = _parse_amount(fields[amount])
        except ValueError:
            rejected.append(Rejection(line_number, raw, "amount", "cannot parse amount", repr(fields[amount].strip())))
            continue
        good.append((line_number, cust, posted, value))
    return good, rejected


def _first_rate(warehouse: Warehouse, currency: str) -> date | None:
    """The first day the warehouse has a rate for ``currency`` (None for USD, which needs none)."""
    if currency == "USD":
        return None
    first = warehouse.scalar(exp.select(exp.func("MIN", column("rate_date"))).from_(RATES)
                             .where(equals("currency", currency)))
    if first is None:
        known = warehouse.arrow(exp.select(column("currency")).distinct().from_(RATES)
                                .order_by(column("currency"))).column(0).to_pylist()
        have = ", ".join(["USD", *known])
        raise ImportFileError(f"--currency {currency}: the warehouse has no exchange rates for {currency} (it converts "
                              f"{have}); load its rates into {RATES} first, or give the right currency")
    return first.date() if isinstance(first, datetime) else first


def _separator(sep: str) -> str:
    if sep == "\\t":
        return "\t"  # what a shell passes for --sep '\t'
    if len(sep) != 1 or sep in "\r\n\"":
        raise ImportFileError(f"--sep must be exactly one character (not a quote or a line break), got {sep!r}; "
                              "use --whitespace for runs of spaces or tabs")
    return sep


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
    """Land ``path`` in the raw zone (stg_raw, stg_transactions, ref_parsing_errors, audit_ingest), in one transaction."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}")
    currency = currency.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ImportFileError(f"--currency {currency!r} is not a three-letter ISO currency code")
    if not whitespace:
        sep = _separator(sep)
    first_rate = _first_rate(warehouse, currency)
    if path.suffix.lower() in (".parquet", ".pq"):
        header_fields, records, unreadable, digest = _read_parquet(path)
    else:
        header_fields, records, unreadable, digest = _read_text(path, sep=sep, whitespace=whitespace, header=header)
    cols = {
        "customer": _column_index(customer_col, header_fields, "customer"),
        "date": _column_index(date_col, header_fields, "date"),
        "amount": _column_index(amount_col, header_fields, "amount"),
    }
    blank = [r for r in records if not r[2] and not r[1].strip()]
    data = [r for r in records if r[2] or r[1].strip()]
    landed = clock.now()
    good, errors = parse_records(data, date_format=date_format, load_day=landed.date(), currency=currency,
                                 first_rate=first_rate, **cols)
    errors = sorted(unreadable + errors, key=lambda e: e.line_number)
    every = sorted([(r[0], r[1]) for r in records] + [(e.line_number, e.raw) for e in unreadable])
    checkpoints.reached("import.parsed")

    batch_id = f"import-{landed:%Y%m%d%H%M%S}-{digest[:8]}"
    source_file = str(path.resolve())
    steps = [Rows(naming.fq("ingest", "stg_raw"), pd.DataFrame({
        "batch_id": batch_id, "source_file": source_file,
        "line_number": pd.array([number for number, _ in every], dtype="int64"),
        "raw_line": [raw for _, raw in every], "landed_ts": landed,
    }))]
    if good:
        amounts = [g[3] for g in good]
        steps.append(Rows(naming.fq("txn", "stg_transactions"), pa.table({
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
        })))
    if errors:
        steps.append(Rows(naming.fq("ingest", "ref_parsing_errors"), pd.DataFrame({
            "error_id": [f"{batch_id}-{e.line_number}" for e in errors], "batch_id": batch_id,
            "source_file": source_file, "line_number": pd.array([e.line_number for e in errors], dtype="int64"),
            "raw_line": [e.raw for e in errors], "column_name": [e.column for e in errors],
            "reason": [e.reason for e in errors], "logged_ts": landed,
        })))
    reasons = dict(Counter(e.kind for e in errors))
    accounted = len(good) + len(errors) + len(blank)
    steps.append(Rows(naming.fq("ingest", "audit_ingest"), pd.DataFrame([{
        "audit_id": clock.new_id("imp"), "run_id": batch_id, "batch_id": batch_id,
        "source_table": source_file, "target_table": naming.fq("txn", "stg_transactions"),
        "source_rows": len(every), "target_rows": accounted,
        "source_checksum": digest, "target_checksum": f"loaded={len(good)};rejected={len(errors)};blank={len(blank)}",
        "status": "matched" if accounted == len(every) else "mismatch",
        "started_ts": landed, "finished_ts": clock.now(),
        "message": f"{len(good)} loaded, {len(errors)} rejected to ref_parsing_errors, {len(blank)} blank lines",
    }])))
    # Raw lines, transactions, rejections and the audit row land together or not at all.
    with checkpoints.during("import.landing"):
        warehouse.transaction(steps)
    checkpoints.reached("import.landed")
    return ImportResult(batch_id, source_file, len(every), len(good), len(errors), len(blank),
                        len({g[1] for g in good}), reasons)
