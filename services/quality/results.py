"""Read the checks back: latest results, critical failures, health per gold field.

Stored rows carry no affected columns; they are looked up in the spec table by
(dataset_id, check_name), so a spec change is reflected without a rebuild. The
health of each gold field is what the build found: it writes each field's null
rate and failing checks into the feature catalog (``failing_checks_json``), and
``field_health`` reads them back from there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlglot import exp

from services import sqlfiles
from services.quality import specs
from services.quality.checks import CheckResult
from services.quality.specs import CRITICAL
from services.warehouse import Warehouse


def latest_results(warehouse: Warehouse) -> pd.DataFrame:
    """The latest result of every app check (dataset_id, check_name, severity, status, details, checked_ts, ...)."""
    return warehouse.df(sqlfiles.render(latest_results_query(), warehouse.dialect))


def latest_results_query() -> exp.Expression:
    """The query ``latest_results`` runs, to build on (``sql/quality/latest_results.sql``)."""
    return sqlfiles.query("quality/latest_results.sql")


def _optional(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def check_result(row) -> CheckResult:
    """A ``latest_results`` row (attributes dataset_id, check_name, ...) as a result, with the columns it affects."""
    spec = specs.spec(row.dataset_id, row.check_name)
    return CheckResult(row.dataset_id, row.check_name, row.check_type, row.severity, row.status == "pass",
                       _optional(row.observed_value), _optional(row.threshold), row.details or "",
                       spec.affects if spec else ())


def latest_failures(warehouse: Warehouse) -> list[CheckResult]:
    """Latest results that fail, critical or not."""
    latest = latest_results(warehouse)
    return [check_result(r) for r in latest[latest["status"] != "pass"].itertuples(index=False)]


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


def failing_checks_json(column: str, checks: Sequence[CheckResult]) -> str:
    """The checks among ``checks`` that fail and put ``column`` in doubt, as the feature catalog keeps them."""
    return json.dumps([c.to_dict() for c in checks if not c.passed and column in c.affected_columns])


def health(column: str, null_rate: float | None, as_of_date, failing_json: str | None) -> FieldHealth:
    """A column's health from its row of the feature catalog."""
    as_of = None if as_of_date is None or pd.isna(as_of_date) else pd.Timestamp(as_of_date).date()
    rate = None if null_rate is None or pd.isna(null_rate) else float(null_rate)
    return FieldHealth(column, rate, as_of,
                       tuple(CheckResult.from_dict(c) for c in json.loads(failing_json or "[]")))


def field_health(warehouse: Warehouse) -> dict[str, FieldHealth]:
    """Null rate, as-of date and failing checks of every gold_customer_features column.

    As the last build found them: its rows of the feature catalog, one query (the catalog the
    Segment Builder reads carries the same rows).
    """
    rows = warehouse.arrow(sqlfiles.render(sqlfiles.query("quality/field_health.sql"), warehouse.dialect)).to_pylist()
    return {r["field_name"]: health(r["field_name"], r["null_rate"], r["as_of_date"], r["failing_checks_json"])
            for r in rows}
