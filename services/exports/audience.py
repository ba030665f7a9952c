"""The audience source: one row per member with what any destination may need.

``source_query`` is the segment's members (with split group and the chosen
gold attributes) left-joined to the member's current customer row (SCD2:
``is_current``), contact columns prefixed ``c_`` so they never collide with
gold columns of the same name (region, country, gender). Destinations build
their columns over it as ``src``. ``removed_source`` gives the same shape for
customers who left the segment since the last export, so a diff can tell a
platform whom to remove with the identifiers it knows them by.
"""

from __future__ import annotations

from functools import partial

from sqlglot import exp

from services import naming
from services.exports.base import CONTACT_COLUMNS, CONTACT_PREFIX
from services.segments.catalog import FEATURES_TABLE
from services.segments.compiler import CompiledSegment
from services.sqlterms import column

CUSTOMER_TABLE = naming.fq("txn", "dim_customer")


def _customer_join(query: exp.Select, key: exp.Expression) -> exp.Select:
    customer = partial(column, table="c")
    return query.join(exp.to_table(CUSTOMER_TABLE).as_("c"), on=exp.and_(
        exp.EQ(this=customer("customer_id"), expression=key),
        exp.EQ(this=customer("is_current"), expression=exp.true())), join_type="left")


def contact_columns() -> list[exp.Expression]:
    return [exp.column(c, table="c", quoted=True).as_(CONTACT_PREFIX + c, quoted=True) for c in CONTACT_COLUMNS]


def source_query(compiled: CompiledSegment, attributes: tuple[str, ...]) -> exp.Select:
    """SELECT customer_id, split_group, attributes..., c_<contact>... for every member."""
    members = compiled.members_query(*attributes, with_split=True)
    has_split = compiled.definition.split is not None
    m = partial(column, table="m")
    split = m("split_group") if has_split else exp.cast(exp.null(), "VARCHAR")
    query = exp.select(m("customer_id").as_("customer_id", quoted=True), split.as_("split_group", quoted=True),
                       *[m(a).as_(a, quoted=True) for a in attributes], *contact_columns()).from_(members.subquery("m"))
    return _customer_join(query, m("customer_id"))


def removed_source(removed_ids: exp.Select, attributes: tuple[str, ...]) -> exp.Select:
    """The same columns for customers given by a ``SELECT customer_id`` (their split group is NULL)."""
    r = exp.column("customer_id", table="r", quoted=True)
    f = partial(column, table="f")
    query = exp.select(r.as_("customer_id", quoted=True), exp.cast(exp.null(), "VARCHAR").as_("split_group", quoted=True),
                       *[f(a).as_(a, quoted=True) for a in attributes], *contact_columns()).from_(removed_ids.subquery("r"))
    query = query.join(exp.to_table(FEATURES_TABLE).as_("f"), on=exp.EQ(this=f("customer_id"), expression=r.copy()),
                       join_type="left")
    return _customer_join(query, r.copy())
