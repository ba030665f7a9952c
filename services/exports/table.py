"""A warehouse table of the members (split group, chosen attributes, identifiers as allowed).

The rows never leave the warehouse on their way in: the table is written from
``warehouse_query``, the job's own projection of the audience as a query.
Full mode replaces the table in one statement (``CREATE OR REPLACE TABLE ...
AS``); incremental (diff) mode ``MERGE``s the current audience into it:
members who stayed are updated, new ones inserted, those who left deleted.
Either statement lands whole or not at all. The target name is checked to be
``schema.table`` made of plain identifiers before it becomes part of a tree.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from functools import partial

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlglot import exp

from services import naming
from services.errors import SpecError
from services.exports import selection
from services.exports.base import Delivered, DeliveryContext, Destination, ExportRequest, Option
from services.sqlterms import column

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


def default_table(segment_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_]", "_", segment_id)
    return naming.fq("app", "app_export_" + safe)


def checked_table(name: str) -> exp.Table:
    parts = (name or "").strip().split(".")
    if len(parts) not in (2, 3) or not all(_IDENTIFIER.match(p) for p in parts):
        raise SpecError(f"table name {name!r} must be schema.table (or catalog.schema.table) of letters, digits and _")
    return exp.Table(this=exp.to_identifier(parts[-1], quoted=True), db=exp.to_identifier(parts[-2], quoted=True),
                     catalog=exp.to_identifier(parts[0], quoted=True) if len(parts) == 3 else None)


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
    options = (Option("table_name", "Table (schema.table)", help="The table to write, schema.table (or catalog.schema.table)",
                      placeholder="default: the app schema, one table per segment", check=checked_table,
                      flag="--table"),)
    seconds_per_row = 1e-6

    def normalise(self, request: ExportRequest) -> ExportRequest:
        """Without a table name, the segment's own table in the app schema."""
        request = super().normalise(request)
        return request if request.table_name else replace(request, table_name=default_table(request.segment_id))

    def target(self, request: ExportRequest) -> str:
        return request.table_name or default_table(request.segment_id)

    def diff_delivery(self, rows: pa.Table, changes: pa.Table) -> pa.Table:
        # The table is merged from the whole audience: who stayed is updated, who left deleted.
        return rows

    def warehouse_query(self, request: ExportRequest, audience: exp.Select, columns: list[str]) -> exp.Select:
        """The rows the job delivers (``columns`` of the projection, members it keeps) as a query, in key order."""
        projected = selection.projection(self, request, selection.source(self, request, audience))
        return (exp.select(*[exp.column(c, quoted=True) for c in columns]).from_(projected.subquery("p"))
                .where(selection.kept(request)).order_by(exp.column(self.key_column, quoted=True)))

    def deliver(self, rows: pa.Table, ctx: DeliveryContext) -> Delivered:
        target = checked_table(self.target(ctx.request))
        warehouse = ctx.warehouse
        schema = target.args["db"].name
        warehouse.execute(exp.Create(this=exp.Table(this=exp.to_identifier(schema, quoted=True)), kind="SCHEMA",
                                     exists=True))
        exists = target.name in warehouse.tables(schema)
        columns = list(rows.column_names)
        query = self.warehouse_query(ctx.request, ctx.audience, columns)
        ctx.progress(0.3)
        if ctx.request.mode == "diff" and exists:
            warehouse.execute(merge_statement(target, query, columns, self.key_column))
        else:
            warehouse.execute(exp.Create(this=target, kind="TABLE", replace=True, expression=query))
        ctx.progress(1.0)
        return Delivered(rows=rows.num_rows, checksum=table_checksum(rows), output_path=target.sql(dialect="databricks"))
