"""Landed transaction records the facts leave out, listed where people look for rejected input.

The fact model takes in only records posted on or before the day they landed
(and not before 1900): ``sql/models/ephemeral/raw_transaction_postings.sql``
says why a record is left out. Each build appends the ones not listed yet to
ingest ``ref_parsing_errors`` (``sql/reconcile/rejected_postings.sql``), beside
the lines the importer rejected, whichever process landed them. The listing
is an anti-join on a stable error id, so a build interrupted anywhere lists
them at the next one, and never twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from services import naming, sqlfiles
from services.sqlterms import column, timestamp_literal
from services.warehouse import Warehouse

ERRORS = naming.fq("ingest", "ref_parsing_errors")
COLUMNS = ("error_id", "batch_id", "source_file", "line_number", "raw_line", "column_name", "reason",
           "source_system_id")


def record_rejected_postings(warehouse: Warehouse, *, logged_ts: datetime) -> None:
    """Append to ref_parsing_errors every rejected posting it does not list yet."""
    rejected = sqlfiles.query("reconcile/rejected_postings.sql").subquery("r")
    listed = exp.select(column("error_id")).from_(ERRORS)
    new = (exp.select(*[column(c, table="r") for c in COLUMNS], timestamp_literal(logged_ts).as_("logged_ts"))
           .from_(rejected).where(column("error_id", table="r").isin(query=listed).not_()))
    warehouse.execute(exp.insert(new, ERRORS, columns=[exp.to_identifier(c) for c in (*COLUMNS, "logged_ts")]))
