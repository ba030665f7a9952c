"""The feature catalog: gold columns + metadata + value domains from the data.

Fields and values a definition uses are checked here before anything is
compiled; an unknown field or value is rejected with an error that names it.
The catalog also knows the saved clustering runs and lookalike models a
membership condition may name (``SavedTargets``): the discovery pages save
them, and every place that compiles loads them with the catalog, so a
segment built on a cluster compiles the same way in the Builder, an export
and the CLI.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import date

from sqlglot import exp

from services.errors import CompileError, SpecError
from services.segments.features import FEATURES, PICKER_ORDER, FeatureMeta
from services.segments.spec import Behavior, Group, Membership, SegmentDefinition, Trait
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

    # -- validation -----------------------------------------------------
    def validate(self, definition: SegmentDefinition) -> None:
        """Raise SpecError naming the first field or value that is not in the catalog."""
        self._validate_group(definition.rule, "rule")

    def _validate_group(self, group: Group, where: str) -> None:
        for i, condition in enumerate(group.conditions):
            here = f"{where}.conditions[{i}]"
            if isinstance(condition, Group):
                self._validate_group(condition, here)
            elif isinstance(condition, Trait):
                self._validate_trait(condition, here)
            elif isinstance(condition, Behavior):
                self._validate_behavior(condition, here)
            elif isinstance(condition, Membership):
                self._validate_membership(condition, here)

    def _validate_trait(self, t: Trait, where: str) -> None:
        try:
            meta = self.feature(t.field)
        except SpecError as exc:
            raise SpecError(f"{where}: {exc}") from None
        if t.op not in meta.operators:
            raise SpecError(f"{where}: operator {t.op!r} does not apply to {t.field} ({meta.type}); "
                            f"use one of {', '.join(meta.operators)}")
        if meta.type == "number":
            for v in (t.value, t.low, t.high):
                if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                    raise SpecError(f"{where}: {t.field} needs a number, got {v!r}")
        elif meta.type == "category":
            domain = self.domains.get(t.field, Domain())
            for v in t.values:
                if not isinstance(v, str):
                    raise SpecError(f"{where}: {t.field} values are text, got {v!r}")
                if domain.complete and v not in domain.known_values:
                    shown = ", ".join(self.ordered_values(t.field)[:12])
                    raise SpecError(f"{where}: value {v!r} is not a known {t.field}; known values: {shown}")
        elif meta.type == "date":
            if t.op == "within_last_days":
                return
            for v in (t.value, t.low, t.high):
                if v is not None and not isinstance(v, date):
                    try:
                        date.fromisoformat(str(v))
                    except ValueError:
                        raise SpecError(f"{where}: {t.field} needs a date (YYYY-MM-DD), got {v!r}") from None

    def _validate_behavior(self, b: Behavior, where: str) -> None:
        for name in BEHAVIOR_FILTERS:
            known = self.behavior_values.get(name)
            for v in getattr(b, name):
                if not isinstance(v, str):
                    raise SpecError(f"{where}: {name} are text, got {v!r}")
                if known is not None and v not in known:
                    shown = ", ".join(known[:12])
                    raise SpecError(f"{where}: {v!r} is not a known {name[:-1] if name != 'categories' else 'category'}; "
                                    f"known: {shown}")
        if b.threshold is not None and not math.isfinite(float(b.threshold)):
            raise SpecError(f"{where}: threshold must be a finite number")

    def _validate_membership(self, m: Membership, where: str) -> None:
        if m.of == "cluster":
            clusters = self.cluster_runs.get(m.run_id)
            if clusters is None:
                raise SpecError(f"{where}: clustering run {m.run_id!r} does not exist")
            unknown = [c for c in m.cluster_ids if c not in clusters]
            if unknown:
                raise SpecError(f"{where}: run {m.run_id} has no cluster {unknown[0]}; clusters: {list(clusters)}")
        elif m.of == "lookalike" and m.model_id not in self.lookalike_models:
            raise SpecError(f"{where}: lookalike model {m.model_id!r} does not exist")


def _literal_select(*projections: exp.Expression) -> exp.Select:
    return exp.select(*projections).from_(exp.to_table(FEATURES_TABLE))


def _number_domain(warehouse: Warehouse, name: str, integer: bool) -> Domain:
    col = exp.column(name, quoted=True)
    stats = warehouse.arrow(_literal_select(
        exp.func("MIN", col).as_("lo"), exp.func("MAX", col).as_("hi"),
        exp.func("SUM", exp.Case().when(col.is_(exp.null()), exp.Literal.number(1)).else_(exp.Literal.number(0))).as_("nulls"),
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
    return Domain(null_count=int(stats["nulls"] or 0), minimum=lo, maximum=hi, histogram=histogram)


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
                           "has no such column: add it to the gold model and its DDL, or remove it from "
                           "services/segments/features.py")
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
