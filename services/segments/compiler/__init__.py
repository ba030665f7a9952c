"""Definition -> sqlglot expression tree -> SQL for Databricks or DuckDB.

One small pass per kind of condition (each in its kind's module of
``services/segments/conditions/``), one for groups and one for the split. Each
top-level condition is checked and compiled once: its predicate is a step of the
waterfall and a part of the rule's predicate. The result is a predicate over the
gold feature row ``f``; queries (members, counts, estimates) are built around it
and rendered only at the last step with ``.sql(dialect=...)``. Values are literals escaped by sqlglot
and identifiers are quoted, so no user text ever becomes SQL text.

The passes call sqlglot's builders with ``copy=False`` and build tables, types
and functions as nodes rather than from strings: every node they pass is built
for that one place, so the builders' defensive deep copies and the parsing of
strings were most of the cost of compiling. A node that does go into two
places (the predicate into each query built from it) is copied explicitly:
a sqlglot node has one parent, and would be re-parented into the second tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from services.errors import CompileError, SegmentStudioError
from services.segments.catalog import FeatureCatalog
from services.segments.compiler.groups import combine, compile_condition, compile_group
from services.segments.compiler.split import bucket_case, bucket_expression
from services.segments.conditions.context import FEATURES_ALIAS, CompileContext, Resolver, feature
from services.segments.spec import SegmentDefinition
from services.segments.tables import FEATURES_TABLE
from services.sqlterms import count_star, table
from services.warehouse.placement import Placement, place

DIALECTS = ("databricks", "duckdb", "spark")


@dataclass(frozen=True)
class CompiledSegment:
    definition: SegmentDefinition
    predicate: exp.Expression
    #: (description, predicate) of each top-level condition, for the waterfall: the very
    #: parts the predicate is made of, so a user of one copies it
    steps: tuple[tuple[str, exp.Expression], ...]
    segment_key: str
    as_of: object

    def features_table(self) -> exp.Table:
        return table(FEATURES_TABLE).as_(FEATURES_ALIAS, copy=False)

    def members_query(self, *columns: str, with_split: bool = False) -> exp.Select:
        """SELECT customer_id (and columns, and split_group) of every member."""
        projections: list[exp.Expression] = [feature("customer_id")]
        projections += [feature(c) for c in columns if c != "customer_id"]
        members = (exp.select(*projections).from_(self.features_table(), copy=False)
                   .where(self.predicate.copy(), copy=False))
        if not (with_split and self.definition.split is not None):
            return members
        # The bucket is computed once per member in a subquery, then named.
        members = members.select(bucket_expression(self.segment_key).as_("split_bucket", copy=False), copy=False)
        outer = [exp.column("customer_id", quoted=True)] + [exp.column(c, quoted=True) for c in columns if c != "customer_id"]
        return exp.select(*outer, bucket_case(self.definition.split).as_("split_group", copy=False)).from_(
            members.subquery("members", copy=False), copy=False)

    def count_query(self) -> exp.Select:
        return (exp.select(count_star().as_("audience", copy=False)).from_(self.features_table(), copy=False)
                .where(self.predicate.copy(), copy=False))

    def sql(self, dialect: str = "databricks", *, pretty: bool = True, with_split: bool = True,
            placement: Placement | None = None) -> str:
        """The members query as text; ``placement`` (a Databricks warehouse's, see
        ``services.warehouse.placement_of``) names every table where it lives, catalog.schema.table,
        so the text runs as it is in the Databricks SQL editor whatever its default catalog."""
        if dialect not in DIALECTS:
            raise CompileError(f"unknown dialect {dialect!r}; use one of {', '.join(DIALECTS)}")
        tree = self.members_query(with_split=with_split)
        body = (place(tree, placement) if placement else tree).sql(dialect=dialect, pretty=pretty)
        header = (f"-- Segment: {_comment_safe(self.definition.name)}\n"
                  f"-- Relative windows are measured from the data's as-of date, {self.as_of}.\n")
        return header + body


def _comment_safe(text: str) -> str:
    # A name is user text: keep it on one comment line whatever it contains.
    return " ".join(str(text).split()).replace("*/", "* /")[:200]


def context(catalog: FeatureCatalog, resolver: Resolver | None, segment_id: str | None) -> CompileContext:
    """Where compiling a definition starts: a saved segment is on the stack, so reaching itself is a cycle."""
    return CompileContext(catalog, resolver, (f"{segment_id}@self",) if segment_id else (), compile_group)


def compile_step(condition, index: int, ctx: CompileContext) -> exp.Expression:
    """The predicate of the rule's condition ``index``; a compiler pass's error reads ``condition N (...)``."""
    try:
        return compile_condition(condition, ctx, (index,))
    except SegmentStudioError as exc:
        if exc.where is not None:
            raise
        raise exc.at(exc.path or (index,), where=f"condition {index + 1} ({condition.describe()})") from exc


def assemble(definition: SegmentDefinition, parts: list[exp.Expression], ctx: CompileContext,
             segment_id: str | None) -> CompiledSegment:
    """The compiled segment from the predicates of the rule's top-level conditions, in order."""
    steps = tuple((c.describe(), p) for c, p in zip(definition.rule.conditions, parts, strict=True))
    return CompiledSegment(definition, combine(definition.rule, parts), steps,
                           segment_id or f"draft:{definition.name}", ctx.as_of)


def compile_definition(definition: SegmentDefinition, catalog: FeatureCatalog, *,
                       resolver: Resolver | None = None, segment_id: str | None = None) -> CompiledSegment:
    """Check against the catalog and compile, one pass; an error's ``path`` names the condition at fault."""
    ctx = context(catalog, resolver, segment_id)
    parts = [compile_step(c, i, ctx) for i, c in enumerate(definition.rule.conditions)]
    return assemble(definition, parts, ctx, segment_id)


__all__ = ["CompiledSegment", "compile_definition", "DIALECTS"]
