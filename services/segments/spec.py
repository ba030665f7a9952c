"""The segment definition: a frozen, typed, JSON-serialisable model.

A definition is a rule (a group of conditions and nested groups, to any
depth) plus an optional holdout/split. Conditions are of three kinds:

* ``Trait``: a gold customer feature compared with a value;
* ``Behavior``: how often or how much a customer bought, with filters and a
  window ("bought in beauty at least 3 times in the last 90 days");
* ``Membership``: in another saved segment, a cluster of a clustering run, or
  a lookalike expansion at a reach.

The JSON form (``to_json`` / ``from_json``) is what the library stores and
versions; ``schema_version`` lets later releases read old definitions.
Everything is hashable, so a definition can be a cache key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Union

from services.errors import SpecError

SCHEMA_VERSION = 1

Scalar = str | int | float | bool | date | None

TRAIT_OPS = {
    "eq": "=", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=",
    "between": "between", "in": "in", "not_in": "not in",
    "is_true": "is true", "is_false": "is false",
    "before": "before", "after": "after", "within_last_days": "within the last N days",
    "is_null": "is empty", "is_not_null": "is not empty",
}
BEHAVIOR_MEASURES = ("orders", "spend")
COMPARATORS = {"at_least": ">=", "at_most": "<=", "exactly": "="}
MEMBERSHIP_KINDS = ("segment", "cluster", "lookalike")
MATCHES = ("all", "any")


def _date(value: Any, what: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise SpecError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None
    raise SpecError(f"{what}: {value!r} is not a date (YYYY-MM-DD)")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _plain_text(value: str, what: str) -> str:
    # Names reach SQL comments and hash keys; control characters (a NUL ends
    # DuckDB's reading of a statement) have no business in them.
    if _CONTROL.search(value):
        raise SpecError(f"{what} {value!r} contains control characters (tabs, newlines or NUL); use plain text")
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


@dataclass(frozen=True)
class Trait:
    """A gold feature compared with a value: ``recency_days <= 30``."""

    field: str
    op: str
    value: Scalar = None
    values: tuple[Scalar, ...] = ()
    low: Scalar = None
    high: Scalar = None
    kind: str = field(default="trait", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not self.field:
            raise SpecError("a trait condition needs a field name")
        if self.op not in TRAIT_OPS:
            raise SpecError(f"operator {self.op!r} is not one of {', '.join(TRAIT_OPS)}")
        object.__setattr__(self, "values", tuple(self.values))
        if self.op in ("in", "not_in") and not self.values:
            raise SpecError(f"{self.field} {self.op}: pick at least one value")
        if self.op == "between" and (self.low is None or self.high is None):
            raise SpecError(f"{self.field} between: give both a low and a high value")
        if self.op in ("eq", "ne", "lt", "lte", "gt", "gte", "before", "after", "within_last_days") and self.value is None:
            raise SpecError(f"{self.field} {self.op}: give a value")
        if self.op == "within_last_days" and (not isinstance(self.value, int) or isinstance(self.value, bool) or self.value < 0):
            raise SpecError(f"{self.field} within_last_days: the number of days must be a whole number >= 0")

    def describe(self) -> str:
        if self.op in ("in", "not_in"):
            return f"{self.field} {TRAIT_OPS[self.op]} ({', '.join(map(str, self.values))})"
        if self.op == "between":
            return f"{self.field} between {self.low} and {self.high}"
        if self.op == "within_last_days":
            return f"{self.field} within the last {self.value} days"
        if self.op in ("is_true", "is_false", "is_null", "is_not_null"):
            return f"{self.field} {TRAIT_OPS[self.op]}"
        return f"{self.field} {TRAIT_OPS[self.op]} {self.value}"


@dataclass(frozen=True)
class Behavior:
    """Purchases over the transactions, with filters and a window.

    ``measure`` "orders" counts purchase transactions; "spend" sums purchases
    minus refunds in USD. Either ``last_days`` (relative to the data's as-of
    date) or ``start``/``end`` (inclusive dates) bounds the window; neither
    means all history. ``negate`` turns "bought ..." into "did not buy ...".
    """

    measure: str = "orders"
    comparator: str = "at_least"
    threshold: float = 1
    categories: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    merchants: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    last_days: int | None = None
    start: date | None = None
    end: date | None = None
    negate: bool = False
    kind: str = field(default="behavior", init=False)

    def __post_init__(self) -> None:
        if self.measure not in BEHAVIOR_MEASURES:
            raise SpecError(f"behavioral measure {self.measure!r} is not one of {BEHAVIOR_MEASURES}")
        if self.comparator not in COMPARATORS:
            raise SpecError(f"comparator {self.comparator!r} is not one of {', '.join(COMPARATORS)}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
            raise SpecError(f"behavioral threshold {self.threshold!r} is not a number")
        if self.measure == "orders" and (self.threshold < 0 or int(self.threshold) != self.threshold):
            raise SpecError(f"a number of orders must be a whole number >= 0, got {self.threshold}")
        for name in ("categories", "channels", "merchants", "products"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "start", _date(self.start, "behavior start"))
        object.__setattr__(self, "end", _date(self.end, "behavior end"))
        if self.last_days is not None:
            if isinstance(self.last_days, bool) or not isinstance(self.last_days, int) or self.last_days < 1:
                raise SpecError(f"last_days must be a whole number of days >= 1, got {self.last_days!r}")
            if self.start or self.end:
                raise SpecError("give either last_days or start/end dates for a behavioral window, not both")
        if self.start and self.end and self.start > self.end:
            raise SpecError(f"behavioral window starts {self.start} after it ends {self.end}")

    def describe(self) -> str:
        what = "bought" if self.measure == "orders" else "spent"
        words = self.comparator.replace("_", " ")
        times = int(self.threshold)
        amount = (f"{words} {times} time{'s' if times != 1 else ''}" if self.measure == "orders"
                  else f"{words} ${self.threshold:,.2f}")
        filters = [f"{n} in ({', '.join(getattr(self, n))})" for n in ("categories", "channels", "merchants", "products")
                   if getattr(self, n)]
        window = (f"in the last {self.last_days} days" if self.last_days else
                  f"between {self.start or 'the beginning'} and {self.end or 'the as-of date'}"
                  if (self.start or self.end) else "ever")
        text = " ".join([what, *( ["with " + " and ".join(filters)] if filters else []), amount, window])
        return f"not ({text})" if self.negate else text


@dataclass(frozen=True)
class Membership:
    """In another segment, in clusters of a clustering run, or in a lookalike at a reach."""

    of: str
    segment_id: str | None = None
    version: int | None = None
    run_id: str | None = None
    cluster_ids: tuple[int, ...] = ()
    model_id: str | None = None
    reach_pct: float | None = None
    negate: bool = False
    kind: str = field(default="membership", init=False)

    def __post_init__(self) -> None:
        if self.of not in MEMBERSHIP_KINDS:
            raise SpecError(f"membership of {self.of!r} is not one of {MEMBERSHIP_KINDS}")
        object.__setattr__(self, "cluster_ids", tuple(self.cluster_ids))
        if self.of == "segment" and not self.segment_id:
            raise SpecError("membership of a segment needs a segment_id")
        if self.of == "segment" and self.version is not None and (not isinstance(self.version, int) or self.version < 1):
            raise SpecError(f"segment version must be a whole number >= 1, got {self.version!r}")
        if self.of == "cluster" and (not self.run_id or not self.cluster_ids):
            raise SpecError("membership of a cluster needs a run_id and at least one cluster id")
        if self.of == "lookalike":
            if not self.model_id or self.reach_pct is None:
                raise SpecError("membership of a lookalike needs a model_id and a reach_pct")
            if not 0 < float(self.reach_pct) <= 100:
                raise SpecError(f"lookalike reach must be between 0 and 100 percent, got {self.reach_pct}")

    def describe(self) -> str:
        if self.of == "segment":
            text = f"in segment {self.segment_id}" + (f" v{self.version}" if self.version else " (latest)")
        elif self.of == "cluster":
            text = f"in cluster {', '.join(map(str, self.cluster_ids))} of run {self.run_id}"
        else:
            text = f"in lookalike {self.model_id} at {self.reach_pct:g}% reach"
        return f"not {text}" if self.negate else text


Condition = Union[Trait, Behavior, Membership, "Group"]


@dataclass(frozen=True)
class Group:
    """ALL / ANY of conditions and nested groups, optionally negated. Empty ALL is everyone."""

    match: str = "all"
    conditions: tuple[Condition, ...] = ()
    negate: bool = False
    kind: str = field(default="group", init=False)

    def __post_init__(self) -> None:
        if self.match not in MATCHES:
            raise SpecError(f"a group matches 'all' or 'any', not {self.match!r}")
        object.__setattr__(self, "conditions", tuple(self.conditions))

    def describe(self) -> str:
        joiner = " and " if self.match == "all" else " or "
        inner = joiner.join(c.describe() for c in self.conditions) or ("everyone" if self.match == "all" else "no one")
        return f"not ({inner})" if self.negate else f"({inner})"


@dataclass(frozen=True)
class Arm:
    name: str
    share_pct: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError("a treatment arm needs a name")
        _plain_text(self.name, "arm name")


@dataclass(frozen=True)
class Split:
    """Holdout and treatment arms: shares in percent that add up to 100."""

    control_pct: float = 10.0
    arms: tuple[Arm, ...] = (Arm("treatment", 90.0),)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arms", tuple(a if isinstance(a, Arm) else Arm(**a) for a in self.arms))
        if not self.arms:
            raise SpecError("a split needs at least one treatment arm")
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names) or "control" in names:
            raise SpecError("treatment arm names must be unique and not 'control'")
        shares = [self.control_pct, *(a.share_pct for a in self.arms)]
        if any(s < 0 for s in shares) or abs(sum(shares) - 100.0) > 1e-6:
            raise SpecError(f"split shares must be >= 0 and add up to 100%, got {sum(shares):g}%")


@dataclass(frozen=True)
class SegmentDefinition:
    name: str
    rule: Group = Group()
    description: str = ""
    split: Split | None = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError("a segment needs a name")
        _plain_text(self.name, "segment name")
        if self.schema_version > SCHEMA_VERSION:
            raise SpecError(f"definition schema version {self.schema_version} is newer than this app ({SCHEMA_VERSION})")

    # -- JSON ------------------------------------------------------------
    def to_dict(self) -> dict:
        return _to_dict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict) -> SegmentDefinition:
        if not isinstance(data, dict):
            raise SpecError("a segment definition is a JSON object")
        unknown = set(data) - {"schema_version", "name", "description", "rule", "split"}
        if unknown:
            # A misspelt "rule" would otherwise silently select everyone.
            raise SpecError(f"unknown top-level key(s) {', '.join(sorted(unknown))}; expected schema_version, "
                            "name, description, rule, split")
        version = data.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int):
            raise SpecError("schema_version must be a whole number")
        split = data.get("split")
        return cls(
            name=data.get("name", ""),
            description=data.get("description", "") or "",
            rule=_group_from(data.get("rule", {"match": "all", "conditions": []}), "rule"),
            split=None if split is None else _build(Split, {**split, "arms": tuple(Arm(**a) for a in split.get("arms", []))}, "split"),
            schema_version=version,
        )

    @classmethod
    def from_json(cls, text: str) -> SegmentDefinition:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"the definition is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def _to_dict(obj: Any) -> Any:
    if isinstance(obj, (Trait, Behavior, Membership, Group, Split, Arm, SegmentDefinition)):
        out = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if f.name == "kind" and isinstance(obj, SegmentDefinition):
                continue
            out[f.name] = _to_dict(value)
        if isinstance(obj, (Trait, Behavior, Membership)):
            # Keep stored JSON small: drop empty optional fields.
            out = {k: v for k, v in out.items() if k == "kind" or v not in (None, [], ())}
        if "kind" in out:
            out = {"kind": out.pop("kind"), **out}
        return out
    if isinstance(obj, tuple):
        return [_to_dict(v) for v in obj]
    return _json_value(obj)


def _build(cls, data: dict, where: str):
    allowed = {f.name for f in fields(cls) if f.init}
    unknown = set(data) - allowed - {"kind"}
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} for a {cls.__name__.lower()} condition")
    try:
        return cls(**{k: v for k, v in data.items() if k in allowed})
    except TypeError as exc:
        raise SpecError(f"{where}: {exc}") from None


def _condition_from(data: Any, where: str) -> Condition:
    if not isinstance(data, dict):
        raise SpecError(f"{where}: a condition is a JSON object")
    kind = data.get("kind")
    if kind == "group":
        return _group_from(data, where)
    if kind == "trait":
        payload = dict(data)
        for key in ("values",):
            if key in payload:
                payload[key] = tuple(payload[key])
        return _build(Trait, payload, where)
    if kind == "behavior":
        payload = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return _build(Behavior, payload, where)
    if kind == "membership":
        payload = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return _build(Membership, payload, where)
    raise SpecError(f"{where}: unknown condition kind {kind!r} (trait, behavior, membership or group)")


def _group_from(data: Any, where: str) -> Group:
    if not isinstance(data, dict):
        raise SpecError(f"{where}: a group is a JSON object")
    unknown = set(data) - {"kind", "match", "conditions", "negate"}
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} for a group")
    conditions = data.get("conditions", [])
    if not isinstance(conditions, list):
        raise SpecError(f"{where}: conditions must be a list")
    return Group(
        match=data.get("match", "all"),
        negate=bool(data.get("negate", False)),
        conditions=tuple(_condition_from(c, f"{where}.conditions[{i}]") for i, c in enumerate(conditions)),
    )


def walk(group: Group):
    """Every condition in a rule, depth first (groups included)."""
    for condition in group.conditions:
        yield condition
        if isinstance(condition, Group):
            yield from walk(condition)


__all__ = [
    "Arm", "Behavior", "Condition", "Group", "Membership", "SCHEMA_VERSION", "SegmentDefinition",
    "Split", "Trait", "TRAIT_OPS", "COMPARATORS", "walk",
]
