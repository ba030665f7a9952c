"""The feature catalog as data the build writes: three statements to compute it, one to write it.

The build calls ``write_catalog`` after the data-quality checks, with their results: the
catalog carries each column's failing checks, so it can only be written once they are known.
What it computes, from the gold customer features and the facts:

1. one scan of gold: its rows, its as-of date, and per column the non-null count, minimum and
   maximum (aliases by position keep any column name safe);
2. one statement over gold, a group-by per column: every category feature's values with their
   customers, and every number feature's histogram (bins from the minimum and maximum of 1);
3. one statement over the facts, a group-by per column: the values each behavioural filter may take.

Every catalog feature must be a column of the gold table: a feature written into the catalog
but not into the model is a mistake to fix, not a field to hide, so the build stops on it.
The rows (one per gold column and per behavioural filter) replace the table's in one atomic
write (``replace_rows``: one INSERT OVERWRITE on Databricks, a transaction on DuckDB), so the
app never reads half a catalog. ``services/segments/catalog.py`` reads it back.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from datetime import date, datetime

from sqlglot import exp

from services.clock import now
from services.errors import CompileError
from services.pipeline.models import defined_tables
from services.quality.checks import CheckResult
from services.quality.results import failing_checks_json
from services.segments.catalog import BEHAVIOR_FILTERS, CATALOG_COLUMNS, HISTOGRAM_BINS, MAX_CATEGORY_VALUES
from services.segments.features import FEATURES, FeatureMeta
from services.segments.tables import CATALOG_TABLE, FACT_TABLE, FEATURES_TABLE
from services.sqlterms import column, count_star, literal, table
from services.warehouse import Warehouse, replace_rows


def ddl_version() -> str:
    """A fingerprint of the tables this version's DDL defines: a warehouse whose catalog has another needs a build."""
    names = sorted(f"{schema}.{name}" for schema, name in defined_tables())
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return repr(float(value))


def _bins(feature: FeatureMeta, lo: float, hi: float) -> tuple[int, float]:
    """(bins, width) of a number feature's histogram between its minimum and maximum."""
    bins = HISTOGRAM_BINS if hi > lo else 1
    if feature.integer and hi - lo + 1 < bins:
        bins = int(hi - lo + 1)
    return bins, (hi - lo) / bins if hi > lo else 1.0


def _bucket(name: str, lo: float, bins: int, width: float) -> exp.Expression:
    # bin = least(bins - 1, floor((x - lo) / width)) with the bounds as literals; null stays null
    # (LEAST skips nulls, so without the CASE a null would land in the last bin).
    bucket = exp.func("LEAST", exp.Literal.number(bins - 1), exp.func(
        "FLOOR", exp.Div(this=exp.Paren(this=exp.Sub(this=exp.cast(column(name), "DOUBLE"),
                                                       expression=exp.Literal.number(lo))),
                         expression=exp.Literal.number(width))))
    return exp.Case().when(column(name).is_(exp.null()).not_(), bucket)


def _grouped(warehouse: Warehouse, source: str, *, texts: list[exp.Expression] = (),
             numbers: list[exp.Expression] = ()) -> list[list[tuple]]:
    """For each key expression (text keys first, then number keys), its (value, rows) groups, nulls
    included: one statement.

    A UNION ALL of one GROUP BY per key rather than grouping sets: each part reads one column,
    which a columnar engine does fast, where thirty grouping sets over one scan are slower. A
    number key is grouped as a number (in its own column), which is faster than as text.
    """
    keys = [(key, False) for key in texts] + [(key, True) for key in numbers]
    if not keys:
        return []
    parts = [exp.select(exp.Literal.number(i).as_("k"),
                        (exp.cast(exp.null(), "VARCHAR") if numeric else key).as_("v"),
                        (key if numeric else exp.cast(exp.null(), "DOUBLE")).as_("b"), count_star().as_("n"))
             .from_(table(source)).group_by(exp.Literal.number(3 if numeric else 2)) for i, (key, numeric) in enumerate(keys)]
    union = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False)
    out: list[list[tuple]] = [[] for _ in keys]
    for r in warehouse.arrow(union).to_pylist():
        i = int(r["k"])
        out[i].append((r["b"] if keys[i][1] else r["v"], int(r["n"])))
    return out


def catalog_rows(warehouse: Warehouse, *, checks: Sequence[CheckResult], build_id: str,
                 built_ts: datetime | None = None) -> list[dict]:
    """The catalog's rows, computed from the warehouse (nothing is written)."""
    schema, name = FEATURES_TABLE.split(".")
    gold_columns = [c for c, _ in warehouse.columns(schema, name)]
    if not gold_columns:
        raise CompileError(f"the gold table {FEATURES_TABLE} does not exist: run `python -m services.cli build`")
    missing = [f.name for f in FEATURES if f.name not in gold_columns]
    if missing:
        raise CompileError(f"the feature catalog lists {', '.join(missing)} but the gold table {FEATURES_TABLE} "
                           "has no such column: build the warehouse again (python -m services.cli build) if the "
                           "model gained it, or fix the feature's entry in sql/models/gold/gold_customer_features.yml")
    by_name = {f.name: f for f in FEATURES}
    ranged = [c for c in gold_columns if c in by_name and by_name[c].type != "category"]
    stats = warehouse.arrow(exp.select(
        count_star().as_("total"), exp.func("MAX", column("as_of_date")).as_("as_of"),
        *[exp.Count(this=column(c)).as_(f"present{i}") for i, c in enumerate(gold_columns)],
        *[exp.func(f, column(c)).as_(f"{f.lower()}{i}") for i, c in enumerate(ranged) for f in ("MIN", "MAX")],
        # the value a new condition on a number starts at (components/value_widgets.py)
        *[exp.ApproxQuantile(this=column(c), quantile=exp.Literal.number(0.5)).as_(f"median{i}")
          for i, c in enumerate(ranged) if by_name[c].type == "number"],
    ).from_(table(FEATURES_TABLE))).to_pylist()[0]
    total = int(stats["total"])
    as_of = stats["as_of"]
    as_of = as_of.date() if isinstance(as_of, datetime) else as_of
    low = {c: stats[f"min{i}"] for i, c in enumerate(ranged)}
    high = {c: stats[f"max{i}"] for i, c in enumerate(ranged)}
    median = {c: stats.get(f"median{i}") for i, c in enumerate(ranged)}

    categories = [f for f in FEATURES if f.type == "category"]
    numbers = [f for f in FEATURES if f.type == "number" and low[f.name] is not None]
    shapes = {f.name: _bins(f, float(low[f.name]), float(high[f.name])) for f in numbers}
    groups = _grouped(warehouse, FEATURES_TABLE, texts=[column(f.name) for f in categories],
                      numbers=[_bucket(f.name, float(low[f.name]), *shapes[f.name]) for f in numbers])
    values = dict(zip([f.name for f in categories], groups[:len(categories)], strict=True))
    buckets = dict(zip([f.name for f in numbers], groups[len(categories):], strict=True))
    behaviour = _grouped(warehouse, FACT_TABLE, texts=[column(c) for c in BEHAVIOR_FILTERS.values()])

    common = {"as_of_date": as_of, "build_id": build_id, "built_ts": built_ts or now(), "ddl_version": ddl_version()}
    rows = []
    positions = {f.name: i for i, f in enumerate(FEATURES)}
    others = [c for c in gold_columns if c not in by_name]
    for i, name in enumerate(gold_columns):
        present = int(stats[f"present{i}"])
        row = dict.fromkeys(CATALOG_COLUMNS) | common | {
            "field_name": name, "row_count": total, "null_count": total - present,
            "null_rate": (1 - present / total) if total else None,
            "failing_checks_json": failing_checks_json(name, checks),
        }
        feature = by_name.get(name)
        if feature is None:
            rows.append(row | {"field_kind": "column", "position": others.index(name)})
            continue
        row |= {"field_kind": "feature", "position": positions[name], "field_type": feature.type,
                "label": feature.label, "description": feature.description, "field_group": feature.group,
                "unit": feature.unit, "is_integer": feature.integer, "picker": feature.picker}
        if feature.type == "category":
            found = sorted(((str(v), n) for v, n in values[name] if v is not None), key=lambda vn: (-vn[1], vn[0]))
            row |= {"values_json": json.dumps(found[:MAX_CATEGORY_VALUES]),
                    "values_complete": len(found) <= MAX_CATEGORY_VALUES}
        else:
            row |= {"min_value": _text(low[name]), "max_value": _text(high[name])}
            if feature.type == "number" and median[name] is not None:
                row["median_value"] = float(median[name])
        if name in buckets:
            lo, (bins, width) = float(low[name]), shapes[name]
            counts = {int(b): n for b, n in buckets[name] if b is not None}
            row["histogram_json"] = json.dumps([[lo + b * width, lo + (b + 1) * width, counts.get(b, 0)]
                                                for b in range(bins)])
        rows.append(row)
    for i, (name, found) in enumerate(zip(BEHAVIOR_FILTERS, behaviour, strict=True)):
        known = sorted(str(v) for v, _ in found if v is not None)
        rows.append(dict.fromkeys(CATALOG_COLUMNS) | common | {
            "field_name": name, "field_kind": "behavior", "position": i, "row_count": len(known), "null_count": 0,
            "values_json": json.dumps(known), "values_complete": True, "failing_checks_json": "[]"})
    return rows


def _value(value) -> exp.Expression:
    if isinstance(value, float) and not math.isfinite(value):
        return exp.null()
    return literal(value)


def write_catalog(warehouse: Warehouse, *, checks: Sequence[CheckResult], build_id: str,
                  built_ts: datetime | None = None) -> int:
    """Compute the catalog and replace the table's rows with it in one atomic write; return the rows written."""
    rows = catalog_rows(warehouse, checks=checks, build_id=build_id, built_ts=built_ts)
    values = exp.values([exp.Tuple(expressions=[_value(r[c]) for c in CATALOG_COLUMNS]) for r in rows])
    replace_rows(warehouse, CATALOG_TABLE, values, CATALOG_COLUMNS)
    return len(rows)
