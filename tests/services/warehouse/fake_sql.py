"""What a Databricks SQL warehouse does with one statement, done on a DuckDB database.

``SqlWarehouseSession`` runs one parsed Databricks statement on a DuckDB
cursor of the database the test provides, so results are real:

* names: ``catalog.schema.table`` lives in the DuckDB schema
  ``catalog__schema`` (a two-part name in the session's catalog, the
  connection's ``catalog`` argument); ``<catalog>.information_schema.
  schemata / tables / columns`` answer from DuckDB's own catalog with
  Databricks' columns and type names (``full_data_type`` ``string``,
  ``decimal(18,2)``, ``timestamp``...);
* parameters: ``:name`` markers are bound as DuckDB parameters, a Python
  list as a LIST (Databricks' ARRAY parameter);
* time zone: the session's ``TIMEZONE`` (or the warehouse's default) is
  DuckDB's ``TimeZone``, so a naive TIMESTAMP parameter is read in it;
* statements DuckDB lacks, done the way Delta does them, each atomically:
  ``INSERT OVERWRITE`` (delete all, insert), ``INSERT INTO ... REPLACE WHERE``
  (fails when a written row is outside the predicate,
  https://docs.databricks.com/delta/selective-overwrite.html), ``COPY INTO``
  from a volume folder (``FILEFORMAT = PARQUET``; files already loaded into
  the table are skipped, https://docs.databricks.com/aws/en/sql/language-manual/delta-copy-into),
  ``read_files`` over a volume path; ``MERGE`` is DuckDB's own, after the
  checks Delta makes (no subquery in a condition, no target row matched by
  two source rows).

Every refusal is a ``databricks.sql.exc.ServerOperationError``, as the
connector raises for a statement the server refused.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from databricks.sdk.errors import DatabricksError
from databricks.sql.exc import ServerOperationError
from sqlglot import exp

from services import sqlfiles
from tests.services.warehouse.fake_volumes import FakeVolumes

_DATABRICKS_TYPE = """CASE
    WHEN data_type = 'VARCHAR' THEN 'string' WHEN data_type = 'INTEGER' THEN 'int'
    WHEN data_type = 'TIMESTAMP WITH TIME ZONE' THEN 'timestamp' WHEN data_type = 'TIMESTAMP' THEN 'timestamp_ntz'
    WHEN data_type IN ('REAL', 'FLOAT') THEN 'float' WHEN data_type = 'VARCHAR[]' THEN 'array<string>'
    ELSE lower(replace(data_type, ' ', '')) END"""
_INFORMATION_SCHEMA = {
    "schemata": "SELECT '{catalog}' AS catalog_name, substr(schema_name, {n}) AS schema_name "
                "FROM information_schema.schemata "
                "WHERE catalog_name = current_database() AND starts_with(schema_name, '{prefix}')",
    "tables": "SELECT '{catalog}' AS table_catalog, substr(table_schema, {n}) AS table_schema, table_name, "
              "CASE table_type WHEN 'BASE TABLE' THEN 'MANAGED' ELSE table_type END AS table_type "
              "FROM information_schema.tables "
              "WHERE table_catalog = current_database() AND starts_with(table_schema, '{prefix}')",
    "columns": "SELECT '{catalog}' AS table_catalog, substr(table_schema, {n}) AS table_schema, table_name, "
               "column_name, ordinal_position, is_nullable, " + _DATABRICKS_TYPE + " AS full_data_type, "
               "upper(regexp_replace(" + _DATABRICKS_TYPE + ", '[(<].*', '')) AS data_type "
               "FROM information_schema.columns "
               "WHERE table_catalog = current_database() AND starts_with(table_schema, '{prefix}')",
}
_temporary = itertools.count()


def duck_schema(catalog: str, schema: str) -> str:
    """The DuckDB schema that holds Databricks' ``catalog.schema``."""
    return f"{catalog}__{schema}".lower()


def refused(message: str) -> ServerOperationError:
    return ServerOperationError(message)


class SqlWarehouseSession:
    """One warehouse session: a DuckDB cursor, its catalog and time zone, the volumes and the COPY INTO load state."""

    def __init__(self, duck: duckdb.DuckDBPyConnection, *, catalog: str, timezone: str,
                 volumes: FakeVolumes | None, loaded: dict[str, set[str]]):
        self.duck = duck
        self.catalog = catalog
        self.volumes = volumes
        self.loaded = loaded
        self.duck.execute(f"SET TimeZone = '{timezone}'")

    # -- names -------------------------------------------------------------------
    def _information_schema(self, node: exp.Table, catalog: str) -> exp.Expression:
        view = node.name.lower()
        if view not in _INFORMATION_SCHEMA:
            raise refused(f"[TABLE_OR_VIEW_NOT_FOUND] {catalog}.information_schema.{view} (the fake answers "
                          f"{', '.join(_INFORMATION_SCHEMA)})")
        prefix = duck_schema(catalog, "")
        text = _INFORMATION_SCHEMA[view].format(catalog=catalog, prefix=prefix, n=len(prefix) + 1)
        return sqlglot.parse_one(text, read="duckdb").subquery(node.alias_or_name)

    def relocate(self, tree: exp.Expression) -> exp.Expression:
        """``tree`` with every ``[catalog.]schema.x`` moved to its DuckDB schema, in place: every
        statement run here is a tree of its own (parsed from the text sent, or built from copies)."""
        # ``alias.struct.field`` parses as a column with a "schema": a field of a struct column
        # (system.query.history's compute.warehouse_id), not a placed name.
        aliases = {t.alias_or_name.lower() for t in tree.find_all(exp.Table)}
        for node in list(tree.find_all(exp.Table, exp.Column)):
            db = node.args.get("db")
            if not isinstance(db, exp.Identifier):
                continue
            if isinstance(node, exp.Column) and ((node.args.get("catalog") or db).name.lower() in aliases):
                continue
            catalog = node.args["catalog"].name if node.args.get("catalog") else self.catalog
            if isinstance(node, exp.Table) and db.name.lower() == "information_schema":
                node.replace(self._information_schema(node, catalog))
                continue
            node.set("db", exp.to_identifier(duck_schema(catalog, db.name), quoted=True))
            node.set("catalog", None)
        return tree

    def _volume_files(self, path: str) -> list[str]:
        if self.volumes is None:
            raise refused(f"[PATH_NOT_FOUND] {path}: the fake warehouse has no volumes")
        try:
            return [f for f in self.volumes.files_under(path) if f.endswith(".parquet")]
        except DatabricksError as exc:
            raise refused(f"[PATH_NOT_FOUND] Path does not exist: {path} ({exc})") from None

    def _read_parquet(self, files: list[str]) -> exp.Expression:
        local = [str(self.volumes.local(f)) for f in files]
        return exp.Anonymous(this="read_parquet", expressions=[exp.Array(expressions=[exp.Literal.string(p) for p in local])])

    def _read_files(self, tree: exp.Expression) -> exp.Expression:
        for call in list(tree.find_all(exp.Anonymous)):
            if call.name.lower() != "read_files":
                continue
            path = call.expressions[0].name
            options = {k.this.name.lower(): k.expression.name.lower() for k in call.expressions[1:] if isinstance(k, exp.Kwarg)}
            if options.get("format") != "parquet":
                raise refused(f"read_files({path!r}): the fake reads format => 'parquet' only")
            files = self._volume_files(path)
            if not files:
                raise refused(f"[CANNOT_INFER_EMPTY_SCHEMA] read_files found no files under {path}")
            call.replace(self._read_parquet(files))
        return tree

    # -- running -------------------------------------------------------------------
    def _run(self, tree: exp.Expression, params: Mapping[str, Any]) -> pa.Table:
        duck_tree = self._read_files(self.relocate(tree))
        sql = sqlfiles.render(duck_tree, "duckdb")
        used = sqlfiles.placeholders(duck_tree)
        try:
            self.duck.execute(sql, {k: v for k, v in params.items() if k in used} or None)
        except duckdb.Error as exc:
            raise refused(f"[fake warehouse, DuckDB] {exc} (statement: {sql[:300]})") from None
        if self.duck.description is None:
            return pa.table({})
        return self.duck.to_arrow_table()

    def _atomically(self, steps) -> Any:
        self.duck.execute("BEGIN TRANSACTION")
        try:
            result = steps()
        except BaseException:
            self.duck.execute("ROLLBACK")
            raise
        self.duck.execute("COMMIT")
        return result

    @staticmethod
    def _affected(result: pa.Table, *, inserted: bool = False) -> pa.Table:
        count = result.column(0)[0].as_py() if result.num_rows and result.num_columns else 0
        out = {"num_affected_rows": [count]}
        return pa.table({**out, "num_inserted_rows": [count]} if inserted else out)

    def run(self, tree: exp.Expression, params: Mapping[str, Any]) -> pa.Table:
        """Run one Databricks statement; the rows it returns (or its counts, for a write)."""
        if isinstance(tree, exp.Copy):
            return self._copy_into(tree, params)
        if isinstance(tree, exp.Insert) and tree.args.get("overwrite"):
            return self._insert_overwrite(tree, params)
        if isinstance(tree, exp.Insert) and tree.args.get("where") is not None:
            return self._replace_where(tree, params)
        if isinstance(tree, exp.Merge):
            self._check_merge(tree, params)
            return self._affected(self._run(tree, params))
        result = self._run(tree, params)
        if isinstance(tree, exp.Insert):
            return self._affected(result, inserted=True)
        if isinstance(tree, (exp.Delete, exp.Update)):
            return self._affected(result)
        return result

    # -- Delta's statements ------------------------------------------------------
    @staticmethod
    def _target(insert: exp.Insert) -> exp.Table:
        return insert.this.this if isinstance(insert.this, exp.Schema) else insert.this

    def _insert_overwrite(self, tree: exp.Insert, params) -> pa.Table:
        insert = tree.copy()
        insert.set("overwrite", False)

        def steps():
            self._run(exp.delete(self._target(insert).copy()), params)
            return self._affected(self._run(insert, params), inserted=True)

        return self._atomically(steps)

    def _columns_of(self, table: exp.Table) -> list[str]:
        described = self._run(exp.Describe(this=table.copy()), {})
        return described.column("column_name").to_pylist()

    def _replace_where(self, tree: exp.Insert, params) -> pa.Table:
        insert = tree.copy()
        predicate = insert.args["where"]
        insert.set("where", None)
        target = self._target(insert)
        names = ([c.name for c in insert.this.expressions] if isinstance(insert.this, exp.Schema)
                 else self._columns_of(target))
        rows = f"_replace_rows_{next(_temporary)}"
        query = insert.expression.copy()
        if insert.args.get("with_") is not None:  # WITH ... INSERT INTO t REPLACE WHERE ... SELECT: the CTEs are the query's
            query.set("with_", insert.args["with_"].copy())
        alias = exp.TableAlias(this=exp.to_identifier("q"), columns=[exp.to_identifier(n, quoted=True) for n in names])
        stage = exp.Create(this=exp.to_table(rows), kind="TABLE", properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
                           expression=exp.select("*").from_(exp.Subquery(this=query, alias=alias)))
        outside = exp.select(exp.func("COUNT", exp.Star())).from_(rows).where(
            exp.not_(exp.func("COALESCE", predicate.copy(), exp.false())))

        def steps():
            self._run(stage, params)
            try:
                if self._run(outside, params).column(0)[0].as_py():
                    raise refused("[DELTA_REPLACE_WHERE_MISMATCH] Written data does not conform to partial table "
                                  f"overwrite condition or constraint '{predicate.sql(dialect='databricks')}'.")
                self._run(exp.delete(target.copy(), where=predicate.copy()), params)
                columns = [exp.to_identifier(n, quoted=True) for n in names]
                return self._affected(self._run(exp.insert(exp.select("*").from_(rows), target.copy(), columns=columns),
                                                params), inserted=True)
            finally:
                self.duck.execute(f"DROP TABLE IF EXISTS {rows}")

        return self._atomically(steps)

    def _copy_into(self, tree: exp.Copy, params) -> pa.Table:
        options = {p.this.name.upper(): p for p in tree.args.get("params") or []}
        if "FILEFORMAT" not in options or options["FILEFORMAT"].expression.name.upper() != "PARQUET":
            raise refused("COPY INTO: the fake loads FILEFORMAT = PARQUET only")
        force = "force" in (options["COPY_OPTIONS"].sql().lower() if "COPY_OPTIONS" in options else "")
        [source] = tree.args["files"]
        if isinstance(source, exp.Subquery):
            select = source.this.copy()
            path_node = select.args["from_"].this
            path = path_node.name
        else:
            path = source.name
            select = exp.select("*").from_("placeholder")
        target = tree.this
        key = ".".join(p.name.lower() for p in (target.args.get("catalog"), target.args.get("db"), target.this) if p)
        done = self.loaded.setdefault(key if target.args.get("catalog") else f"{self.catalog}.{key}", set())
        files = [f for f in self._volume_files(path) if force or f not in done]
        if not files:
            return pa.table({"num_affected_rows": [0], "num_inserted_rows": [0]})
        select.set("from_", exp.From(this=exp.Table(this=self._read_parquet(files))))
        insert = exp.insert(select, target.copy())
        insert.set("by_name", True)  # COPY INTO matches the file's columns to the table's by name
        result = self._affected(self._run(insert, params), inserted=True)
        done.update(files)
        return result

    def _check_merge(self, tree: exp.Merge, params) -> None:
        conditions = [tree.args["on"], *(w.args.get("condition") for w in tree.find_all(exp.When))]
        if any(c is not None and c.find(exp.Select) for c in conditions):
            raise refused("[DELTA_UNSUPPORTED_SUBQUERY] Subqueries are not supported in the MERGE conditions")
        target, source = tree.this, tree.args["using"]
        rowid = exp.column("rowid", table=target.alias_or_name)
        twice = (exp.select(rowid).from_(target.copy()).join(source.copy(), on=tree.args["on"].copy())
                 .group_by(rowid.copy()).having(exp.func("COUNT", exp.Star()) > 1).limit(1))
        if self._run(twice, params).num_rows:
            raise refused("[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE] Cannot perform Merge as multiple "
                          "source rows matched and attempted to modify the same target row in the Delta table")
