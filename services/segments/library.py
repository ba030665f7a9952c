"""The segment library: saved segments and their versions, in the app schema.

Every save adds a version (never overwrites one) with author, time and note,
and writes an audit row. The app saves through ``workspace.save_segment``, which
checks the role and compiles and counts the segment first. Saves from many sessions at once are serialised per
warehouse by a lock, so two saves of one segment never claim the same version
number (Streamlit serves every session from one process).
"""

from __future__ import annotations

import difflib
import json
import threading
import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

import pandas as pd
from sqlglot import exp

from services import audit_log, naming
from services.clock import now
from services.errors import SpecError
from services.segments.reading import plain_text
from services.segments.spec import SegmentDefinition
from services.sqlterms import column, literal, table
from services.warehouse import Rows, Warehouse

SEGMENTS = naming.fq("app", "app_segments")
VERSIONS = naming.fq("app", "app_segment_versions")
#: a version's columns ``list`` brings along with each segment, for its latest version (``latest_<column>``)
LATEST_COLUMNS = ("definition_json", "sql_databricks", "author", "created_ts", "note", "audience_size", "as_of_date")

_locks: weakref.WeakKeyDictionary[object, threading.Lock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def _lock_for(warehouse: Warehouse) -> threading.Lock:
    with _locks_guard:
        lock = _locks.get(warehouse)
        if lock is None:
            lock = _locks[warehouse] = threading.Lock()
        return lock


def new_segment_id() -> str:
    return f"seg-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class SavedVersion:
    segment_id: str
    version: int
    definition: SegmentDefinition
    author: str
    created_ts: datetime
    note: str | None
    sql_databricks: str | None
    audience_size: int | None
    as_of_date: date | None


@dataclass(frozen=True)
class VersionDiff:
    segment_id: str
    old: SavedVersion
    new: SavedVersion
    definition_diff: tuple[str, ...]
    sql_diff: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.definition_diff)


def _saved(segment_id: str, r: dict) -> SavedVersion:
    created = r["created_ts"]
    return SavedVersion(
        segment_id=segment_id, version=int(r["version"]),
        definition=SegmentDefinition.from_json(r["definition_json"]), author=r["author"],
        created_ts=created.replace(tzinfo=None) if hasattr(created, "replace") else created,
        note=r["note"], sql_databricks=r["sql_databricks"], audience_size=r["audience_size"],
        as_of_date=r["as_of_date"],
    )


def _plain(value):
    """A value of a pandas row as the warehouse's Arrow rows give it (None for missing, Python dates and ints)."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def latest_versions(listed: pd.DataFrame) -> tuple[SavedVersion, ...]:
    """The latest version of each segment of a ``list``, as read with it."""
    out = []
    for r in listed.to_dict("records"):
        if not isinstance(r.get("latest_definition_json"), str):
            continue
        row = {c: _plain(r[f"latest_{c}"]) for c in LATEST_COLUMNS} | {"version": int(r["latest_version"])}
        if isinstance(row["as_of_date"], datetime):
            row["as_of_date"] = row["as_of_date"].date()
        out.append(_saved(r["segment_id"], row))
    return tuple(out)


def versions_frame(history: Sequence[SavedVersion]) -> pd.DataFrame:
    """What ``versions`` returns, from versions read already (``history``)."""
    frame = pd.DataFrame([{"version": v.version, "name": v.definition.name, "author": v.author,
                           "created_ts": v.created_ts, "note": v.note, "audience_size": v.audience_size,
                           "as_of_date": v.as_of_date} for v in history],
                         columns=["version", "name", "author", "created_ts", "note", "audience_size", "as_of_date"])
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])  # as a DATE column of a query comes back
    return frame


def with_brief(row: dict) -> dict:
    """A segment's row with its campaign brief read (``brief``: a dict, or None)."""
    return {**row, "brief": json.loads(row["brief_json"]) if row.get("brief_json") else None}


def version_diff(old: SavedVersion, new: SavedVersion) -> VersionDiff:
    """What changed between two versions of a segment: its definition and its SQL, as unified diffs."""
    d = lambda a, b, an, bn: tuple(difflib.unified_diff(a.splitlines(), b.splitlines(), an, bn, lineterm=""))  # noqa: E731
    return VersionDiff(
        old.segment_id, old, new,
        definition_diff=d(old.definition.to_json(), new.definition.to_json(), f"v{old.version}", f"v{new.version}"),
        sql_diff=d(old.sql_databricks or "", new.sql_databricks or "", f"v{old.version}", f"v{new.version}"),
    )


class SegmentLibrary:
    """Saved segments on one warehouse."""

    def __init__(self, warehouse: Warehouse, *, known: Iterable[SavedVersion] = ()):
        self.warehouse = warehouse
        # Versions read already (a list's latest versions): a version never changes once saved, so
        # ``get`` of one of them by its number needs no query.
        self._known = {(v.segment_id, v.version): v for v in known}

    # -- writing -------------------------------------------------------
    def save(self, definition: SegmentDefinition, *, author: str, segment_id: str | None = None,
             note: str = "", sql_databricks: str | None = None, audience_size: int | None = None,
             as_of_date: date | None = None, is_sample: bool = False, brief: dict | None = None,
             role: str | None = None, new_id: str | None = None, action: str = "segment.save") -> SavedVersion:
        """Save a new segment (no segment_id) or a new version of an existing one; ``action`` names it in
        the audit log (a restore and a duplicate are saves, logged as what the user did)."""
        if not author:
            raise SpecError("a save needs an author")
        ts = now()
        with _lock_for(self.warehouse):
            # The segment row, its new version and the audit row land in one transaction.
            steps: list = []
            if segment_id is None:
                segment_id = new_id or new_segment_id()
                if self._exists(segment_id):
                    raise SpecError(f"segment {segment_id} already exists")
                version = 1
                steps.append(Rows(SEGMENTS, pd.DataFrame([{
                    "segment_id": segment_id, "name": definition.name, "description": definition.description,
                    "owner": author, "created_ts": ts, "updated_ts": ts, "latest_version": 1,
                    "archived": False, "is_sample": is_sample,
                    "brief_json": json.dumps(brief) if brief else None,
                }])))
            else:
                current = self._latest_version(segment_id)
                version = current + 1
                steps.append((exp.update(SEGMENTS, {
                    "latest_version": literal(version), "updated_ts": literal(ts),
                    "name": literal(definition.name), "description": literal(definition.description),
                }, where=exp.EQ(this=column("segment_id"), expression=literal(segment_id))), None))
            steps.append(Rows(VERSIONS, pd.DataFrame([{
                "segment_id": segment_id, "version": version, "name": definition.name,
                "definition_json": definition.to_json(indent=None), "sql_databricks": sql_databricks,
                "author": author, "created_ts": ts, "note": note or None,
                "audience_size": audience_size, "as_of_date": as_of_date,
            }]).astype({"audience_size": "Int64"})))
            steps.append(audit_log.entry(actor=author, role=role, action=action, object_type="segment",
                                         object_id=segment_id, object_version=version, row_count=audience_size,
                                         details={"name": definition.name, "note": note}))
            self.warehouse.transaction(steps)
        return self.get(segment_id, version)

    def archive(self, segment_id: str, *, author: str, archived: bool = True, role: str | None = None) -> None:
        self._require(segment_id)
        with _lock_for(self.warehouse):
            self.warehouse.transaction([
                (exp.update(SEGMENTS, {"archived": exp.true() if archived else exp.false()},
                            where=exp.EQ(this=column("segment_id"), expression=literal(segment_id))), None),
                audit_log.entry(actor=author, role=role, action="segment.archive" if archived else "segment.unarchive",
                                object_type="segment", object_id=segment_id),
            ])

    # -- reading -------------------------------------------------------
    def list(self, *, search: str | None = None, include_archived: bool = False) -> pd.DataFrame:
        """Saved segments, yours before the samples, newest first, each with its latest version
        (``latest_*``; ``audience_size`` is the latest version's size when saved, so a picker can show
        sizes without counting anything): one query."""
        segment, version = partial(column, table="s"), partial(column, table="v")
        query = (exp.select(exp.column(exp.Star(), table="s"),
                            *[version(c).as_(f"latest_{c}") for c in LATEST_COLUMNS])
                 .from_(table(SEGMENTS, alias="s"))
                 .join(table(VERSIONS, alias="v"), join_type="left", on=exp.and_(
                     exp.EQ(this=version("segment_id"), expression=segment("segment_id")),
                     exp.EQ(this=version("version"), expression=segment("latest_version")))))
        if not include_archived:
            query = query.where(exp.EQ(this=segment("archived"), expression=exp.false()))
        frame = self.warehouse.df(query.order_by(segment("is_sample"), exp.Ordered(this=segment("updated_ts"), desc=True)))
        frame["audience_size"] = frame["latest_audience_size"].astype("Int64")
        if search:
            needle = search.strip().lower()
            mask = (frame["name"].str.lower().str.contains(needle, regex=False)
                    | frame["description"].fillna("").str.lower().str.contains(needle, regex=False)
                    | frame["owner"].str.lower().str.contains(needle, regex=False)
                    | frame["segment_id"].str.lower().str.contains(needle, regex=False))
            frame = frame[mask]
        return frame.reset_index(drop=True)

    def versions(self, segment_id: str) -> pd.DataFrame:
        """Every version of a segment, newest first (one query)."""
        frame = self.warehouse.df(
            exp.select("version", "name", "author", "created_ts", "note", "audience_size", "as_of_date")
            .from_(VERSIONS).where(exp.EQ(this=column("segment_id"), expression=literal(segment_id)))
            .order_by(exp.Ordered(this=exp.column("version"), desc=True)))
        if frame.empty:  # every segment has a first version
            raise SpecError(f"segment {segment_id!r} does not exist")
        return frame

    def get(self, segment_id: str, version: int | None = None) -> SavedVersion:
        """A saved version (the latest by default), in one query (none for a known version asked by number)."""
        self._valid_id(segment_id)
        if version and (segment_id, int(version)) in self._known:
            return self._known[(segment_id, int(version))]
        query = exp.select("*").from_(VERSIONS).where(exp.EQ(this=column("segment_id"), expression=literal(segment_id)))
        if version:
            query = query.where(exp.EQ(this=column("version"), expression=literal(int(version))))
        rows = self.warehouse.arrow(query.order_by(exp.Ordered(this=exp.column("version"), desc=True)).limit(1)).to_pylist()
        if not rows:
            self._require(segment_id)
            raise SpecError(f"segment {segment_id} has no version {version}")
        return _saved(segment_id, rows[0])

    def history(self, segment_id: str) -> tuple[SavedVersion, ...]:
        """Every version of a segment with its definition, newest first, in one query."""
        self._valid_id(segment_id)
        rows = self.warehouse.arrow(
            exp.select("*").from_(VERSIONS).where(exp.EQ(this=column("segment_id"), expression=literal(segment_id)))
            .order_by(exp.Ordered(this=exp.column("version"), desc=True))).to_pylist()
        if not rows:
            raise SpecError(f"segment {segment_id!r} does not exist")
        return tuple(_saved(segment_id, r) for r in rows)

    def info(self, segment_id: str) -> dict:
        self._valid_id(segment_id)
        rows = self.warehouse.arrow(exp.select("*").from_(SEGMENTS).where(
            exp.EQ(this=column("segment_id"), expression=literal(segment_id)))).to_pylist()
        if not rows:
            raise SpecError(f"segment {segment_id!r} does not exist")
        return with_brief(rows[0])

    def resolver(self, segment_id: str, version: int | None) -> SegmentDefinition:
        """For the compiler: the definition of a saved segment (latest when version is None)."""
        return self.get(segment_id, version).definition

    def diff(self, segment_id: str, old_version: int, new_version: int) -> VersionDiff:
        return version_diff(self.get(segment_id, old_version), self.get(segment_id, new_version))

    # -- internals -----------------------------------------------------
    def _exists(self, segment_id: str) -> bool:
        return bool(self.warehouse.scalar(exp.select(exp.func("COUNT", exp.Star())).from_(SEGMENTS).where(
            exp.EQ(this=column("segment_id"), expression=literal(segment_id)))))

    @staticmethod
    def _valid_id(segment_id: str) -> None:
        """Refused before any query: a NUL would end the statement the id is a literal of."""
        if not isinstance(segment_id, str):
            raise SpecError(f"a segment id is text, got {segment_id!r}")
        plain_text(segment_id, "segment id")

    def _require(self, segment_id: str) -> None:
        self._valid_id(segment_id)
        if not self._exists(segment_id):
            raise SpecError(f"segment {segment_id!r} does not exist")

    def _latest_version(self, segment_id: str) -> int:
        self._require(segment_id)
        value = self.warehouse.scalar(exp.select(exp.func("MAX", exp.column("version"))).from_(VERSIONS).where(
            exp.EQ(this=column("segment_id"), expression=literal(segment_id))))
        return int(value or 0)
