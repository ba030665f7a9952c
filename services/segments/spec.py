"""The segment definition: a frozen, typed, JSON-serialisable model.

A definition is a rule (a group of conditions and nested groups, to any
depth) plus an optional holdout/split. Conditions are of three kinds, each
one module of ``services/segments/conditions/`` (found there by name in
``KINDS``), re-exported here:

* ``Trait``: a gold customer feature compared with a value;
* ``Behavior``: how often or how much a customer bought, with filters and a
  window ("bought in beauty at least 3 times in the last 90 days");
* ``Membership``: in another saved segment, a cluster of a clustering run, or
  a lookalike expansion at a reach.

The JSON form (``to_json`` / ``from_json``) is what the library stores and
versions; ``schema_version`` lets later releases read old definitions.
Everything is hashable, so a definition can be a cache key. A problem with one
condition is a SpecError whose ``path`` places it in the rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from services.errors import SpecError
from services.segments.conditions import KINDS, Condition
from services.segments.conditions.base import Scalar, condition_to_dict, json_value, rule_path
from services.segments.conditions.behavior import BEHAVIOR_MEASURES, COMPARATORS, Behavior
from services.segments.conditions.membership import MEMBERSHIP_KINDS, Membership
from services.segments.conditions.trait import TRAIT_OPS, Trait
from services.segments.reading import MAX_DEPTH, load_json, matches, plain_text, shown
from services.segments.wording import Names

SCHEMA_VERSION = 1
MATCHES = ("all", "any")


@dataclass(frozen=True)
class Group:
    """ALL / ANY of conditions and nested groups, optionally negated. Empty ALL is everyone."""

    match: str = "all"
    conditions: tuple[Condition | Group, ...] = ()
    negate: bool = False
    kind: str = field(default="group", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.match, str) or self.match not in MATCHES:
            raise SpecError(f"a group matches 'all' or 'any', not {self.match!r}")
        if not isinstance(self.negate, bool):
            raise SpecError(f"negate must be true or false, got {shown(self.negate)}")
        object.__setattr__(self, "conditions", tuple(self.conditions))

    def describe(self) -> str:
        joiner = " and " if self.match == "all" else " or "
        inner = joiner.join(c.describe() for c in self.conditions) or ("everyone" if self.match == "all" else "no one")
        return f"not ({inner})" if self.negate else f"({inner})"

    def phrase(self, names: Names) -> str:
        """How the Builder reads it: "Any of (…; …)", "Not all of (…)"."""
        inner = "; ".join(c.phrase(names) for c in self.conditions) or "no conditions"
        head = ("All of" if self.match == "all" else "Any of")
        return f"Not {head.lower()} ({inner})" if self.negate else f"{head} ({inner})"


@dataclass(frozen=True)
class Arm:
    name: str
    share_pct: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError("a treatment arm needs a name")
        plain_text(self.name, "arm name")
        if not matches(self.share_pct, float):
            raise SpecError(f"share_pct must be a number, got {shown(self.share_pct)}")


@dataclass(frozen=True)
class Split:
    """Holdout and treatment arms: shares in percent that add up to 100."""

    control_pct: float = 10.0
    arms: tuple[Arm, ...] = (Arm("treatment", 90.0),)

    def __post_init__(self) -> None:
        if not matches(self.control_pct, float):
            raise SpecError(f"control_pct must be a number, got {shown(self.control_pct)}")
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
        if not isinstance(self.name, str):
            raise SpecError(f"a segment needs a name (text), got {shown(self.name)}", where="name")
        if not self.name.strip():
            raise SpecError("a segment needs a name", where="name")
        plain_text(self.name, "segment name")
        if not isinstance(self.description, str):
            raise SpecError(f"description must be text, got {shown(self.description)}", where="description")
        if not matches(self.schema_version, int):
            raise SpecError(f"schema_version must be a whole number, got {shown(self.schema_version)}",
                            where="schema_version")
        if self.schema_version > SCHEMA_VERSION:
            raise SpecError(f"definition schema version {self.schema_version} is newer than this app ({SCHEMA_VERSION})",
                            where="schema_version")

    # -- JSON ------------------------------------------------------------
    def to_dict(self) -> dict:
        return _to_dict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict, *, rule: Group | None = None) -> SegmentDefinition:
        """Read the JSON form; ``rule``, when given, stands for ``data["rule"]`` (read already, as the
        Builder's lenient compile does)."""
        if not isinstance(data, dict):
            raise SpecError("a segment definition is a JSON object")
        unknown = set(data) - {"schema_version", "name", "description", "rule", "split"}
        if unknown:
            # A misspelt "rule" would otherwise silently select everyone.
            raise SpecError(f"unknown top-level key(s) {', '.join(sorted(unknown))}; expected schema_version, "
                            "name, description, rule, split")
        version = data.get("schema_version", SCHEMA_VERSION)
        split = data.get("split")
        description = data.get("description")
        return cls(
            name=data.get("name", ""),
            description="" if description is None else description,
            rule=rule if rule is not None else read_group(data.get("rule", {"match": "all", "conditions": []}), ()),
            split=None if split is None else _split_from(split),
            schema_version=version,
        )

    @classmethod
    def from_json(cls, text: str) -> SegmentDefinition:
        return cls.from_dict(load_json(text, "the definition"))


def _to_dict(obj: Any) -> Any:
    if getattr(obj, "kind", None) in KINDS:
        return condition_to_dict(obj)
    if is_dataclass(obj):
        out = {f.name: _to_dict(getattr(obj, f.name)) for f in fields(obj)}
        return {"kind": out.pop("kind"), **out} if "kind" in out else out
    if isinstance(obj, tuple):
        return [_to_dict(v) for v in obj]
    return json_value(obj)


def _split_from(data: Any) -> Split:
    if not isinstance(data, dict):
        raise SpecError(f"a split is a JSON object, got {shown(data)}", where="split")
    unknown = set(data) - {"control_pct", "arms", "kind"}
    if unknown:
        raise SpecError(f"unknown key(s) {', '.join(sorted(unknown))} for a split condition", where="split")
    arms = data.get("arms", [])
    if not isinstance(arms, list):
        raise SpecError(f"arms must be a list, got {shown(arms)}", where="split")
    try:
        return Split(**{k: v for k, v in data.items() if k not in ("kind", "arms")},
                     arms=tuple(_arm_from(a, i) for i, a in enumerate(arms)))
    except SpecError as exc:
        if exc.where:
            raise
        raise SpecError(exc.reason, where="split") from None


def _arm_from(data: Any, index: int) -> Arm:
    where = f"split.arms[{index}]"
    if not isinstance(data, dict):
        raise SpecError(f"an arm is a JSON object with a name and a share_pct, got {shown(data)}", where=where)
    unknown = set(data) - {"name", "share_pct"}
    if unknown:
        raise SpecError(f"unknown key(s) {', '.join(sorted(unknown))} for an arm", where=where)
    try:
        return Arm(name=data.get("name", ""), share_pct=data.get("share_pct", 0))
    except SpecError as exc:
        raise SpecError(exc.reason, where=where) from None


def is_group_data(data: Any) -> bool:
    """Whether a node of a rule's JSON form is a group (rather than a condition of some kind)."""
    return isinstance(data, dict) and data.get("kind") == "group"


def read_condition(data: Any, path: tuple[int, ...]) -> Condition:
    """One condition of a rule (not a group) from its JSON object; errors carry ``path``."""
    where = rule_path(path)
    if not isinstance(data, dict):
        raise SpecError("a condition is a JSON object", path=path, where=where)
    if not isinstance(data.get("kind"), str | None):
        raise SpecError(f"kind must be text, got {shown(data.get('kind'))}", path=path, where=where)
    kind = KINDS.get(data.get("kind"))
    if kind is None:
        raise SpecError(f"unknown condition kind {data.get('kind')!r} ({', '.join(KINDS)} or group)",
                        path=path, where=where)
    try:
        return kind.read(data, path)
    except SpecError as exc:
        if exc.path is not None:
            raise
        # The spec's own checks say what is wrong in words of the condition itself.
        raise exc.at(path) from exc


def read_group(data: Any, path: tuple[int, ...], *, conditions: tuple | None = None) -> Group:
    """A group from its JSON object; ``conditions``, when given, stand for the ones it lists."""
    where = rule_path(path)
    if len(path) > MAX_DEPTH:
        raise SpecError(f"groups nest more than {MAX_DEPTH} levels deep; flatten the rule", path=path, where=where)
    if not isinstance(data, dict):
        raise SpecError("a group is a JSON object", path=path, where=where)
    unknown = set(data) - {"kind", "match", "conditions", "negate"}
    if unknown:
        raise SpecError(f"unknown key(s) {', '.join(sorted(unknown))} for a group", path=path, where=where)
    listed = data.get("conditions", [])
    if not isinstance(listed, list):
        raise SpecError(f"conditions must be a list, got {shown(listed)}", path=path, where=where)
    if conditions is None:
        conditions = tuple(read_group(c, (*path, i)) if is_group_data(c) else read_condition(c, (*path, i))
                           for i, c in enumerate(listed))
    try:
        return Group(match=data.get("match", "all"), negate=data.get("negate", False), conditions=conditions)
    except SpecError as exc:
        raise exc.at(path, where=where) from exc


def walk(group: Group):
    """Every condition in a rule, depth first (groups included)."""
    for condition in group.conditions:
        yield condition
        if isinstance(condition, Group):
            yield from walk(condition)


__all__ = [
    "Arm", "BEHAVIOR_MEASURES", "Behavior", "COMPARATORS", "Condition", "Group", "MATCHES", "MAX_DEPTH", "MEMBERSHIP_KINDS",
    "Membership", "SCHEMA_VERSION", "Scalar", "SegmentDefinition", "Split", "TRAIT_OPS", "Trait",
    "is_group_data", "read_condition", "read_group", "walk",
]
