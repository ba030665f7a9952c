"""Run the app's data-quality checks after a build and record them in governance.

``run_checks`` evaluates every spec in ``specs.CHECKS`` and writes one row per
check into gov ``fact_data_quality`` (source 'app'), so the Data Quality page
shows the app's own checks beside the governance source's. Re-running the
checks for a run replaces that run's rows, in one transaction, so a retry
never leaves half a result set or double counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlglot import exp

from services.clock import new_id, now
from services.quality import recorded, rules
from services.quality.recorded import QUALITY, Context, utc_naive
from services.quality.specs import CHECKS, CRITICAL, CheckSpec, Outcome
from services.sqlterms import literal
from services.warehouse import Warehouse

SOURCE = "app"
COLUMNS = ("dq_id", "dataset_id", "check_name", "check_status", "checked_ts", "run_id", "check_type", "severity",
           "observed_value", "threshold", "details", "source")


@dataclass(frozen=True)
class CheckResult:
    dataset_id: str
    check_name: str
    check_type: str
    severity: str
    passed: bool
    observed_value: float | None
    threshold: float | None
    details: str
    affected_columns: tuple[str, ...]

    @property
    def status(self) -> str:
        return "pass" if self.passed else "fail"

    @property
    def is_critical_failure(self) -> bool:
        return not self.passed and self.severity == CRITICAL

    def to_dict(self) -> dict:
        """The result as plain JSON values (the feature catalog keeps each column's failing checks so)."""
        return {"dataset_id": self.dataset_id, "check_name": self.check_name, "check_type": self.check_type,
                "severity": self.severity, "passed": self.passed, "observed_value": self.observed_value,
                "threshold": self.threshold, "details": self.details,
                "affected_columns": list(self.affected_columns)}

    @classmethod
    def from_dict(cls, data: dict) -> CheckResult:
        return cls(data["dataset_id"], data["check_name"], data["check_type"], data["severity"], bool(data["passed"]),
                   data.get("observed_value"), data.get("threshold"), data.get("details") or "",
                   tuple(data.get("affected_columns") or ()))


def evaluate(warehouse: Warehouse, spec: CheckSpec, ctx: Context) -> CheckResult:
    """One check's result (nothing is written)."""
    if spec.kind in rules.BUILDERS:
        outcome: Outcome = rules.evaluate(warehouse, spec)
    else:
        outcome = recorded.EVALUATORS[spec.kind](warehouse, spec, ctx)
    return CheckResult(spec.dataset_id, spec.check_name, spec.check_type, spec.severity, outcome.passed,
                       outcome.observed_value, outcome.threshold, outcome.details, spec.affects)


def _rows(results: list[CheckResult], ctx: Context) -> exp.Expression:
    rows = [
        exp.Tuple(expressions=[literal(v) for v in (
            new_id("dq"), r.dataset_id, r.check_name, r.status, ctx.checked_ts, ctx.run_id, r.check_type,
            r.severity, r.observed_value, r.threshold, r.details[:1000], SOURCE,
        )])
        for r in results
    ]
    return exp.insert(exp.values(rows), QUALITY, columns=[exp.to_identifier(c) for c in COLUMNS])


def run_checks(warehouse: Warehouse, *, run_id: str, checked_ts: datetime | None = None) -> list[CheckResult]:
    """Evaluate every check, write one fact_data_quality row per check, return the results."""
    ctx = Context(run_id=run_id, checked_ts=utc_naive(checked_ts) if checked_ts else now())
    results = [evaluate(warehouse, spec, ctx) for spec in CHECKS]
    replace = exp.delete(QUALITY, where=exp.and_(
        exp.EQ(this=exp.column("run_id"), expression=exp.Literal.string(run_id)),
        exp.EQ(this=exp.column("source"), expression=exp.Literal.string(SOURCE)),
    ))
    warehouse.transaction([(replace, None), (_rows(results, ctx), None)])
    return results
