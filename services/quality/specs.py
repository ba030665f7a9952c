"""The app's data-quality checks, as one declarative table.

The checks on the pipeline's models are the tests written in their contracts,
the YAML beside each model's SQL (``services/pipeline/contracts.py``): adding a
check on a model is adding a line to its ``.yml``. Tables no model writes (the
product and merchant dimensions) keep their checks as rows here. How a kind is
evaluated lives in ``rules.py`` (SQL over the checked table) and
``recorded.py`` (what the pipeline recorded: freshness, volume, reconciliation).

``affects`` lists the gold_customer_features columns whose values the check
vouches for, so the Segment Builder can show a failing check beside every
field it makes doubtful. It follows from the contracts' lineage
(``derived_from``): a check on a whole table (its key, freshness, volume,
reconciliation) puts in doubt every feature derived from that table, and every
feature when it is the gold table itself; a check on a column, the column when
it is a feature and every feature derived from it; a relationships check,
what is derived from the column and what the lookup brings in (the features
derived from the parent table). A test's own ``affects`` overrides that.
Severity: a check is critical when a failure makes segments wrong (fact and
gold keys, every gold value a segment can filter on, freshness of gold,
reconciliation); warnings flag what a marketer can still work around
(dimension keys, lookups imported files lack, volume swings).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.governance.registry import dataset_id
from services.pipeline import contracts
from services.pipeline.contracts import Contract, DataTest

CRITICAL = "critical"
WARNING = "warning"

GOLD_MODEL = "gold_customer_features"
_GOLD = contracts.contract(GOLD_MODEL)
#: every gold_customer_features column, in the table's order
FEATURES = _GOLD.names

KINDS = {
    # kind: check_type as the governance source spells it
    "unique": "uniqueness",
    "not_null": "completeness",
    "one_current": "uniqueness",
    "in_range": "validity",
    "in_set": "validity",
    "references": "referential_integrity",
    "freshness": "freshness",
    "row_count": "volume",
    "row_count_change": "volume",
    "reconciled": "reconciliation",
    "not_after_load_day": "validity",
}


@dataclass(frozen=True)
class CheckSpec:
    """One check on one table. Only the settings of its kind are filled in."""

    source: str
    table: str
    kind: str
    severity: str
    columns: tuple[str, ...] = ()
    affects: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    minimum_exclusive: bool = False
    allowed: tuple[str, ...] = ()
    #: (source, table, column) a references check looks the value up in
    parent: tuple[str, str, str] | None = None
    #: boolean column of the parent that marks the rows to look in (SCD2 current)
    parent_flag: str | None = None
    #: (source, table, column) whose newest value dates the data a freshness check measures
    loaded_at: tuple[str, str, str] | None = None
    #: freshness when ref_sla has no SLA in force for the dataset
    default_freshness_hours: float = 24.0
    #: largest row-count change from the previous build, in percent
    max_change_pct: float = 20.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown check kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.severity not in (CRITICAL, WARNING):
            raise ValueError(f"severity must be {CRITICAL!r} or {WARNING!r}, not {self.severity!r}")
        unknown = set(self.affects) - set(FEATURES)
        if unknown:
            raise ValueError(f"{self.check_name} affects unknown gold features {sorted(unknown)}")

    @property
    def dataset_id(self) -> str:
        return dataset_id(self.source, self.table)

    @property
    def check_type(self) -> str:
        return KINDS[self.kind]

    @property
    def check_name(self) -> str:
        cols = "_".join(self.columns)
        return {
            "unique": f"{cols}_unique",
            "not_null": f"{cols}_not_null",
            "one_current": f"one_current_row_per_{cols}",
            "in_range": f"{cols}_in_range",
            "in_set": f"{cols}_in_allowed_values",
            "references": f"{cols}_references_{self.parent[1] if self.parent else ''}",
            "freshness": "freshness",
            "row_count": "row_count",
            "row_count_change": "row_count_change",
            "reconciled": "raw_to_fact_reconciled",
            "not_after_load_day": f"{cols}_not_after_load_day",
        }[self.kind]


@dataclass(frozen=True)
class Outcome:
    """What evaluating one spec found."""

    passed: bool
    observed_value: float | None
    threshold: float | None
    details: str


def affected(ref: str) -> tuple[str, ...]:
    """The gold features a failing check on ``ref`` puts in doubt, in column order.

    ``ref`` is a table (``source.table``) or a column (``source.table.column``).
    """
    if ref == _GOLD.ref:
        return FEATURES
    own = {ref.rsplit(".", 1)[1]} if ref.startswith(_GOLD.ref + ".") else set()
    return _ordered(own | set(contracts.downstream(ref, GOLD_MODEL)))


def _ordered(names: set[str]) -> tuple[str, ...]:
    return tuple(c for c in FEATURES if c in names)


def _affects(contract: Contract, test: DataTest) -> tuple[str, ...]:
    if test.affects is not None:
        if contracts.ALL in test.affects:
            return FEATURES
        return _ordered({name for ref in test.affects for name in affected(ref)})
    if test.kind == "relationships":
        return _ordered(set(contracts.downstream(contract.column_ref(test.column), GOLD_MODEL))
                        | set(affected(test.options["to"])))
    return affected(contract.column_ref(test.column) if test.column else contract.ref)


#: the contracts' test names -> CheckSpec kinds
_KIND_OF_TEST = {
    "unique": "unique",
    "not_null": "not_null",
    "one_current": "one_current",
    "accepted_values": "in_set",
    "accepted_range": "in_range",
    "relationships": "references",
    "freshness": "freshness",
    "row_count": "row_count",
    "row_count_change": "row_count_change",
    "reconciled": "reconciled",
    "not_after_load_day": "not_after_load_day",
}


def _from_contract(contract: Contract, test: DataTest) -> CheckSpec:
    options = test.options
    settings: dict = {}
    if test.kind == "accepted_values":
        settings["allowed"] = tuple(options.get("values") or contract.column(test.column).values)
    elif test.kind == "accepted_range":
        settings.update(minimum=options.get("min"), maximum=options.get("max"),
                        minimum_exclusive=bool(options.get("min_exclusive", False)))
    elif test.kind == "relationships":
        source, table = options["to"].split(".")
        settings.update(parent=(source, table, options["field"]), parent_flag=options.get("current"))
    elif test.kind == "not_after_load_day":
        source, table = options["landed"].split(".")
        settings["parent"] = (source, table, "landed_ts")
    elif test.kind == "one_current":
        settings["parent_flag"] = options["flag"]
    elif test.kind == "freshness":
        settings["loaded_at"] = tuple(options["loaded_at"].split("."))
        if "hours" in options:
            settings["default_freshness_hours"] = options["hours"]
    elif test.kind == "row_count_change" and "max_change_pct" in options:
        settings["max_change_pct"] = options["max_change_pct"]
    return CheckSpec(contract.source, contract.table, _KIND_OF_TEST[test.kind], test.severity, test.columns,
                     _affects(contract, test), **settings)


def _keys(source: str, table: str, columns: tuple[str, ...], severity: str) -> tuple[CheckSpec, ...]:
    affects = affected(f"{source}.{table}")
    return (CheckSpec(source, table, "unique", severity, columns, affects),
            CheckSpec(source, table, "not_null", severity, columns, affects))


CHECKS: tuple[CheckSpec, ...] = (
    # every test of every model's contract, models in build order
    *(_from_contract(c, t) for c in contracts.contracts() for t in c.all_tests()),
    # tables no model writes
    *_keys("txn", "dim_product", ("product_id",), WARNING),
    *_keys("txn", "dim_merchant", ("merchant_id",), WARNING),
)

_BY_KEY = {(c.dataset_id, c.check_name): c for c in CHECKS}
if len(_BY_KEY) != len(CHECKS):
    raise RuntimeError("two data-quality checks share a dataset and check name")


def spec(dataset: str, check_name: str) -> CheckSpec | None:
    """The spec behind a stored result, or None for a check the app does not own."""
    return _BY_KEY.get((dataset, check_name))
