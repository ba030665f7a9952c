"""A warehouse table of the members (split group, chosen attributes, identifiers as allowed).

The rows never leave the warehouse on their way in: the table is written from
``warehouse_query``, the job's own projection of the audience as a query.
Full mode replaces the table in one statement (``CREATE OR REPLACE TABLE ...
AS``); incremental (diff) mode ``MERGE``s the current audience into it:
members who stayed are updated, new ones inserted, those who left deleted.
Either statement lands whole or not at all.

Where: only the exports schema (``<prefix>_exports``, placed like every other
schema on Databricks), never a source, silver, gold, governance or app table.
A request names a table there (``audience``, ``exports.audience`` or the full
schema name); anything else is refused before a job exists. A table already in
the schema is replaced or merged only when an export created it: the app
records each table its exports create in ``app_export_tables``, in the same
transaction as the table itself.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from functools import partial

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlglot import exp

from services import naming
from services.clock import now
from services.errors import ExportError, SpecError
from services.exports import selection
from services.exports.base import Delivered, DeliveryContext, Destination, ExportRequest, Option
from services.sqlterms import column, equals
from services.warehouse import Rows, Warehouse, placement_of
from services.warehouse.placement import place

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
EXPORTS_SCHEMA = naming.schema(naming.EXPORTS)
EXPORT_TABLES = naming.fq("app", "app_export_tables")


def default_table(segment_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_]", "_", segment_id)
    return naming.fq(naming.EXPORTS, "export_" + safe)


def exports_table_name(name: str) -> str:
    """``schema.table`` in the exports schema for a name the user gave; SpecError for any other place.

    Accepted: ``table``, ``exports.table`` and ``<prefix>_exports.table``, the table a plain identifier.
    """
    parts = (name or "").strip().split(".")
    if len(parts) == 2 and parts[0] in (naming.EXPORTS, EXPORTS_SCHEMA):
        parts = parts[1:]
    if len(parts) != 1:
        raise SpecError(f"table exports write only into the exports schema ({EXPORTS_SCHEMA}): give a table name "
                        f"(or exports.<table>), not {name.strip()!r}")
    if not _IDENTIFIER.match(parts[0]):
        raise SpecError(f"table name {parts[0]!r} must be letters, digits and _ (it is created in the exports "
                        f"schema, {EXPORTS_SCHEMA})")
    return f"{EXPORTS_SCHEMA}.{parts[0]}"


def checked_table(name: str) -> exp.Table:
    """The exports-schema table a name stands for, as a tree (see ``exports_table_name``)."""
    schema, table = exports_table_name(name).split(".")
    return exp.Table(this=exp.to_identifier(table, quoted=True), db=exp.to_identifier(schema, quoted=True))


def created_by_export(warehouse: Warehouse, table_name: str) -> bool:
    """Whether an export created ``table_name`` (``schema.table``), so an export may replace or merge it."""
    query = exp.select(exp.func("COUNT", exp.Star())).from_(EXPORT_TABLES).where(equals("table_name", table_name))
    return bool(warehouse.scalar(query))


def table_checksum(rows: pa.Table) -> str:
    """SHA-256 of the rows as CSV in key order: what the table holds, comparable across runs."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(rows, sink)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def merge_statement(target: exp.Table, source: exp.Select, columns: list[str], key: str) -> exp.Merge:
    t = partial(column, table="tgt")
    s = partial(column, table="s")
    others = [c for c in columns if c != key]
    whens = []
    if others:
        whens.append(exp.When(matched=True, source=False, then=exp.Update(
            # SET names the target column unqualified: DuckDB refuses "tgt"."col" there, Databricks takes both.
            expressions=[exp.EQ(this=exp.column(c, quoted=True), expression=s(c)) for c in others])))
    whens.append(exp.When(matched=False, source=False, then=exp.Insert(
        this=exp.Tuple(expressions=[exp.column(c, quoted=True) for c in columns]),
        expression=exp.Tuple(expressions=[s(c) for c in columns]))))
    whens.append(exp.When(matched=False, source=True, then=exp.var("DELETE")))
    return exp.Merge(this=target.copy().as_("tgt"), using=source.subquery("s"),
                     on=exp.EQ(this=t(key), expression=s(key)), whens=exp.Whens(expressions=whens))


class WarehouseTableDestination(Destination):
    name = "table"
    label = "Warehouse table"
    options = (Option("table_name", "Table (in the exports schema)",
                      help=f"A table in the exports schema ({EXPORTS_SCHEMA}): a name, or exports.<name>. "
                           "An existing table is replaced or merged only if an export created it.",
                      placeholder="default: one table per segment in the exports schema", check=checked_table,
                      flag="--table"),)
    seconds_per_row = 1e-6

    def normalise(self, request: ExportRequest) -> ExportRequest:
        """The table as ``schema.table`` in the exports schema; without a name, the segment's own table there."""
        request = super().normalise(request)
        name = exports_table_name(request.table_name) if request.table_name else default_table(request.segment_id)
        return replace(request, table_name=name)

    def target(self, request: ExportRequest) -> str:
        return exports_table_name(request.table_name) if request.table_name else default_table(request.segment_id)

    def diff_delivery(self, rows: pa.Table, changes: pa.Table) -> pa.Table:
        # The table is merged from the whole audience: who stayed is updated, who left deleted.
        return rows

    def warehouse_query(self, request: ExportRequest, audience: exp.Select, columns: list[str]) -> exp.Select:
        """The rows the job delivers (``columns`` of the projection, members it keeps) as a query, in key order."""
        projected = selection.projection(self, request, selection.source(self, request, audience))
        return (exp.select(*[exp.column(c, quoted=True) for c in columns]).from_(projected.subquery("p"))
                .where(selection.kept(request)).order_by(exp.column(self.key_column, quoted=True)))

    def deliver(self, rows: pa.Table, ctx: DeliveryContext) -> Delivered:
        name = self.target(ctx.request)
        target = checked_table(name)
        warehouse = ctx.warehouse
        # The schema name goes in the Table's db part, as sqlglot parses CREATE SCHEMA s: that is the
        # part a Databricks warehouse's placement moves to catalog.schema (a bare ``this`` stayed
        # unplaced, so the schema was made in the session's default catalog).
        warehouse.execute(exp.Create(this=exp.Table(db=exp.to_identifier(EXPORTS_SCHEMA)), kind="SCHEMA", exists=True))
        exists = target.name in warehouse.tables(EXPORTS_SCHEMA)
        recorded = created_by_export(warehouse, name)
        if exists and not recorded:
            raise ExportError(f"{name} exists and was not created by an export: the app replaces or merges only "
                              "tables its exports created; choose another table name")
        columns = list(rows.column_names)
        query = self.warehouse_query(ctx.request, ctx.audience, columns)
        ctx.progress(0.3)
        steps: list = []
        if not recorded:
            # Recorded with the table, so a table an export made is always one a later export may replace.
            steps.append(Rows(EXPORT_TABLES, pd.DataFrame([{"table_name": name, "job_id": ctx.job_id,
                                                           "segment_id": ctx.request.segment_id,
                                                           "created_ts": now()}])))
        if ctx.request.mode == "diff" and exists:
            steps.append((merge_statement(target, query, columns, self.key_column), None))
        else:
            steps.append((exp.Create(this=target, kind="TABLE", replace=True, expression=query), None))
        warehouse.transaction(steps)
        ctx.progress(1.0)
        return Delivered(rows=rows.num_rows, checksum=table_checksum(rows), output_path=place(target, placement_of(warehouse)).sql(dialect="databricks"))
