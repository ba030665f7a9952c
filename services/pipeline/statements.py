"""The statements a model's materialisation sends, as sqlglot trees.

Two families, one per kind of warehouse (``models.materialise`` picks by
``Warehouse.transactional``):

* for an engine with transactions (DuckDB), plain statements run together in
  one transaction: ``TRUNCATE`` + ``INSERT``, ``DELETE`` + ``INSERT``, and the
  batch record's ``DELETE`` / ``INSERT``;
* for an engine where every statement commits on its own (Databricks SQL on
  Delta), each write that must not be seen half done is one statement that
  Delta makes atomic (https://docs.databricks.com/lakehouse/acid: readers
  see the table version current when their query started):
  ``INSERT OVERWRITE`` (a full rebuild), ``INSERT INTO ... REPLACE WHERE``
  ("atomically overwrite[s] rows that match a predicate",
  https://docs.databricks.com/delta/selective-overwrite.html), ``MERGE``
  ("combine inserts, updates, and deletes into a single write transaction",
  https://docs.databricks.com/aws/en/sql/language-manual/delta-merge-into).
  Syntax: https://docs.databricks.com/aws/en/sql/language-manual/sql-ref-syntax-dml-insert-into.

Model, batch and key values are SQL literals here, never bound parameters:
a build may name hundreds of batches, and a statement binds at most 255.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from services import naming, sqlfiles
from services.clock import now
from services.errors import WarehouseError
from services.sqlterms import column

if TYPE_CHECKING:  # typing only: models.py imports this module
    from services.pipeline.models import Model

BATCHES_TABLE = naming.fq("app", "app_model_batches")
BATCH_COLUMNS = ("model_name", "batch_id", "run_id", "processed_ts")
#: the merge source's own columns, beside the model's (names no model column takes)
MERGE_KEY, VANISHED = "__merge_key", "__vanished"


def in_batches(batches: list[str]) -> exp.Expression:
    return column("batch_id").isin(*[exp.Literal.string(b) for b in batches])


def of_model(model: Model) -> exp.Expression:
    return exp.EQ(this=column("model_name"), expression=exp.Literal.string(model.name))


def filtered_body(model: Model, condition: exp.Expression | None) -> exp.Expression:
    """The model's SELECT, with ``condition`` added to its input CTE."""
    body = sqlfiles.query(model.path)
    if condition is None:
        return body
    for cte in body.find_all(exp.CTE):
        if cte.alias == model.input_cte:
            cte.set("this", cte.this.where(condition))
            return body
    raise WarehouseError(f"model {model.name} has no input CTE named {model.input_cte!r}")


def _rows(model: Model, columns: list[str], condition: exp.Expression | None) -> exp.Select:
    """``SELECT cols FROM (<model>) AS model [ORDER BY ...]``: the target's columns in the target's order."""
    select = exp.select(*[exp.column(c, table="model", quoted=True) for c in columns]).from_(
        filtered_body(model, condition).subquery("model"))
    if model.order_by:
        select = select.order_by(*[exp.column(c, table="model", quoted=True) for c in model.order_by])
    return select


def _identifiers(columns) -> list[exp.Identifier]:
    return [exp.to_identifier(c, quoted=True) for c in columns]


def insert_statement(model: Model, columns: list[str], *, condition: exp.Expression | None = None) -> exp.Insert:
    """``INSERT INTO target (cols) SELECT cols FROM (<model>) AS model``."""
    return exp.insert(_rows(model, columns, condition), exp.to_table(model.target_fq), columns=_identifiers(columns))


def overwrite_statement(model: Model, columns: list[str]) -> exp.Insert:
    """``INSERT OVERWRITE target (cols) SELECT ...``: the whole table replaced in one commit."""
    insert = insert_statement(model, columns)
    insert.set("overwrite", True)
    return insert


def replace_batches_statement(model: Model, columns: list[str], batches: list[str]) -> exp.Insert:
    """``INSERT INTO target REPLACE WHERE batch_id IN (...) SELECT ...`` over those batches only.

    Running it twice for the same batches leaves one copy: the rows of those
    batches are replaced, never added to. The SELECT lists the target's
    columns in its order (the REPLACE WHERE form takes no column list).
    """
    insert = exp.insert(_rows(model, columns, in_batches(batches)), exp.to_table(model.target_fq))
    insert.set("where", in_batches(batches))
    return insert


def touched_keys(model: Model, batches: list[str]) -> exp.Select:
    """The merge keys the batches carry."""
    return exp.select(column(model.key)).from_(model.batch_source).where(in_batches(batches))


def delete_touched(model: Model, batches: list[str]) -> exp.Delete:
    return exp.delete(model.target_fq, where=column(model.key).isin(query=touched_keys(model, batches)))


def merge_statement(model: Model, columns: list[str], batches: list[str]) -> exp.Merge:
    """One MERGE that re-derives every key the batches touched, from all its landings.

    The source is every touched key (``__merge_key``) left-joined to the
    model's row for it; a key the model no longer derives has no row there
    (``__vanished``) and is deleted from the target, a derived one updates or
    inserts its row. The same result as deleting the touched keys and
    inserting their rows, in one commit, and the same again if run twice.
    Delta refuses subqueries in MERGE conditions, so the vanished mark is a
    column of the source, not an IN in a WHEN clause.
    """
    m = lambda name: exp.column(name, table="m", quoted=True)  # noqa: E731
    s = lambda name: exp.column(name, table="s", quoted=True)  # noqa: E731
    keys = touched_keys(model, batches).distinct()
    derived = filtered_body(model, column(model.key).isin(query=touched_keys(model, batches)))
    source = (exp.select(exp.column(model.key, table="k", quoted=True).as_(MERGE_KEY, quoted=True),
                         *[m(c).as_(c, quoted=True) for c in columns],
                         m(model.key).is_(exp.null()).as_(VANISHED, quoted=True))
              .from_(keys.subquery("k"))
              .join(derived.subquery("m"), on=exp.EQ(this=m(model.key), expression=exp.column(model.key, table="k",
                                                                                                  quoted=True)),
                    join_type="left"))
    whens = [
        exp.When(matched=True, source=False, condition=s(VANISHED), then=exp.var("DELETE")),
        exp.When(matched=True, source=False, then=exp.Update(expressions=[
            exp.EQ(this=exp.column(c, quoted=True), expression=s(c)) for c in columns if c != model.key])),
        exp.When(matched=False, source=False, condition=exp.not_(s(VANISHED)), then=exp.Insert(
            this=exp.Tuple(expressions=[exp.column(c, quoted=True) for c in columns]),
            expression=exp.Tuple(expressions=[s(c) for c in columns]))),
    ]
    return exp.Merge(this=exp.to_table(model.target_fq).as_("t"), using=source.subquery("s"),
                     on=exp.EQ(this=exp.column(model.key, table="t", quoted=True), expression=s(MERGE_KEY)),
                     whens=exp.Whens(expressions=whens))


# -- the batch record ---------------------------------------------------------------
def _record_rows(model: Model, batches: list[str], run_id: str) -> exp.Values:
    ts = exp.cast(exp.Literal.string(now().isoformat(sep=" ")), "TIMESTAMP")
    return exp.values([exp.Tuple(expressions=[exp.Literal.string(model.name), exp.Literal.string(b),
                                              exp.Literal.string(run_id), ts.copy()]) for b in batches])


def record_batches(model: Model, batches: list[str], run_id: str) -> exp.Insert | None:
    """``INSERT INTO app_model_batches VALUES (...)``: these batches are in the model's target."""
    if not batches:
        return None
    return exp.insert(_record_rows(model, batches, run_id), BATCHES_TABLE,
                      columns=[exp.to_identifier(c) for c in BATCH_COLUMNS])


def forget_batches(model: Model) -> exp.Delete:
    return exp.delete(BATCHES_TABLE, where=of_model(model))


def replace_record(model: Model, batches: list[str], run_id: str, *, whole: bool) -> exp.Expression:
    """One statement that records ``batches``: ``REPLACE WHERE`` the model's rows for them, or with
    ``whole`` every row of the model (a rebuild); a rebuild of nothing forgets the model's rows."""
    if not batches:
        return forget_batches(model)
    insert = exp.insert(_record_rows(model, batches, run_id), BATCHES_TABLE)
    insert.set("where", of_model(model) if whole else exp.and_(of_model(model), in_batches(batches)))
    return insert
