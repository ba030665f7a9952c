"""The data contract beside each model's SQL: a YAML file next to it, dbt style.

``sql/models/<layer>/<model>.yml`` states the model's grain, documents every
column of its target table, in the table's order, and lists the tests the app
runs on it (``services/quality/specs.py`` turns them into its data-quality
checks; tests/services/pipeline/test_contracts.py holds the file to the DDL,
the model's SQL and the feature catalog)::

    grain: one row per transaction_id.        # the first sentence of the SQL's "-- grain:" line
    description: ...
    columns:
      - name: amount_usd
        type: decimal(18, 2)                  # as the DDL spells it
        description: ...
        derived_from: [amount, fx_rate_to_usd]
        tests:
          - accepted_range: {min: 0, severity: critical}
    tests:                                    # on the whole table
      - unique: {columns: [transaction_id], severity: critical}

Tests, each with a ``severity`` (critical or warning):

* ``unique``, ``not_null``: on a column, or on the table over ``columns`` (the grain's key);
* ``one_current`` (table): each ``columns`` value has exactly one row with ``flag`` true;
* ``accepted_values``: ``values``, by default the column's documented ``values``;
* ``accepted_range``: ``min``, ``max``, ``min_exclusive``;
* ``relationships``: the value is a ``field`` of ``to`` (``source.table``), in its
  ``current`` rows when that flag column is given;
* ``not_after_load_day``: the date is not after the day its batch landed (the latest
  ``landed_ts`` of its ``batch_id`` in ``landed``, a ``source.table``) nor before 1900-01-01;
* ``freshness``: ``loaded_at``, the column whose newest value dates the data (of this model,
  or ``source.table.column`` upstream; a date counts as the end of its day), and ``hours``
  when no SLA is in force; then ``row_count``,
  ``row_count_change`` (``max_change_pct``), ``reconciled`` (raw -> fact): on the table.

What a failing test puts in doubt among the gold features follows from the
lineage (``derived_from``); a test may say otherwise with ``affects`` (a list
of refs, or ``all``). ``derived_from`` lists what a column's value is taken or
computed from: a column of the same model by name, or another table's column as
``source.table.column``. It is complete for the gold features, whose checks rely
on it, and given elsewhere where a model computes a value or brings it from
another table. Two conventions keep it about values: the as-of date, which
every relative value is measured from, is not an input; and a column picked by
a ranking (``top_category``) derives from what it picks, not what it ranks by.

A gold feature column may carry a ``feature`` block (label, group, unit,
picker): the feature catalog (``services/segments/features.py``) is made from
those, in the file's ``catalog_order``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml

from services import naming, sqlfiles
from services.pipeline.models import COMPUTED, MODELS, Model

SEVERITIES = ("critical", "warning")
#: options each test takes besides ``severity`` and ``affects``
TEST_OPTIONS: dict[str, frozenset[str]] = {
    "unique": frozenset({"columns"}),
    "not_null": frozenset({"columns"}),
    "one_current": frozenset({"columns", "flag"}),
    "accepted_values": frozenset({"values"}),
    "accepted_range": frozenset({"min", "max", "min_exclusive"}),
    "relationships": frozenset({"to", "field", "current"}),
    "freshness": frozenset({"hours", "loaded_at"}),
    "row_count": frozenset(),
    "row_count_change": frozenset({"max_change_pct"}),
    "reconciled": frozenset(),
    "not_after_load_day": frozenset({"landed"}),
}
TABLE_ONLY = frozenset({"one_current", "freshness", "row_count", "row_count_change", "reconciled"})
COLUMN_ONLY = frozenset({"accepted_values", "accepted_range", "relationships", "not_after_load_day"})
_TOP_KEYS = frozenset({"grain", "description", "columns", "tests", "catalog_order"})
_COLUMN_KEYS = frozenset({"name", "type", "description", "derived_from", "values", "feature", "tests"})
_FEATURE_KEYS = frozenset({"label", "group", "unit", "picker"})
#: the one ``affects`` word that is not a ref: every gold feature
ALL = "all"


@dataclass(frozen=True)
class DataTest:
    """One test of a contract, on a column (``column`` set) or on the whole table."""

    kind: str
    severity: str
    column: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    #: refs (``source.table[.column]``) or ``all``; None: what the lineage says
    affects: tuple[str, ...] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,) if self.column else tuple(self.options.get("columns", ()))


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    type: str | None = None
    #: refs ``source.table.column``, resolved from the names written in the file
    derived_from: tuple[str, ...] = ()
    #: the documented values and what each means, in their natural order
    values: Mapping[str, str] = field(default_factory=dict)
    #: the feature catalog's metadata of a gold feature (label, group, unit, picker)
    feature: Mapping[str, Any] | None = None
    tests: tuple[DataTest, ...] = ()


@dataclass(frozen=True)
class Contract:
    model: str
    source: str
    table: str
    path: str            # relative to sql/
    grain: str
    description: str
    columns: tuple[Column, ...]
    tests: tuple[DataTest, ...] = ()
    catalog_order: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``source.table``, how lineage and relationships name the model's target."""
        return f"{self.source}.{self.table}"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.path} documents no column {name!r}")

    def column_ref(self, name: str) -> str:
        return f"{self.ref}.{name}"

    def all_tests(self) -> tuple[DataTest, ...]:
        """Table tests first, then each column's, in column order."""
        return self.tests + tuple(t for c in self.columns for t in c.tests)


def contract_path(model: Model) -> str:
    """``sql/<path>.yml`` beside the model's SQL (a computed table's path has no ``.sql``)."""
    return model.path.removesuffix(".sql") + ".yml"


class _Reader:
    """Reads one contract file, failing with the file and the place of anything malformed."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, where: str, message: str) -> ValueError:
        return ValueError(f"sql/{self.path}: {where}: {message}")

    def mapping(self, value: Any, where: str, allowed: frozenset[str], *, required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {value!r}")
        unknown = set(value) - allowed
        if unknown:
            raise self.fail(where, f"unknown keys {sorted(unknown)}; expected some of {sorted(allowed)}")
        missing = [k for k in required if k not in value]
        if missing:
            raise self.fail(where, f"missing {', '.join(missing)}")
        return value

    def names(self, value: Any, where: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(where, f"expected a list of names, got {value!r}")
        return tuple(value)

    def ref(self, name: str, model_ref: str, columns: tuple[str, ...], where: str) -> str:
        """A name of this model's column, or ``source.table.column`` of another table."""
        parts = name.split(".")
        if len(parts) == 1:
            if name not in columns:
                raise self.fail(where, f"{name!r} is not a column of this model")
            return f"{model_ref}.{name}"
        if len(parts) not in (2, 3) or parts[0] not in naming.ALL_SCHEMAS:
            raise self.fail(where, f"{name!r} is neither a column of this model nor source.table[.column] "
                                   f"with a source among {naming.ALL_SCHEMAS}")
        return name

    def test(self, item: Any, where: str, model_ref: str, columns: tuple[str, ...], column: str | None) -> DataTest:
        if not isinstance(item, dict) or len(item) != 1:
            raise self.fail(where, f"a test is one mapping {{kind: {{options}}}}, got {item!r}")
        ((kind, options),) = item.items()
        if kind not in TEST_OPTIONS:
            raise self.fail(where, f"unknown test {kind!r}; expected one of {sorted(TEST_OPTIONS)}")
        where = f"{where} {kind}"
        allowed = TEST_OPTIONS[kind] | {"severity", "affects"}
        options = dict(self.mapping(options, where, allowed, required=("severity",)))
        severity = options.pop("severity")
        if severity not in SEVERITIES:
            raise self.fail(where, f"severity must be one of {SEVERITIES}, not {severity!r}")
        if column is not None and kind in TABLE_ONLY:
            raise self.fail(where, "is a test of the whole table: list it under the model's tests")
        if column is None and kind in COLUMN_ONLY:
            raise self.fail(where, "is a test of one column: list it under that column's tests")
        if column is None and kind in ("unique", "not_null", "one_current"):
            unknown = set(self.names(options.get("columns"), f"{where} columns")) - set(columns)
            if unknown:
                raise self.fail(where, f"columns {sorted(unknown)} are not columns of this model")
        for number in ("min", "max", "hours", "max_change_pct"):
            if number in options and (isinstance(options[number], bool) or not isinstance(options[number], (int, float))):
                raise self.fail(where, f"{number} must be a number, not {options[number]!r}")
        if kind == "accepted_range" and not {"min", "max"} & options.keys():
            raise self.fail(where, "needs a min, a max or both")
        if kind == "one_current" and options.get("flag") not in columns:
            raise self.fail(where, "needs the flag column that marks the current row")
        if kind == "freshness":
            if not isinstance(options.get("loaded_at"), str):
                raise self.fail(where, "needs loaded_at: the column whose newest value dates the data")
            options["loaded_at"] = self.ref(options["loaded_at"], model_ref, columns, f"{where} loaded_at")
            if options["loaded_at"].count(".") != 2:
                raise self.fail(where, "loaded_at must name a column (source.table.column), not a table")
        if kind == "relationships":
            if not isinstance(options.get("to"), str) or len(options["to"].split(".")) != 2 \
                    or not isinstance(options.get("field"), str):
                raise self.fail(where, "needs to: source.table and field: the column looked up there")
        if kind == "not_after_load_day" and (not isinstance(options.get("landed"), str)
                                             or len(options["landed"].split(".")) != 2):
            raise self.fail(where, "needs landed: source.table, the table whose landed_ts says when a batch landed")
        affects = options.pop("affects", None)
        if affects is not None:
            affects = (ALL,) if affects == ALL else tuple(
                ref if ref == ALL else self.ref(ref, model_ref, columns, f"{where} affects")
                for ref in self.names(affects, f"{where} affects"))
        return DataTest(kind, severity, column, options, affects)

    def column(self, item: Any, where: str, model_ref: str, columns: tuple[str, ...]) -> Column:
        item = self.mapping(item, where, _COLUMN_KEYS, required=("name", "description"))
        name = item["name"]
        where = f"column {name}"
        values = item.get("values", {})
        if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
            raise self.fail(where, "values: a mapping of each value to what it means")
        feature = item.get("feature")
        if feature is not None:
            feature = self.mapping(feature, f"{where} feature", _FEATURE_KEYS, required=("label", "group"))
        derived = tuple(self.ref(r, model_ref, columns, f"{where} derived_from")
                        for r in self.names(item.get("derived_from", []), f"{where} derived_from"))
        tests = tuple(self.test(t, f"{where} tests", model_ref, columns, name) for t in item.get("tests", []))
        if any(t.kind == "accepted_values" and not t.options.get("values") for t in tests) and not values:
            raise self.fail(where, "accepted_values needs values: on the test or documented on the column")
        return Column(name, str(item["description"]).strip(), item.get("type"), derived, values, feature, tests)

    def contract(self, model: Model, data: Any) -> Contract:
        data = self.mapping(data, "top level", _TOP_KEYS, required=("grain", "columns"))
        model_ref = f"{model.source}.{model.target}"
        if not isinstance(data["columns"], list) or not data["columns"]:
            raise self.fail("columns", "expected the list of the table's columns")
        names = tuple(c.get("name") if isinstance(c, dict) else None for c in data["columns"])
        if len(set(names)) != len(names):
            raise self.fail("columns", "a column is listed twice")
        columns = tuple(self.column(c, f"columns[{i}]", model_ref, names) for i, c in enumerate(data["columns"]))
        tests = tuple(self.test(t, "tests", model_ref, names, None) for t in data.get("tests", []))
        order = self.names(data.get("catalog_order", []), "catalog_order")
        featured = [c.name for c in columns if c.feature is not None]
        if sorted(order) != sorted(featured):
            raise self.fail("catalog_order", f"must list each column with a feature block once: "
                                             f"missing {sorted(set(featured) - set(order))}, "
                                             f"extra {sorted(set(order) - set(featured))}")
        return Contract(model.name, model.source, model.target, self.path, " ".join(str(data["grain"]).split()),
                        " ".join(str(data.get("description", "")).split()), columns, tests, order)


def parse_contract(model: Model, text: str) -> Contract:
    """The contract of ``model`` written in ``text`` (YAML); a malformed one raises ValueError."""
    found = _Reader(contract_path(model)).contract(model, yaml.safe_load(text))
    _check_acyclic(_lineage_of((found,)))
    return found


def _load(model: Model) -> Contract:
    path = contract_path(model)
    file = sqlfiles.SQL_DIR / path
    if not file.is_file():
        raise FileNotFoundError(f"model {model.name} has no contract: write sql/{path} beside its SQL")
    return parse_contract(model, file.read_text(encoding="utf-8"))


@cache
def contracts() -> tuple[Contract, ...]:
    """The contract of every model, in build order, then of the tables computed in Python (read once per process)."""
    found = tuple(_load(m) for m in (*MODELS, *COMPUTED))
    _check_acyclic(_lineage_of(found))
    return found


def contract(model_name: str) -> Contract:
    for c in contracts():
        if c.model == model_name:
            return c
    raise KeyError(f"no model named {model_name!r}")


# -- lineage ------------------------------------------------------------------------

def _lineage_of(found: tuple[Contract, ...]) -> dict[str, tuple[str, ...]]:
    return {c.column_ref(col.name): col.derived_from for c in found for col in c.columns}


def _check_acyclic(graph: dict[str, tuple[str, ...]]) -> None:
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        if node in path:
            raise ValueError(f"derived_from goes round in a circle: {' -> '.join(path + (node,))}")
        if node in done:
            return
        for parent in graph.get(node, ()):
            visit(parent, path + (node,))
        done.add(node)

    for node in graph:
        visit(node, ())


def _covers(ref: str, node: str) -> bool:
    """Whether ``node`` (a column ref) is ``ref`` or a column of the table ``ref``."""
    return node == ref or (ref.count(".") == 1 and node.startswith(ref + "."))


def downstream(ref: str, model: str) -> tuple[str, ...]:
    """Columns of ``model`` derived, directly or through other columns, from ``ref``.

    ``ref`` is a column (``source.table.column``) or a whole table
    (``source.table``); a column is not its own descendant. In column order.
    """
    graph = _lineage_of(contracts())
    memo: dict[str, bool] = {}

    def reaches(node: str) -> bool:
        if node not in memo:
            memo[node] = any(_covers(ref, parent) or reaches(parent) for parent in graph.get(node, ()))
        return memo[node]

    target = contract(model)
    return tuple(c.name for c in target.columns if reaches(target.column_ref(c.name)))
