"""The feature catalog: gold columns + metadata + value domains + health, as the last build found them.

Each kind of condition checks the fields and values it uses against the
catalog as it is compiled (``check`` in ``services/segments/conditions/``); an
unknown field or value is rejected with an error that names it.

The catalog is data the build writes: after the data-quality checks it computes
every feature's type, label, domain, histogram, null rate and failing checks, and
the values each behavioural filter may take, into one gold table
(``catalog_writer.py``); ``read_catalog`` reads it back in one query. Its
``build_id`` and as-of date (``marker``) change with every build, so whatever is
cached on a catalog is kept exactly until the next build.

The catalog also knows the saved clustering runs and lookalike models a
membership condition may name (``SavedTargets``, one query each): the discovery
pages save them, and every place that compiles adds them to the catalog before
it compiles a membership (``Workspace``), so a segment built on a cluster
compiles the same way in the Builder, an export and the CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlglot import exp

from services.errors import CompileError, SpecError, WarehouseError, WarehouseUnavailableError
from services.quality.results import FieldHealth, health
from services.segments.features import PICKER_ORDER, FeatureMeta
from services.segments.tables import (
    CATALOG_TABLE,
    CLUSTER_RUNS_TABLE,
    FEATURES_TABLE as FEATURES_TABLE,  # where discovery and exports import it from
    LOOKALIKE_MODELS_TABLE,
)
from services.sqlterms import column, table
from services.warehouse import Warehouse

HISTOGRAM_BINS = 20
MAX_CATEGORY_VALUES = 500
BEHAVIOR_FILTERS = {"categories": "category", "channels": "channel_code", "merchants": "merchant_id", "products": "product_id"}
#: the catalog table's columns, in its DDL's order (sql/models/gold/gold_feature_catalog.yml says what each holds)
CATALOG_COLUMNS = ("field_name", "field_kind", "position", "field_type", "label", "description", "field_group", "unit",
                   "is_integer", "picker", "row_count", "null_count", "null_rate", "min_value", "max_value", "median_value",
                   "histogram_json", "values_json", "values_complete", "failing_checks_json", "as_of_date", "build_id",
                   "built_ts", "ddl_version")


@dataclass(frozen=True)
class Domain:
    """What values a feature takes in the data."""

    null_count: int = 0
    minimum: float | date | None = None
    maximum: float | date | None = None
    histogram: tuple[tuple[float, float, int], ...] = ()
    values: tuple[tuple[str, int], ...] = ()
    complete: bool = True
    #: a number's median (approximate): the value the Builder starts a new condition at
    median: float | None = None

    @property
    def known_values(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.values)


@dataclass(frozen=True)
class FeatureCatalog:
    features: tuple[FeatureMeta, ...]
    domains: dict[str, Domain]
    as_of_date: date
    base_count: int
    behavior_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cluster_runs: dict[str, tuple[int, ...]] = field(default_factory=dict)
    lookalike_models: tuple[str, ...] = ()
    #: what a person calls each saved run, selection and model: its name and date, not its id
    target_labels: dict[str, str] = field(default_factory=dict)
    #: every gold column's null rate, as-of date and failing data-quality checks
    health: dict[str, FieldHealth] = field(default_factory=dict)
    #: the build that wrote the catalog, and the fingerprint of its DDL (``catalog_writer.ddl_version``)
    build_id: str = ""
    ddl_version: str = ""
    #: False until ``with_targets``: a catalog read alone knows no saved runs or models yet
    targets_loaded: bool = True

    def __hash__(self) -> int:  # cached by identity of the warehouse build, not by content
        return hash((self.build_id, self.as_of_date, self.base_count, len(self.features)))

    @property
    def marker(self) -> str:
        """The build and as-of date the catalog describes: what every cache of its build is keyed on."""
        return f"{self.build_id}@{self.as_of_date}"

    def with_targets(self, targets: SavedTargets) -> FeatureCatalog:
        """This catalog knowing the saved runs and models in ``targets`` (and no others)."""
        return replace(self, cluster_runs=dict(targets.cluster_runs), lookalike_models=tuple(targets.lookalike_models),
                       target_labels=dict(targets.labels), targets_loaded=True)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def feature(self, name: str) -> FeatureMeta:
        for f in self.features:
            if f.name == name:
                return f
        raise SpecError(f"field {name!r} is not in the feature catalog")

    def ordered_values(self, name: str) -> tuple[str, ...]:
        """Category values, in the picker's natural order where it has one."""
        known = self.domains[name].known_values
        order = PICKER_ORDER.get(name)
        if order:
            return tuple(v for v in order if v in known) + tuple(v for v in known if v not in order)
        return known


@dataclass(frozen=True)
class SavedTargets:
    """The saved clustering runs (with their cluster ids) and lookalike models a membership may name."""

    cluster_runs: dict[str, tuple[int, ...]] = field(default_factory=dict)
    lookalike_models: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


def saved_targets(warehouse: Warehouse) -> SavedTargets:
    """Runs and models saved in gold, one query each (newest first)."""
    newest_first = exp.Ordered(this=column("created_ts"), desc=True)
    runs = warehouse.arrow(exp.select(*map(column, ("run_id", "kind", "name", "created_ts", "cluster_ids_json")))
                           .from_(CLUSTER_RUNS_TABLE).order_by(newest_first)).to_pylist()
    models = warehouse.arrow(exp.select(*map(column, ("model_id", "name", "created_ts")))
                             .from_(LOOKALIKE_MODELS_TABLE).order_by(newest_first.copy())).to_pylist()
    labels = {r["run_id"]: f"{r['name']} ({r['kind']}, {r['created_ts']:%Y-%m-%d})" for r in runs}
    labels.update({m["model_id"]: f"{m['name']} ({m['created_ts']:%Y-%m-%d})" for m in models})
    return SavedTargets(
        cluster_runs={r["run_id"]: tuple(int(c) for c in json.loads(r["cluster_ids_json"])) for r in runs},
        lookalike_models=tuple(m["model_id"] for m in models), labels=labels)


def _domain(row: dict) -> Domain:
    nulls = int(row["null_count"] or 0)
    if row["field_type"] == "category":
        values = tuple((str(v), int(n)) for v, n in json.loads(row["values_json"] or "[]"))
        return Domain(null_count=nulls, values=values, complete=bool(row["values_complete"]))
    if row["field_type"] == "number":
        histogram = tuple((float(lo), float(hi), int(n)) for lo, hi, n in json.loads(row["histogram_json"] or "[]"))
        bound = lambda text: None if text is None else float(text)  # noqa: E731
    elif row["field_type"] == "date":
        histogram, bound = (), lambda text: None if text is None else date.fromisoformat(text)  # noqa: E731
    else:
        histogram, bound = (), lambda text: None if text is None else text == "true"  # noqa: E731
    median = row.get("median_value")
    return Domain(null_count=nulls, minimum=bound(row["min_value"]), maximum=bound(row["max_value"]),
                  histogram=histogram, median=None if median is None else float(median))


def _feature(row: dict) -> FeatureMeta:
    return FeatureMeta(row["field_name"], row["label"], row["description"], row["field_type"], row["field_group"],
                       row["unit"], bool(row["is_integer"]), picker=row["picker"])


def read_catalog(warehouse: Warehouse) -> FeatureCatalog:
    """The catalog the last build wrote, in one query; it knows no saved runs or models yet (``with_targets``)."""
    try:
        rows = warehouse.arrow(exp.select("*").from_(table(CATALOG_TABLE))
                               .order_by(column("field_kind"), column("position"))).to_pylist()
    except WarehouseUnavailableError:
        raise
    except WarehouseError as exc:
        # A warehouse built before the catalog existed has no such table: a build writes it.
        raise CompileError("the feature catalog cannot be read: build the warehouse (python -m services.cli build); "
                           f"the warehouse said: {exc.reason.splitlines()[0]}") from exc
    if not rows:
        raise CompileError(f"the feature catalog {CATALOG_TABLE} is empty: build the warehouse "
                           "(python -m services.cli build)")
    first = rows[0]
    if first["as_of_date"] is None:  # every row carries the as-of date of the gold table the build found
        raise CompileError("the gold table is empty: import transactions or build the demo warehouse first")
    features = tuple(_feature(r) for r in rows if r["field_kind"] == "feature")
    gold = [r for r in rows if r["field_kind"] in ("feature", "column")]
    as_of = first["as_of_date"]
    return FeatureCatalog(
        features=features,
        domains={r["field_name"]: _domain(r) for r in rows if r["field_kind"] == "feature"},
        as_of_date=as_of.date() if isinstance(as_of, datetime) else as_of,
        base_count=int(gold[0]["row_count"]) if gold else 0,
        behavior_values={r["field_name"]: tuple(json.loads(r["values_json"] or "[]"))
                         for r in rows if r["field_kind"] == "behavior"},
        health={r["field_name"]: health(r["field_name"], r["null_rate"], r["as_of_date"], r["failing_checks_json"])
                for r in gold},
        build_id=first["build_id"], ddl_version=first["ddl_version"], targets_loaded=False)


def catalog_marker(warehouse: Warehouse) -> str | None:
    """The ``marker`` of the catalog the last build wrote (one small query): unchanged, nothing to reload."""
    rows = warehouse.arrow(exp.select(column("build_id"), column("as_of_date")).from_(table(CATALOG_TABLE))
                           .limit(1)).to_pylist()
    return f"{rows[0]['build_id']}@{rows[0]['as_of_date']}" if rows else None


def load_catalog(warehouse: Warehouse, *, targets: SavedTargets | None = None) -> FeatureCatalog:
    """The catalog the last build wrote (one query) with the saved targets (``targets``, or read: one query each)."""
    return read_catalog(warehouse).with_targets(targets if targets is not None else saved_targets(warehouse))
