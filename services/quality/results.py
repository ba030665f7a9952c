"""Read the checks back: latest results, critical failures, health per gold field.

Stored rows carry no affected columns; they are looked up in the spec table by
(dataset_id, check_name), so a spec change is reflected without a rebuild.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlglot import exp

from services import naming, sqlfiles
from services.quality import specs
from services.quality.checks import CheckResult
from services.quality.specs import CRITICAL
from services.warehouse import Warehouse

FEATURES_TABLE = naming.fq("gold", "gold_customer_features")


def latest_results(warehouse: Warehouse) -> pd.DataFrame:
    """The latest result of every app check (dataset_id, check_name, severity, status, details, checked_ts, ...)."""
    return warehouse.df(sqlfiles.render(sqlfiles.query("quality/latest_results.sql"), warehouse.dialect))


def _optional(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _result(row) -> CheckResult:
    spec = specs.spec(row.dataset_id, row.check_name)
    return CheckResult(row.dataset_id, row.check_name, row.check_type, row.severity, row.status == "pass",
                       _optional(row.observed_value), _optional(row.threshold), row.details or "",
                       spec.affects if spec else ())


def latest_failures(warehouse: Warehouse) -> list[CheckResult]:
    """Latest results that fail, critical or not."""
    latest = latest_results(warehouse)
    return [_result(r) for r in latest[latest["status"] != "pass"].itertuples(index=False)]


def failing_critical(warehouse: Warehouse) -> list[CheckResult]:
    """Latest results that are critical and fail: what should block trust in segments."""
    return [r for r in latest_failures(warehouse) if r.severity == CRITICAL]


@dataclass(frozen=True)
class FieldHealth:
    column: str
    null_rate: float | None      # None when the gold table is empty
    as_of_date: date | None
    failing_checks: tuple[CheckResult, ...]

    @property
    def healthy(self) -> bool:
        return not self.failing_checks

    @property
    def has_critical_failure(self) -> bool:
        return any(c.severity == CRITICAL for c in self.failing_checks)


def field_health(warehouse: Warehouse) -> dict[str, FieldHealth]:
    """Null rate, as-of date and failing checks of every gold_customer_features column."""
    schema, table = FEATURES_TABLE.split(".")
    columns = [name for name, _ in warehouse.columns(schema, table)]
    # One pass over the table: COUNT(col) counts non-nulls; aliases by position
    # keep any column name safe.
    counts = exp.select(
        exp.Count(this=exp.Star()).as_("total"),
        exp.Max(this=exp.column("as_of_date", quoted=True)).as_("as_of_date"),
        *[exp.Count(this=exp.column(c, quoted=True)).as_(f"present_{i}") for i, c in enumerate(columns)],
    ).from_(FEATURES_TABLE)
    row = warehouse.df(counts).iloc[0]
    total = int(row["total"])
    as_of = row["as_of_date"]
    as_of = None if pd.isna(as_of) else pd.Timestamp(as_of).date()
    failures = latest_failures(warehouse)
    return {
        column: FieldHealth(
            column=column,
            null_rate=(1 - int(row[f"present_{i}"]) / total) if total else None,
            as_of_date=as_of,
            failing_checks=tuple(f for f in failures if column in f.affected_columns),
        )
        for i, column in enumerate(columns)
    }
