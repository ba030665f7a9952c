"""The audit log as managers read it: filtered events, the values to filter by, counts per action.

Every filter value becomes a sqlglot literal; the free-text search is a
substring test (``STRPOS``/``LOCATE``), not ``LIKE``, so a user's ``%`` or
``_`` means itself and a quote is just a character.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from sqlglot import exp

from services.audit_log import AUDIT_TABLE
from services.sqlterms import column, timestamp_literal
from services.warehouse import Warehouse

EVENT_COLUMNS = ("event_ts", "actor", "role", "action", "object_type", "object_id", "object_version",
                 "row_count", "checksum", "details", "audit_id")
SEARCHED_COLUMNS = ("actor", "role", "action", "object_type", "object_id", "checksum", "details")
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class AuditFacets:
    """The values the filters offer: who acted, what they did, on what, and the span of the log."""

    actors: tuple[str, ...]
    actions: tuple[str, ...]
    object_types: tuple[str, ...]
    first: dt.datetime | None
    last: dt.datetime | None


def _timestamp(value: dt.datetime) -> exp.Expression:
    # event_ts holds naive UTC; an aware bound is converted to UTC first.
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return timestamp_literal(value)


def _since(value: dt.date | dt.datetime) -> exp.Expression:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return exp.GTE(this=column("event_ts"), expression=_timestamp(value))


def _until(value: dt.date | dt.datetime) -> exp.Expression:
    # A date means the whole of that day, so the bound is the next midnight, exclusive.
    if isinstance(value, dt.datetime):
        return exp.LTE(this=column("event_ts"), expression=_timestamp(value))
    next_day = dt.datetime.combine(value + dt.timedelta(days=1), dt.time())
    return exp.LT(this=column("event_ts"), expression=_timestamp(next_day))


def _search(text: str) -> exp.Expression:
    needle = exp.Literal.string(text.lower())
    found = [exp.GT(this=exp.StrPosition(this=exp.func("LOWER", column(c)), substr=needle.copy()),
                    expression=exp.Literal.number(0)) for c in SEARCHED_COLUMNS]
    return exp.or_(*found)


def _values(values: Iterable[str] | None) -> list[str]:
    return [str(v) for v in values or ()]


def _conditions(*, actors, actions, object_type, since, until, search) -> list[exp.Expression]:
    conditions = []
    if chosen := _values(actors):
        conditions.append(column("actor").isin(*chosen))
    if chosen := _values(actions):
        conditions.append(column("action").isin(*chosen))
    if object_type:
        conditions.append(exp.EQ(this=column("object_type"), expression=exp.Literal.string(str(object_type))))
    if since is not None:
        conditions.append(_since(since))
    if until is not None:
        conditions.append(_until(until))
    if search and search.strip():
        conditions.append(_search(search.strip()))
    return conditions


def _filtered(select: exp.Select, conditions: list[exp.Expression]) -> exp.Select:
    select = select.from_(AUDIT_TABLE)
    return select.where(exp.and_(*conditions)) if conditions else select


def audit_events(warehouse: Warehouse, *, actors: Iterable[str] | None = None, actions: Iterable[str] | None = None,
                 object_type: str | None = None, since: dt.date | dt.datetime | None = None,
                 until: dt.date | dt.datetime | None = None, search: str | None = None,
                 limit: int = 500) -> pd.DataFrame:
    """Audit events, newest first, matching every filter given.

    ``actors``/``actions`` None or empty: any. ``since`` is inclusive; ``until``
    is inclusive too (a date covers that whole day). ``search`` is a
    case-insensitive substring of actor, role, action, object, checksum or details.
    """
    conditions = _conditions(actors=actors, actions=actions, object_type=object_type, since=since,
                             until=until, search=search)
    query = _filtered(exp.select(*[column(c) for c in EVENT_COLUMNS]), conditions)
    query = query.order_by(exp.Ordered(this=column("event_ts"), desc=True), column("audit_id"))
    return warehouse.df(query.limit(max(1, min(int(limit), MAX_LIMIT))))


def action_counts(warehouse: Warehouse, *, actors: Iterable[str] | None = None, actions: Iterable[str] | None = None,
                  object_type: str | None = None, since: dt.date | dt.datetime | None = None,
                  until: dt.date | dt.datetime | None = None, search: str | None = None) -> pd.DataFrame:
    """Events and rows per action under the same filters as ``audit_events``, without its row limit."""
    conditions = _conditions(actors=actors, actions=actions, object_type=object_type, since=since,
                             until=until, search=search)
    query = _filtered(exp.select(
        column("action"),
        exp.func("COUNT", exp.Star()).as_("events"),
        exp.func("SUM", column("row_count")).as_("rows"),
        exp.func("MAX", column("event_ts")).as_("last_event"),
    ), conditions).group_by(column("action")).order_by(exp.Ordered(this=column("events"), desc=True), column("action"))
    frame = warehouse.df(query)
    frame["events"] = frame["events"].astype("int64")
    frame["rows"] = frame["rows"].astype("Int64")
    return frame


def audit_facets(warehouse: Warehouse) -> AuditFacets:
    """Distinct actors, actions and object types in the log, and its first and last event."""
    frame = warehouse.df(
        exp.select(column("actor"), column("action"), column("object_type"),
                   exp.func("MIN", column("event_ts")).as_("first"), exp.func("MAX", column("event_ts")).as_("last"))
        .from_(AUDIT_TABLE).group_by(column("actor"), column("action"), column("object_type"))
    )

    def distinct(column: str) -> tuple[str, ...]:
        return tuple(sorted(frame[column].dropna().astype(str).unique()))

    def bound(value) -> dt.datetime | None:
        return None if pd.isna(value) else pd.Timestamp(value).tz_localize(None).to_pydatetime()

    return AuditFacets(actors=distinct("actor"), actions=distinct("action"), object_types=distinct("object_type"),
                       first=bound(frame["first"].min()) if len(frame) else None,
                       last=bound(frame["last"].max()) if len(frame) else None)
