"""What a job exports: the destination's columns over the audience, exclusions, diff rows.

``projection`` adds three internal columns to the destination's own: the
member id, split group and exclusion reason, so the job can count who is left
out and why, save the snapshot and compute a diff; ``public`` drops them
before delivery. Rows are ordered by member id, so the same audience always
gives the same bytes and checksum.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from services.errors import ExportError
from services.exports import audience, identifiers, normalise as norm, snapshots
from services.exports.base import Destination, ExportRequest, by_value_name, src
from services.warehouse import Warehouse

CONTROL_REASON = "control group (left out of activation)"
_KEY, _SPLIT, _REASON = "_customer_id", "_split_group", "_excluded_reason"


def _with_by_value_columns(dest: Destination, query: exp.Select) -> exp.Select:
    early = dest.by_value_columns()
    if not early:
        return query
    return exp.select(*[src(c).as_(c, quoted=True) for c in query.named_selects],
                      *[value.as_(by_value_name(key), quoted=True) for key, value in early.items()]).from_(
        query.subquery("src"))


def source(dest: Destination, request: ExportRequest, query: exp.Select, *, cached_only: bool = False) -> exp.Expression:
    """The audience as ``src``, with the normalised identifiers when the destination uses them.

    The identifiers come from the pipeline's cache, with any member whose
    contact changed since the last build normalised inline; ``cached_only``
    leaves those members out instead (see ``fetch_members``).
    """
    query = _with_by_value_columns(dest, query)
    if not dest.needs_normalised(request):
        return query.subquery("src")
    return (identifiers.cached(query) if cached_only else identifiers.source(query)).subquery("src")


def not_control(request: ExportRequest) -> exp.Expression:
    if request.include_control:
        return exp.true()
    return exp.func("COALESCE", exp.column(_SPLIT, quoted=True), exp.Literal.string("")).neq(exp.Literal.string("control"))


def kept(request: ExportRequest) -> exp.Expression:
    """The rows ``exclusions`` keeps, as a condition over ``projection``: usable, not control unless asked."""
    return exp.and_(exp.column(_REASON, quoted=True).is_(exp.null()), not_control(request))


def projection(dest: Destination, request: ExportRequest, source: exp.Expression) -> exp.Select:
    """Destination columns plus the member id, split group and exclusion reason (internal, dropped before delivery)."""
    return (exp.select(*dest.projections(request), src("customer_id").as_(_KEY, quoted=True),
                       src("split_group").as_(_SPLIT, quoted=True),
                       dest.exclusion_reason(request).as_(_REASON, quoted=True))
            .from_(source))


def fetch(warehouse: Warehouse, dest: Destination, query: exp.Select) -> pa.Table:
    """Run the projection ordered by member id (the output's fixed order), hash the by-value columns."""
    # The warehouse sorts in parallel; the by-value columns are still short normalised text there.
    rows = warehouse.arrow(query.order_by(exp.column(_KEY, quoted=True)))
    names = dest.hash_after_fetch
    # Two workers: encoding and taking release the GIL, so one column's hashing overlaps another's.
    with ThreadPoolExecutor(max_workers=2) as pool:
        digests = list(pool.map(lambda name: norm.hash_by_value(rows.column(name)), names))
    for name, column in zip(names, digests):
        rows = rows.set_column(rows.column_names.index(name), name, column)
    return rows


def fetch_members(warehouse: Warehouse, dest: Destination, request: ExportRequest, audience_query: exp.Select) -> pa.Table:
    """``fetch`` of the projection over every member of ``audience_query``.

    Right after a build every member's identifiers are cached, and reading
    only the cache is one join where the complete source is two. So the
    cached members are fetched first, and only when some are missing (a
    contact changed since the build) is the complete source fetched instead;
    a COUNT of the audience tells which, and their phones are normalised
    (``identifiers.prepare``) before.
    """
    if not dest.needs_normalised(request):
        return fetch(warehouse, dest, projection(dest, request, source(dest, request, audience_query)))
    rows = fetch(warehouse, dest, projection(dest, request, source(dest, request, audience_query, cached_only=True)))
    members = int(warehouse.scalar(exp.select(exp.func("COUNT", exp.Star())).from_(audience_query.subquery("m"))))
    if rows.num_rows > members:
        raise ExportError(f"the export identifier cache ({identifiers.CACHE_TABLE}) holds a contact twice; "
                          "run a build to rebuild it")
    if rows.num_rows < members:
        identifiers.prepare(warehouse, audience_query)
        rows = fetch(warehouse, dest, projection(dest, request, source(dest, request, audience_query)))
    return rows


def exclusions(rows: pa.Table, request: ExportRequest) -> tuple[pa.Table, dict[str, int]]:
    """Drop the control group (unless asked) and members the destination cannot use; count why."""
    excluded: dict[str, int] = {}
    if not request.include_control:
        control = pc.fill_null(pc.equal(rows.column(_SPLIT), "control"), False)
        n = pc.sum(control).as_py() or 0
        if n:
            excluded[CONTROL_REASON] = n
            rows = rows.filter(pc.invert(control))
    reasons = rows.column(_REASON)
    if reasons.null_count < len(reasons):
        for item in pc.value_counts(reasons.drop_null()).to_pylist():
            excluded[item["values"]] = item["counts"]
        rows = rows.filter(pc.is_null(reasons))
    return rows, excluded


def member_ids(rows: pa.Table) -> pa.Array:
    """The member id of each row of ``fetch``, for the membership snapshot."""
    return rows.column(_KEY).combine_chunks()


def kept_ids(dest: Destination, request: ExportRequest, audience_query: exp.Select) -> exp.Select:
    """``SELECT customer_id`` of the members ``exclusions`` keeps, computed in the warehouse: what
    ``member_ids`` holds after ``fetch_members`` and ``exclusions``, for a snapshot that stays there."""
    projected = projection(dest, request, source(dest, request, audience_query))
    return (exp.select(exp.column(_KEY, quoted=True).as_("customer_id", quoted=True))
            .from_(projected.subquery("p")).where(kept(request)))


def public(rows: pa.Table) -> pa.Table:
    return rows.drop_columns([c for c in (_KEY, _SPLIT, _REASON) if c in rows.column_names])


def diff_rows(warehouse: Warehouse, dest: Destination, request: ExportRequest, rows: pa.Table, job_id: str,
               previous: str | None) -> tuple[pa.Table, int, int]:
    """The added members (action 'add') and the removed ones (action 'remove') since ``previous``."""
    if previous is None:
        # First diff: everyone is new, so it equals a full export (plus the action column).
        return rows.add_column(0, "action", pa.repeat("add", rows.num_rows)), rows.num_rows, 0
    added_ids = snapshots.added(warehouse, job_id, previous)
    added = rows.filter(pc.is_in(rows.column(_KEY), value_set=added_ids))
    removed_source = audience.removed_source(snapshots.removed_ids(job_id, previous), request.attributes)
    removed = fetch_members(warehouse, dest, request, removed_source)
    # A member who left is removed whatever their identifiers look like now.
    removed = removed.set_column(removed.column_names.index(_REASON), _REASON, pa.nulls(removed.num_rows, pa.string()))
    removed = removed.cast(added.schema) if removed.schema != added.schema else removed
    out = pa.concat_tables([added.add_column(0, "action", pa.repeat("add", added.num_rows)),
                            removed.add_column(0, "action", pa.repeat("remove", removed.num_rows))])
    return out, added.num_rows, removed.num_rows
