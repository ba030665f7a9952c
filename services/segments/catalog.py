"""The feature catalog: gold columns + metadata + value domains from the data.

Each kind of condition checks the fields and values it uses against the
catalog as it is compiled (``check`` in ``services/segments/conditions/``); an
unknown field or value is rejected with an error that names it.
The catalog also knows the saved clustering runs and lookalike models a
membership condition may name (``SavedTargets``): the discovery pages save
them, and every place that compiles loads them with the catalog, so a
segment built on a cluster compiles the same way in the Builder, an export
and the CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date

from sqlglot import exp

from services.errors import CompileError, SpecError
from services.segments.features import FEATURES, PICKER_ORDER, FeatureMeta
from services.segments.tables import (
    CLUSTER_RUNS_TABLE,
    FACT_TABLE,
    FEATURES_TABLE,
    LOOKALIKE_MODELS_TABLE,
)
from services.sqlterms import column
from services.warehouse import Warehouse

HISTOGRAM_BINS = 20
MAX_CATEGORY_VALUES = 500
BEHAVIOR_FILTERS = {"categories": "category", "channels": "channel_code", "merchants": "merchant_id", "products": "product_id"}


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

    def __hash__(self) -> int:  # cached by identity of the warehouse build, not by content
        return hash((self.as_of_date, self.base_count, len(self.features)))

    def with_targets(self, targets: SavedTargets) -> FeatureCatalog:
        """This catalog knowing the saved runs and models in ``targets`` (and no others)."""
        return replace(self, cluster_runs=dict(targets.cluster_runs), lookalike_models=tuple(targets.lookalike_models),
                       target_labels=dict(targets.labels))

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


def _literal_select(*projections: exp.Expression) -> exp.Select:
    return exp.select(*projections).from_(exp.to_table(FEATURES_TABLE))


def _number_domain(warehouse: Warehouse, name: str, integer: bool) -> Domain:
    col = exp.column(name, quoted=True)
    stats = warehouse.arrow(_literal_select(
        exp.func("MIN", col).as_("lo"), exp.func("MAX", col).as_("hi"),
        exp.func("SUM", exp.Case().when(col.is_(exp.null()), exp.Literal.number(1)).else_(exp.Literal.number(0))).as_("nulls"),
        exp.ApproxQuantile(this=col.copy(), quantile=exp.Literal.number(0.5)).as_("median"),
    )).to_pylist()[0]
    lo, hi = stats["lo"], stats["hi"]
    if lo is None:
        return Domain(null_count=int(stats["nulls"] or 0))
    lo, hi = float(lo), float(hi)
    bins = HISTOGRAM_BINS if hi > lo else 1
    if integer and hi - lo + 1 < bins:
        bins = int(hi - lo + 1)
    width = (hi - lo) / bins if hi > lo else 1.0
    # bin = least(bins - 1, floor((x - lo) / width)) with the bounds as literals.
    bucket = exp.func("LEAST", exp.Literal.number(bins - 1), exp.func(
        "FLOOR", exp.Div(this=exp.Paren(this=exp.Sub(this=exp.cast(col, "DOUBLE"), expression=exp.Literal.number(lo))),
                         expression=exp.Literal.number(width))))
    rows = warehouse.arrow(
        _literal_select(bucket.as_("b"), exp.func("COUNT", exp.Star()).as_("n"))
        .where(col.is_(exp.null()).not_()).group_by(exp.Literal.number(1)).order_by(exp.Literal.number(1))
    ).to_pylist()
    counts = {int(r["b"]): int(r["n"]) for r in rows}
    histogram = tuple((lo + i * width, lo + (i + 1) * width, counts.get(i, 0)) for i in range(bins))
    return Domain(null_count=int(stats["nulls"] or 0), minimum=lo, maximum=hi, histogram=histogram,
                  median=float(stats["median"]))


def _category_domain(warehouse: Warehouse, name: str) -> Domain:
    col = exp.column(name, quoted=True)
    rows = warehouse.arrow(
        _literal_select(col.as_("v"), exp.func("COUNT", exp.Star()).as_("n"))
        .group_by(col).order_by(exp.Ordered(this=exp.column("n"), desc=True), exp.column("v"))
        .limit(MAX_CATEGORY_VALUES + 1)
    ).to_pylist()
    values = tuple((str(r["v"]), int(r["n"])) for r in rows if r["v"] is not None)
    nulls = sum(int(r["n"]) for r in rows if r["v"] is None)
    return Domain(null_count=nulls, values=values[:MAX_CATEGORY_VALUES], complete=len(rows) <= MAX_CATEGORY_VALUES)


def _other_domain(warehouse: Warehouse, name: str) -> Domain:
    col = exp.column(name, quoted=True)
    row = warehouse.arrow(_literal_select(
        exp.func("MIN", col).as_("lo"), exp.func("MAX", col).as_("hi"),
        exp.func("SUM", exp.Case().when(col.is_(exp.null()), exp.Literal.number(1)).else_(exp.Literal.number(0))).as_("nulls"),
    )).to_pylist()[0]
    return Domain(null_count=int(row["nulls"] or 0), minimum=row["lo"], maximum=row["hi"])


def _behavior_values(warehouse: Warehouse) -> dict[str, tuple[str, ...]]:
    out = {}
    for name, fact_column in BEHAVIOR_FILTERS.items():
        col = column(fact_column)
        rows = warehouse.arrow(
            exp.select(col.as_("v")).distinct().from_(exp.to_table(FACT_TABLE)).where(col.is_(exp.null()).not_())
            .order_by(exp.column("v"))
        ).column(0).to_pylist()
        out[name] = tuple(str(v) for v in rows)
    return out


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


def load_catalog(warehouse: Warehouse, *, targets: SavedTargets | None = None) -> FeatureCatalog:
    """Build the catalog from the warehouse's gold table (a few small queries) and the saved targets.

    ``targets`` saves reading them when the caller has them; by default they are read.
    Every catalog feature must be a column of the gold table: a feature written into the
    catalog but not into the model is a mistake to fix, not a field to hide.
    """
    schema, table = FEATURES_TABLE.split(".")
    present = {c for c, _ in warehouse.columns(schema, table)}
    if not present:
        raise CompileError(f"the gold table {FEATURES_TABLE} does not exist: run `python -m services.cli build`")
    missing = [f.name for f in FEATURES if f.name not in present]
    if missing:
        raise CompileError(f"the feature catalog lists {', '.join(missing)} but the gold table {FEATURES_TABLE} "
                           "has no such column: build the warehouse again (python -m services.cli build) if the "
                           "model gained it, or fix the feature's entry in sql/models/gold/gold_customer_features.yml")
    features = FEATURES
    domains = {}
    for f in features:
        if f.type == "number":
            domains[f.name] = _number_domain(warehouse, f.name, f.integer)
        elif f.type == "category":
            domains[f.name] = _category_domain(warehouse, f.name)
        else:
            domains[f.name] = _other_domain(warehouse, f.name)
    as_of = warehouse.scalar(_literal_select(exp.func("MAX", exp.column("as_of_date"))))
    base = warehouse.scalar(_literal_select(exp.func("COUNT", exp.Star())))
    if as_of is None:
        raise CompileError("the gold table is empty: import transactions or build the demo warehouse first")
    as_of = as_of.date() if hasattr(as_of, "date") else as_of
    catalog = FeatureCatalog(features=features, domains=domains, as_of_date=as_of, base_count=int(base),
                             behavior_values=_behavior_values(warehouse))
    return catalog.with_targets(targets if targets is not None else saved_targets(warehouse))
